"""Shared fixtures. App-specific personas and helpers live next to the tests that use them."""

from __future__ import annotations

import os

import pytest

import chatportal.realtime as realtime

SERVICES_CONFIGURED = bool(os.environ.get("DATABASE_URL")) and bool(os.environ.get("REDIS_URL"))


def pytest_collection_modifyitems(config, items):
    # Embedded runs (no DATABASE_URL/REDIS_URL at all) leave the multi-process
    # tests out; the scale-out CI pass sets both, and there they must run and
    # fail loudly if the services do not answer.
    if SERVICES_CONFIGURED or os.environ.get("DATABASE_URL") or os.environ.get("REDIS_URL"):
        return
    kept, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker("services") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(autouse=True)
def _check_published_events_serialize():
    # Everything published must survive msgpack, as it would in channels-redis.
    realtime.CHECK_SERIALIZABLE = True
    yield
    realtime.CHECK_SERIALIZABLE = False


@pytest.fixture
def published_events(monkeypatch, django_capture_on_commit_callbacks):
    """What actions publish, with on-commit callbacks executed."""
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(realtime, "send_now", lambda group, event: sent.append((group, event)))
    with django_capture_on_commit_callbacks(execute=True):
        yield sent
