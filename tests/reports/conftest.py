"""A frozen clock for building known histories through the real actions."""

from __future__ import annotations

import datetime
from unittest import mock

import pytest

UTC = datetime.UTC


class Clock:
    """`clock.at(2026, 3, 2, 10, 0)`: from then on, `timezone.now()` answers that moment."""

    def __init__(self) -> None:
        self.now = datetime.datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

    def at(self, *parts: int) -> datetime.datetime:
        self.now = datetime.datetime(*parts, tzinfo=UTC)
        return self.now

    def __call__(self) -> datetime.datetime:
        return self.now


@pytest.fixture
def clock():
    frozen = Clock()
    with mock.patch("django.utils.timezone.now", frozen):
        yield frozen
