"""The demo data docs/decisions/design.md#demo-data promises: stable, and safe to seed twice.

Every row is found by its natural key (slug, username, external id, serial
number, ...) and updated in place, so `chatportal seed-demo` run again gives
the same rows. Passwords are set only on accounts it creates, so a changed
demo password survives a re-seed.

Apps above crm/queues add their own demo rows (closed tickets, articles)
with a `demo_data.py` module that has `seed(demo: DemoData) -> None`; it is
called after the core data, inside the same transaction. `DemoData`, the
record of the core rows they receive, is queues/demo_records.py: the apps
never import this wiring.
"""

from __future__ import annotations

import datetime
import importlib
import importlib.util
import uuid
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction

from crm.models import (
    Asset,
    CallRecord,
    Contact,
    ContactEmail,
    ContactPhone,
    Organization,
    Product,
    SlaPlan,
    SupportContract,
)
from crm.phones import normalize_phone
from queues.demo_records import DemoData
from queues.models import AgentProfile, Department, Holiday, WeeklyHours

DEMO_PASSWORD = "demo-pass-123"
# Fixed ids for demo rows that have no natural key of their own (calls).
DEMO_NAMESPACE = uuid.UUID("4f0f6a8e-6f1c-4d53-9d7e-2b1d3c5a7e01")
# Apps that may contribute demo rows, in import-direction order.
EXTRA_SEED_APPS = ("chat", "tickets", "kb", "reports", "frontend")

MON_FRI = range(5)

DEPARTMENTS = [
    {
        "slug": "sales",
        "name": "Sales",
        "time_zone": "Europe/Bucharest",
        "is_24x7": False,
        "hours": [(MON_FRI, "09:00", "18:00")],
        "holidays": [
            (datetime.date(2026, 12, 25), "Crăciunul"),
            (datetime.date(2026, 12, 26), "A doua zi de Crăciun"),
            (datetime.date(2027, 1, 1), "Anul Nou"),
        ],
    },
    {
        "slug": "support",
        "name": "Support",
        "time_zone": "Europe/Bucharest",
        "is_24x7": True,
        "hours": [],
        "holidays": [],
    },
    {
        "slug": "billing",
        "name": "Billing",
        "time_zone": "Europe/Moscow",
        "is_24x7": False,
        "hours": [(MON_FRI, "09:00", "17:00")],
        "holidays": [
            (datetime.date(2027, 1, 1), "Новый год"),
            (datetime.date(2027, 1, 7), "Рождество Христово"),
        ],
    },
]

# username, first, last, departments, languages, skills
AGENTS = [
    ("ana", "Ana", "Ionescu", ["sales", "support"], "ro,en", "sales,relay"),
    ("boris", "Boris", "Petrov", ["support"], "ru,en", "relay,scada"),
    ("chen", "Chen", "Wei", ["billing", "support"], "en,ru", "billing,relay"),
    ("dana", "Dana", "Marin", ["billing"], "ro,en", "billing"),
]
SUPERVISOR = ("sofia", "Sofia", "Lungu")
ADMIN_USERNAME = "admin"

PRODUCTS = [
    ("RZA-500", "Relay protection", "Chatportal Energy"),
    ("MRU-200", "Motor protection", "Chatportal Energy"),
    ("BMRZ-100", "Relay protection", "Chatportal Energy"),
    ("GW-4", "SCADA gateways", "Chatportal Energy"),
]

# name, first response, resolution (minutes), 24x7, priority
SLA_PLANS = [
    ("Gold 24x7", 60, 480, True, 3),
    ("Silver", 240, 1440, False, 2),
    ("Bronze", 480, 2880, False, 1),
]

ORGANIZATIONS = [
    ("Electrica Nord SRL", "RO", "Distribution operator, Suceava and Botoșani."),
    ("Transilvania Energie SA", "RO", "Hydro and substation operator, Cluj."),
    ("Sibenergo AO", "RU", "Grid company, Novosibirsk."),
    ("Dalenergo OOO", "RU", "Substation maintenance, Vladivostok."),
]

# organization, plan, name, starts, ends, renewal, price
# fmt: off
CONTRACTS = [
    ("Electrica Nord SRL", "Gold 24x7", "Electrica Nord — Gold 24x7",
     datetime.date(2024, 7, 1), datetime.date(2027, 6, 30), datetime.date(2027, 6, 30),
     Decimal("18000.00")),
    ("Transilvania Energie SA", "Silver", "Transilvania Energie — Silver",
     datetime.date(2025, 1, 1), datetime.date(2027, 12, 31), datetime.date(2027, 12, 1),
     Decimal("7200.00")),
    # Expired: the renewal the account manager should have chased.
    ("Sibenergo AO", "Bronze", "Sibenergo — Bronze",
     datetime.date(2023, 1, 1), datetime.date(2024, 12, 31), datetime.date(2024, 12, 31),
     Decimal("2400.00")),
    ("Dalenergo OOO", "Silver", "Dalenergo — Silver",
     datetime.date(2026, 1, 1), datetime.date(2028, 12, 31), datetime.date(2028, 12, 1),
     Decimal("6900.00")),
]

