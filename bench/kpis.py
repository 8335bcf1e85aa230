"""The KPI endpoint over 100,000 conversations and 50,000 tickets: p50/p95 per kind of report.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kpi_bench \\
        .venv/bin/python bench/kpis.py [--conversations 100000] [--tickets 50000] [--runs 20]

Migrates the database, seeds it once (a second run finds the rows and only
measures; `--reseed` deletes the bench's rows first), then times
`GET /api/v1/reports/kpis` through Django's test client with a supervisor's
token, JSON and CSV, over the Django stack (middleware, auth, ninja, the
computation). Use a database of its own.

The history spans 180 days ending yesterday, in four departments (one open
Mon-Fri 09:00-17:00 Europe/Bucharest, the others 24x7) with 40 agents:
- conversations: a third missed (queued, then closed), 5 % deflected, the
  rest assigned after 5 s-10 min, answered, closed after 1-40 min, some
  transferred, 40 % rated; about 4.5 events each;
- tickets: 70 % solved, a quarter of those after a pending pause; each has
  its `created` event, its status events and the SLA timestamps;
- presence: each agent online 8 h and away 1 h per working day;
- 2,000 organizations in five categories, 3,000 contracts (half renewed),
  20,000 service lines in two currencies, a monthly expense per department.

Reports timed (each `--runs` times, after one warm-up): the last 30 days,
the whole 180 days, 30 days of one department, 30 days of one agent, 30
days of one customer category, and the 30 days as CSV.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatportal.settings")

SEED = 16
BATCH = 5000
PREFIX = "kpib"
UTC = datetime.UTC
DAYS = 180


def setup_django() -> None:
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]


def without_auto_now(models) -> None:
    # The history is in the past: let bulk_create keep the timestamps we give.
    for model in models:
        for field in model._meta.fields:
            if getattr(field, "auto_now_add", False) or getattr(field, "auto_now", False):
                field.auto_now_add = field.auto_now = False


def seed(conversations: int, tickets: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from chat.models import Conversation, ConversationEvent, Visitor
    from crm.models import Contact, Organization, Product, ServiceLine, SlaPlan, SupportContract
    from queues.models import AgentProfile, Department, PresenceInterval, WeeklyHours
    from reports.models import SupportExpense
    from tickets.models import Ticket, TicketEvent

    without_auto_now([Conversation, ConversationEvent, Visitor, Ticket, TicketEvent, Contact])
    rng = random.Random(SEED)
    User = get_user_model()
    today = datetime.datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first_day = today - datetime.timedelta(days=DAYS)

    def moment() -> datetime.datetime:
        return first_day + datetime.timedelta(seconds=rng.randrange(DAYS * 86400))

    with transaction.atomic():
        departments = []
        for n in range(4):
            department = Department.objects.create(
                slug=f"{PREFIX}-{n}", name=f"Bench {n}", time_zone="Europe/Bucharest",
                is_24x7=n != 0,
            )  # fmt: skip
            departments.append(department)
        WeeklyHours.objects.bulk_create(
            WeeklyHours(department=departments[0], weekday=d, opens=datetime.time(9),
                        closes=datetime.time(17))
            for d in range(5)
        )  # fmt: skip
        plan = SlaPlan.objects.get_or_create(
            name="Standard", defaults={"first_response_minutes": 60, "resolution_minutes": 960}
        )[0]
        agents = []
        for n in range(40):
            # No password: hashing 41 of them would take longer than the rest of the seed.
            user = User.objects.create(username=f"{PREFIX}-agent-{n}", password="!")
            profile = AgentProfile.objects.create(user=user)
            profile.departments.set([departments[n % 4]])
            agents.append(user)
        boss = User.objects.create(username=f"{PREFIX}-boss", password="!")
        AgentProfile.objects.create(user=boss, is_supervisor=True)
        categories = ["key account", "reseller", "installer", "utility", "industry"]
        organizations = Organization.objects.bulk_create(
            Organization(name=f"{PREFIX} org {n}", category=categories[n % 5]) for n in range(2000)
        )
        now = datetime.datetime.now(UTC)
        contacts = Contact.objects.bulk_create(
            Contact(name=f"{PREFIX} contact {n}", organization=organizations[n % 2000],
                    created_at=now, updated_at=now)
            for n in range(6000)
        )  # fmt: skip
        products = [
            Product.objects.get_or_create(name=f"{PREFIX} product {n}",
                                          defaults={"line": ["relays", "meters", "gateways"][n % 3]})[0]
            for n in range(9)
        ]  # fmt: skip
        print("seeding conversations…", flush=True)
        visitors = Visitor.objects.bulk_create(
            (Visitor(token_hash=f"{PREFIX}{n:058d}", created_at=now, last_seen_at=now)
             for n in range(conversations)),
            batch_size=BATCH,
        )  # fmt: skip
        rows = []
        plans = []
        for n in range(conversations):
            start = moment()
            department = departments[n % 4]
            kind = rng.random()
            agent = agents[(n % 4) + 4 * rng.randrange(10)]
            events = [("queued", "system", start, False)]
            conv = Conversation(
                visitor=visitors[n], department=department, state="closed",
                contact=contacts[n % 6000] if n % 3 else None, created_at=start,
                updated_at=start, queued_at=start,
            )  # fmt: skip
            if kind < 0.3:
                end = start + datetime.timedelta(seconds=rng.randrange(30, 900))
                conv.outcome = "missed"
            elif kind < 0.35:
                end = start + datetime.timedelta(seconds=rng.randrange(10, 300))
                conv.outcome = "deflected"
            else:
                assigned = start + datetime.timedelta(seconds=rng.randrange(5, 600))
                reply = assigned + datetime.timedelta(seconds=rng.randrange(5, 120))
                end = reply + datetime.timedelta(seconds=rng.randrange(60, 2400))
                events += [("assigned", "system", assigned, False),
                           ("message", "visitor", assigned, False),
                           ("message", "agent", reply, False)]  # fmt: skip
                if rng.random() < 0.1:
                    events.append(("transferred", "agent", reply, False))
                    conv.outcome = "transferred"
                else:
                    conv.outcome = "resolved"
                conv.assigned_agent = agent
                conv.assigned_at = assigned
                conv.first_assigned_at = assigned
                conv.first_reply_at = reply
                if rng.random() < 0.4:
                    conv.rating_score = rng.randint(1, 5)
                    conv.rated_at = end
            events.append(("closed", "system", end, False))
            conv.closed_at = end
            conv.last_seq = len(events)
            rows.append(conv)
            plans.append(events)
        Conversation.objects.bulk_create(rows, batch_size=BATCH)
        event_rows = [
            ConversationEvent(conversation=conv, seq=seq, kind=kind, author_role=role,
                              created_at=at, internal=internal)
            for conv, events in zip(rows, plans, strict=True)
            for seq, (kind, role, at, internal) in enumerate(events, start=1)
        ]  # fmt: skip
        ConversationEvent.objects.bulk_create(event_rows, batch_size=BATCH)
        print(f"  {len(rows)} conversations, {len(event_rows)} events", flush=True)
        print("seeding tickets…", flush=True)
        ticket_rows = []
        ticket_plans = []
        channels = ["email", "phone", "web", "portal", "chat"]
        for n in range(tickets):
            start = moment()
            contact = contacts[rng.randrange(6000)]
            ticket = Ticket(
                number=f"B-{n}", subject="Bench", channel=channels[n % 5],
                contact=contact, organization_id=contact.organization_id,
                department=departments[n % 4], assignee=agents[(n % 4) + 4 * rng.randrange(10)],
                sla_plan=plan, created_at=start, updated_at=start, status="open",
                first_response_due=start + datetime.timedelta(hours=1),
                resolution_due=start + datetime.timedelta(hours=16),
                reply_token=f"{PREFIX}-{n}",
            )  # fmt: skip
            events = [("created", {}, start)]
            if rng.random() < 0.9:
                ticket.first_responded_at = start + datetime.timedelta(
                    minutes=rng.randrange(1, 120)
                )
                events.append(("reply", {}, ticket.first_responded_at))
                events.append(("status", {"old": "new", "new": "open"}, ticket.first_responded_at))
            if ticket.first_responded_at and rng.random() < 0.78:
                at = ticket.first_responded_at
                if rng.random() < 0.25:
                    paused = at + datetime.timedelta(minutes=rng.randrange(5, 120))
                    back = paused + datetime.timedelta(hours=rng.randrange(1, 48))
                    events.append(("status", {"old": "open", "new": "pending"}, paused))
                    events.append(("status", {"old": "pending", "new": "open"}, back))
                    ticket.resolution_due += back - paused
                    at = back
                solved = at + datetime.timedelta(minutes=rng.randrange(10, 3000))
                events.append(("status", {"old": "open", "new": "solved"}, solved))
                ticket.status = "solved"
                ticket.solved_at = solved
            ticket.last_seq = len(events)
            ticket_rows.append(ticket)
            ticket_plans.append(events)
        Ticket.objects.bulk_create(ticket_rows, batch_size=BATCH)
        ticket_events = [
            TicketEvent(ticket=ticket, seq=seq, kind=kind, payload=payload, created_at=at)
            for ticket, events in zip(ticket_rows, ticket_plans, strict=True)
            for seq, (kind, payload, at) in enumerate(events, start=1)
        ]
        TicketEvent.objects.bulk_create(ticket_events, batch_size=BATCH)
        print(f"  {len(ticket_rows)} tickets, {len(ticket_events)} events", flush=True)
        # bulk_create skips the solve action: fix the resolution times the way the
        # migration that added them does (tickets.sla.resolution_seconds).
        from importlib import import_module
        from types import SimpleNamespace

        from django.apps import apps
        from django.db import connection

        backfill = import_module("tickets.migrations.0016_kperf2_resolution_s").backfill
        backfill(apps, SimpleNamespace(connection=connection))
        intervals = []
        for day in range(DAYS):
            base = first_day + datetime.timedelta(days=day)
            if base.weekday() >= 5:
                continue
            for agent in agents:
                on = base + datetime.timedelta(hours=7)
                intervals.append(
                    PresenceInterval(
                        user=agent,
                        status="online",
                        started_at=on,
                        ended_at=on + datetime.timedelta(hours=4),
                    )
                )
                intervals.append(
                    PresenceInterval(
                        user=agent,
                        status="away",
                        started_at=on + datetime.timedelta(hours=4),
                        ended_at=on + datetime.timedelta(hours=5),
                    )
                )
                intervals.append(PresenceInterval(
                    user=agent, status="online", started_at=on + datetime.timedelta(hours=5),
                    ended_at=on + datetime.timedelta(hours=9)))  # fmt: skip
        PresenceInterval.objects.bulk_create(intervals, batch_size=BATCH)
        contracts = SupportContract.objects.bulk_create(
            SupportContract(organization=organizations[n % 2000], plan=plan,
                            starts_on=(first_day + datetime.timedelta(days=n % DAYS)).date()
                            - datetime.timedelta(days=365),
                            ends_on=(first_day + datetime.timedelta(days=n % DAYS)).date(),
                            price=Decimal("1200"))
            for n in range(3000)
        )  # fmt: skip
        renewals = []
        for n, old in enumerate(contracts):
            if n % 2:
                renewals.append(SupportContract(
                    organization=old.organization, plan=plan, renews=old,
                    starts_on=old.ends_on + datetime.timedelta(days=1),
                    ends_on=old.ends_on + datetime.timedelta(days=366), price=Decimal("1200")))  # fmt: skip
        SupportContract.objects.bulk_create(renewals)
        ServiceLine.objects.bulk_create(
            (ServiceLine(kind=["contract", "parts", "repair", "maintenance", "training"][n % 5],
                         date=moment().date(), amount=Decimal(rng.randrange(50, 2000)),
                         currency="EUR" if n % 7 else "USD", organization=organizations[n % 2000],
                         product=products[n % 9])
             for n in range(20000)),
            batch_size=BATCH,
        )  # fmt: skip
        for department in departments:
            for month in range(7):
                start = (first_day + datetime.timedelta(days=30 * month)).date()
                SupportExpense.objects.create(
                    period_start=start, period_end=start + datetime.timedelta(days=29),
                    department=department, amount=Decimal("25000"), currency="EUR",
                )  # fmt: skip


def reseed() -> None:
    from django.contrib.auth import get_user_model

    from chat.models import Conversation, Visitor
    from crm.models import Contact, Organization, Product, ServiceLine, SupportContract
    from queues.models import Department
    from reports.models import SupportExpense
    from tickets.models import Ticket

    Ticket.objects.filter(department__slug__startswith=PREFIX).delete()
    Conversation.objects.filter(department__slug__startswith=PREFIX).delete()
    Visitor.objects.filter(token_hash__startswith=PREFIX).delete()
    SupportExpense.objects.filter(department__slug__startswith=PREFIX).delete()
    ServiceLine.objects.filter(organization__name__startswith=PREFIX).delete()
    SupportContract.objects.filter(organization__name__startswith=PREFIX).delete()
    Contact.objects.filter(name__startswith=PREFIX).delete()
    Organization.objects.filter(name__startswith=PREFIX).delete()
    Product.objects.filter(name__startswith=PREFIX).delete()
    get_user_model().objects.filter(username__startswith=PREFIX).delete()
    Department.objects.filter(slug__startswith=PREFIX).delete()


def measure(runs: int) -> list[tuple[str, float, float, float]]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from queues.tokens import issue_agent_token

    boss = get_user_model().objects.get(username=f"{PREFIX}-boss")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_agent_token(boss)}")
    today = datetime.date.today()
    last30 = {"from": (today - datetime.timedelta(days=30)).isoformat(),
              "to": (today - datetime.timedelta(days=1)).isoformat()}  # fmt: skip
    whole = {"from": (today - datetime.timedelta(days=DAYS)).isoformat(), "to": last30["to"]}
    reports = [
        ("30 days", last30),
        ("180 days", whole),
        ("30 days, one department (business hours)", {**last30, "department": f"{PREFIX}-0"}),
        ("30 days, one agent", {**last30, "agent": f"{PREFIX}-agent-5"}),
        ("30 days, one customer category", {**last30, "category": "reseller"}),
        ("30 days as CSV", {**last30, "format": "csv"}),
    ]
    results = []
    for name, query in reports:
        response = client.get("/api/v1/reports/kpis", query)
        assert response.status_code == 200, response.content
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            response = client.get("/api/v1/reports/kpis", query)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        timings.sort()
        p95 = timings[max(0, round(0.95 * len(timings)) - 1)]
        results.append((name, statistics.median(timings), p95, timings[-1]))
        print(f"{name:45s} p50 {results[-1][1]:7.1f} ms  p95 {p95:7.1f} ms  "
              f"max {timings[-1]:7.1f} ms", flush=True)  # fmt: skip
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--tickets", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--seed-only", action="store_true")
    args = parser.parse_args()
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    from chat.models import Conversation

    call_command("migrate", verbosity=0)
    if args.reseed:
        reseed()
    if not Conversation.objects.filter(department__slug__startswith=PREFIX).exists():
        started = time.perf_counter()
        seed(args.conversations, args.tickets)
        print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
    if args.seed_only:
        return
    print(f"database: {connection.vendor}; load average: {os.getloadavg()}", flush=True)
    measure(args.runs)
    print(f"load average after: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
