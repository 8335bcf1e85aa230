"""The demo's reports inputs: a fresh demo shows cost, revenue and targets, and seeding twice adds nothing."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from chatportal.demo_data import seed_demo
from crm.models import Organization, ServiceLine, SupportContract
from reports.kpis import KpiFilters, compute_kpis
from reports.models import KpiTarget, SupportExpense

pytestmark = pytest.mark.django_db


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (ServiceLine, SupportContract, SupportExpense, KpiTarget)
    }


def test_the_demo_gives_the_reports_their_inputs_once():
    seed_demo()
    first = _counts()
    seed_demo()
    assert _counts() == first
    assert first["SupportExpense"] == 9  # three departments, three months
    assert first["KpiTarget"] == 5
    assert Organization.objects.get(name="Sibenergo AO").category == "utility"


def test_the_last_30_days_of_the_demo_have_a_cost_and_a_revenue():
    seed_demo()
    today = timezone.localdate()
    kpis = compute_kpis(
        KpiFilters(date_from=today - datetime.timedelta(days=29), date_to=today, tz="UTC")
    )
    # 640 + 185 + 900 + 1,200 + 575 EUR of services, all dated within the last 20 days.
    assert kpis["support_revenue"] == pytest.approx(3500.0)
    if kpis["tickets_opened"]:
        assert kpis["cost_per_ticket"] is not None and kpis["cost_per_ticket"] > 0