# external id, name, organization, e-mails, phones, locale, time zone, owner, org admin
CONTACTS = [
    ("crm-1", "Maria Popescu", "Electrica Nord SRL",
     ["customer1@example.com", "maria.popescu@electrica-nord.example"],
     [("+40 721 234 567", "mobile"), ("+40 230 521 100", "office")],
     "ro", "Europe/Bucharest", "boris", True),
    ("crm-2", "Andrei Dumitrescu", "Electrica Nord SRL",
     ["customer2@example.com"], [("+40 744 555 123", "mobile")],
     "ro", "Europe/Bucharest", "ana", False),
    ("crm-3", "Ioana Constantinescu", "Transilvania Energie SA",
     ["customer3@example.com"], [("+40 264 123 456", "office")],
     "ro", "Europe/Bucharest", "ana", True),
    ("crm-4", "Dmitry Sokolov", "Sibenergo AO",
     ["customer4@example.com"], [("+7 383 210-45-67", "office")],
     "ru", "Asia/Novosibirsk", "chen", True),
    ("crm-5", "Elena Volkova", "Dalenergo OOO",
     ["customer5@example.com"], [("+7 914 123-45-67", "mobile"), ("+7 423 222-33-44", "office")],
     "ru", "Asia/Vladivostok", "boris", True),
]

# serial, product, owner external id, purchased, warranty end
ASSETS = [
    ("RZA-2024-0001", "RZA-500", "crm-1", datetime.date(2024, 6, 30), datetime.date(2034, 6, 30)),
    ("RZA-2024-0002", "RZA-500", "crm-2", datetime.date(2024, 6, 30), datetime.date(2034, 6, 30)),
    # Out of warranty: a paid repair, unless the contract covers it.
    ("MRU-2019-0042", "MRU-200", "crm-3", datetime.date(2019, 3, 15), datetime.date(2022, 3, 15)),
    ("BMRZ-2021-0107", "BMRZ-100", "crm-4", datetime.date(2021, 5, 20), datetime.date(2028, 5, 31)),
    ("GW4-2025-0310", "GW-4", "crm-5", datetime.date(2025, 9, 30), datetime.date(2028, 9, 30)),
]

# key, contact, direction, started (UTC), seconds, agent, note
CALLS = [
    ("call-1", "crm-1", "inbound", datetime.datetime(2026, 11, 20, 8, 12, tzinfo=datetime.UTC),
     312, "boris", "Asked about the RZA-500 firmware 3.2 update."),
    ("call-2", "crm-4", "outbound", datetime.datetime(2026, 11, 24, 4, 30, tzinfo=datetime.UTC),
     185, "chen", "Renewal of the Bronze contract: call back after budget approval."),
]
# fmt: on


def seed_demo() -> DemoData:
    """Create or update the demo rows; returns them for further seeding."""
    demo = DemoData(password_hash=make_password(DEMO_PASSWORD))
    with transaction.atomic():
        _seed_departments(demo)
        _seed_staff(demo)
        _seed_catalog(demo)
        _seed_customers(demo)
        _seed_calls(demo)
        for app in EXTRA_SEED_APPS:
            module_name = f"{app}.demo_data"
            if importlib.util.find_spec(app) and importlib.util.find_spec(module_name):
                importlib.import_module(module_name).seed(demo)
    return demo


def _seed_departments(demo: DemoData) -> None:
    for spec in DEPARTMENTS:
        department, _ = Department.objects.update_or_create(
            slug=spec["slug"],
            defaults={
                "name": spec["name"],
                "time_zone": spec["time_zone"],
                "is_24x7": spec["is_24x7"],
            },
        )
        wanted = {
            (day, datetime.time.fromisoformat(opens), datetime.time.fromisoformat(closes))
            for days, opens, closes in spec["hours"]
            for day in days
        }
        have = set(department.hours.values_list("weekday", "opens", "closes"))
        if have != wanted:
            department.hours.all().delete()
            WeeklyHours.objects.bulk_create(
                WeeklyHours(department=department, weekday=d, opens=o, closes=c)
                for d, o, c in sorted(wanted)
            )
        for date, name in spec["holidays"]:
            Holiday.objects.update_or_create(
                department=department, date=date, defaults={"name": name}
            )
        demo.departments[department.slug] = department


def _user(demo: DemoData, username: str, **fields: Any):
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=username, defaults={**fields, "password": demo.password_hash}
    )
    if not created:
        changed = [name for name, value in fields.items() if getattr(user, name) != value]
        for name in changed:
            setattr(user, name, fields[name])
        if changed:
            user.save(update_fields=changed)
    return user


