"""Ticket test personas: departments with and without hours, agents, customers."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import get_user_model

from crm.models import Organization, SlaPlan, SupportContract
from tests.factories import make_contact


@pytest.fixture
def standard_plan(db):
    plan, _ = SlaPlan.objects.get_or_create(
        name="Standard", defaults={"first_response_minutes": 240, "resolution_minutes": 1440}
    )
    return plan


@pytest.fixture
def acme(db):
    return Organization.objects.create(name="Acme SRL")


@pytest.fixture
def customer(acme):
    contact = make_contact("Maria Popescu", email="maria@example.com")
    contact.organization = acme
    contact.portal_user = get_user_model().objects.create_user("maria", password="x-pass-123")
    contact.save()
    return contact


@pytest.fixture
def other_customer(db):
    contact = make_contact("Ivan Petrov", email="ivan@example.com")
    contact.portal_user = get_user_model().objects.create_user("ivan", password="x-pass-123")
    contact.save()
    return contact


@pytest.fixture
def gold_contract(acme):
    plan = SlaPlan.objects.create(
        name="Gold 24x7",
        first_response_minutes=60,
        resolution_minutes=480,
        is_24x7=True,
        priority=3,
    )
    today = datetime.date.today()
    return SupportContract.objects.create(
        organization=acme,
        plan=plan,
        starts_on=today - datetime.timedelta(days=30),
        ends_on=today + datetime.timedelta(days=300),
    )
