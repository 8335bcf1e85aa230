from __future__ import annotations

import pytest

from chatportal.demo_data import seed_demo
from crm.models import Contact


@pytest.fixture
def demo(db):
    return seed_demo()


@pytest.fixture
def maria(demo) -> Contact:
    return Contact.objects.get(external_id="crm-1")