def _seed_staff(demo: DemoData) -> None:
    all_departments = list(demo.departments.values())
    for username, first, last, departments, languages, skills in AGENTS:
        user = _user(
            demo,
            username,
            first_name=first,
            last_name=last,
            email=f"{username}@chatportal.example",
            is_staff=False,
            is_active=True,
        )
        profile, _ = AgentProfile.objects.update_or_create(
            user=user,
            defaults={
                "max_chats": 3,
                "is_supervisor": False,
                "languages": languages,
                "skills": skills,
            },
        )
        profile.departments.set([demo.departments[slug] for slug in departments])
        demo.agents[username] = user

    username, first, last = SUPERVISOR
    sofia = _user(
        demo,
        username,
        first_name=first,
        last_name=last,
        email=f"{username}@chatportal.example",
        is_staff=True,
        is_active=True,
    )
    profile, _ = AgentProfile.objects.update_or_create(
        user=sofia,
        defaults={
            "max_chats": 3,
            "is_supervisor": True,
            "languages": "ro,ru,en",
            "skills": "relay,billing",
        },
    )
    profile.departments.set(all_departments)
    demo.agents[username] = sofia
    for department in all_departments:
        if department.lead_id != sofia.pk:
            department.lead = sofia
            department.save(update_fields=["lead"])

    _user(
        demo,
        ADMIN_USERNAME,
        first_name="Admin",
        last_name="",
        email="admin@chatportal.example",
        is_staff=True,
        is_superuser=True,
        is_active=True,
    )


def _seed_catalog(demo: DemoData) -> None:
    for name, line, brand in PRODUCTS:
        product, _ = Product.objects.update_or_create(
            name=name, defaults={"line": line, "brand": brand}
        )
        demo.products[name] = product
    for name, first_response, resolution, is_24x7, priority in SLA_PLANS:
        plan, _ = SlaPlan.objects.update_or_create(
            name=name,
            defaults={
                "first_response_minutes": first_response,
                "resolution_minutes": resolution,
                "is_24x7": is_24x7,
                "priority": priority,
            },
        )
        demo.plans[name] = plan


def _seed_customers(demo: DemoData) -> None:
    for name, region, notes in ORGANIZATIONS:
        organization, _ = Organization.objects.update_or_create(
            name=name, defaults={"default_region": region, "notes": notes}
        )
        demo.organizations[name] = organization
    for org_name, plan_name, name, starts, ends, renewal, price in CONTRACTS:
        SupportContract.objects.update_or_create(
            organization=demo.organizations[org_name],
            plan=demo.plans[plan_name],
            starts_on=starts,
            defaults={
                "name": name,
                "ends_on": ends,
                "renewal_date": renewal,
                "price": price,
                "currency": "EUR",
            },
        )

    for (
        external_id,
        name,
        org_name,
        emails,
        phones,
        locale,
        time_zone,
        owner,
        org_admin,
    ) in CONTACTS:
        first, _, last = name.partition(" ")
        portal_user = _user(
            demo,
            emails[0],
            first_name=first,
            last_name=last,
            email=emails[0],
            is_staff=False,
            is_active=True,
        )
        organization = demo.organizations[org_name]
        contact, _ = Contact.objects.update_or_create(
            external_id=external_id,
            defaults={
                "name": name,
                "organization": organization,
                "locale": locale,
                "time_zone": time_zone,
                "account_owner": demo.agents[owner],
                "portal_user": portal_user,
                "is_organization_admin": org_admin,
            },
        )
        for index, email in enumerate(emails):
            ContactEmail.objects.update_or_create(
                email=email.lower(), defaults={"contact": contact, "is_primary": index == 0}
            )
        for index, (number, label) in enumerate(phones):
            ContactPhone.objects.update_or_create(
                contact=contact,
                number=normalize_phone(number, organization.default_region),
                defaults={"label": label, "is_primary": index == 0},
            )
        demo.contacts[external_id] = contact

    for serial, product, owner, purchased, warranty_end in ASSETS:
        contact = demo.contacts[owner]
        Asset.objects.update_or_create(
            serial_number=serial,
            defaults={
                "product": demo.products[product],
                "contact": contact,
                "organization": contact.organization,
                "purchase_date": purchased,
                "warranty_end": warranty_end,
            },
        )


def _seed_calls(demo: DemoData) -> None:
    for key, external_id, direction, started, seconds, agent, note in CALLS:
        contact = demo.contacts[external_id]
        phone = contact.phones.order_by("-is_primary", "number").first()
        CallRecord.objects.update_or_create(
            public_id=uuid.uuid5(DEMO_NAMESPACE, key),
            defaults={
                "contact": contact,
                "phone": phone.number if phone else "",
                "direction": direction,
                "started_at": started,
                "duration_s": seconds,
                "agent": demo.agents[agent],
                "note": note,
            },
        )


def demo_counts() -> dict[str, int]:
    """Row counts of everything the seed touches (the idempotency test compares them)."""
    user_model = get_user_model()
    models = [
        user_model,
        Department,
        WeeklyHours,
        Holiday,
        AgentProfile,
        Organization,
        Contact,
        ContactEmail,
        ContactPhone,
        Product,
        Asset,
        SlaPlan,
        SupportContract,
        CallRecord,
    ]
    return {model._meta.label: model.objects.count() for model in models}
