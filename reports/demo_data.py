"""Demo rows for the reports: what the KPIs need beyond chats and tickets.

Customer categories, the billable after-sales services (parts, repairs,
maintenance, training), support expenses per department and month, and a
few targets, so the reports page and `GET /api/v1/reports/kpis` show cost
per ticket, support revenue and targets on a fresh demo. Keyed by natural
keys: seeding twice changes nothing.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone

from crm.models import Asset, Organization, ServiceLine
from queues.demo_records import DemoData
from reports.models import KpiTarget, SupportExpense

CATEGORIES = {
    "Electrica Nord SRL": "key account",
    "Transilvania Energie SA": "key account",
    "Sibenergo AO": "utility",
    "Dalenergo OOO": "service partner",
}

# kind, unit serial or None, organization, days ago, amount, description
SERVICES = [
    (
        "repair",
        "MRU-2019-0042",
        "Sibenergo AO",
        12,
        "640.00",
        "Out-of-warranty repair: power supply",
    ),
    ("parts", "MRU-2019-0042", "Sibenergo AO", 12, "185.00", "Power supply module"),
    ("maintenance", "BMRZ-2021-0107", "Dalenergo OOO", 20, "900.00", "Yearly maintenance visit"),
    (
        "training",
        None,
        "Electrica Nord SRL",
        5,
        "1200.00",
        "RZA-500 commissioning course, 6 people",
    ),
    ("contract", None, "Dalenergo OOO", 3, "575.00", "Silver contract, monthly instalment"),
]

# department slug, monthly support cost (EUR)
MONTHLY_EXPENSES = {
    "support": Decimal("9500.00"),
    "sales": Decimal("2100.00"),
    "billing": Decimal("1800.00"),
}

# department slug or None, agent username or None, metric, value, period
TARGETS = [
    ("support", None, "first_response_s_median", Decimal("300"), KpiTarget.Period.MONTH),
    ("support", None, "csat_avg", Decimal("4.5"), KpiTarget.Period.MONTH),
    ("support", None, "sla_resolution_met_pct", Decimal("95"), KpiTarget.Period.MONTH),
    (None, "boris", "tickets_solved", Decimal("40"), KpiTarget.Period.MONTH),
    (None, "ana", "chats_total", Decimal("60"), KpiTarget.Period.MONTH),
]


def seed(demo: DemoData) -> None:
    for name, category in CATEGORIES.items():
        Organization.objects.filter(name=name).update(category=category)
    _seed_services(demo)
    _seed_expenses(demo)
    _seed_targets(demo)


def _seed_services(demo: DemoData) -> None:
    today = timezone.localdate()
    for kind, serial, org_name, days_ago, amount, description in SERVICES:
        asset = Asset.objects.filter(serial_number=serial).first() if serial else None
        organization = demo.organizations[org_name]
        if ServiceLine.objects.filter(organization=organization, description=description).exists():
            continue
        ServiceLine.objects.create(
            kind=kind,
            date=today - datetime.timedelta(days=days_ago),
            amount=Decimal(amount),
            currency="EUR",
            organization=organization,
            asset=asset,
            contract=organization.contracts.order_by("-starts_on").first()
            if kind == ServiceLine.Kind.CONTRACT
            else None,
            description=description,
        )


def _seed_expenses(demo: DemoData) -> None:
    # This month and the two before it, so the default 30-day report has a cost.
    month = timezone.localdate().replace(day=1)
    for _ in range(3):
        next_month = (month + datetime.timedelta(days=32)).replace(day=1)
        for slug, amount in MONTHLY_EXPENSES.items():
            SupportExpense.objects.update_or_create(
                period_start=month,
                department=demo.departments[slug],
                defaults={
                    "period_end": next_month - datetime.timedelta(days=1),
                    "amount": amount,
                    "currency": "EUR",
                    "note": "Salaries, tools and telephony",
                },
            )
        month = (month - datetime.timedelta(days=1)).replace(day=1)


def _seed_targets(demo: DemoData) -> None:
    for slug, username, metric, value, period in TARGETS:
        KpiTarget.objects.update_or_create(
            department=demo.departments[slug] if slug else None,
            agent=demo.agents[username] if username else None,
            metric=metric,
            defaults={"value": value, "period": period},
        )
