"""The console search on 100,000 contacts: p50/p95 per kind of query (PostgreSQL).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test_search \\
        .venv/bin/python bench/search_contacts.py [--contacts 100000] [--runs 200]

Migrates the database, seeds it once (a second run finds the rows and only
measures; `--reseed` starts over: it deletes every contact, organization,
asset and ticket of the bench), then times `crm.search.search()` in-process,
every query a fresh random pick so that no plan or page stays warm by
accident, and one HTTP round trip of `GET /api/v1/crm/search` through
Django's test client (bearer auth included). Use a database of its own: the
seed is 100,000 contacts with 150,000 phones, 130,000 e-mails,
60,000 assets, 5,000 organizations and 20,000 tickets.

The seed looks like a utility's customer base: Romanian mobiles and landlines
(some Russian numbers), two e-mail addresses for a third of the people,
serials like `RZA-2024-001234`, organizations named from town and trade.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatportal.settings")

BATCH = 2000
SEED = 13
BENCH_PREFIX = "bench-search"

FIRST = [
    "Maria",
    "Ana",
    "Elena",
    "Ioana",
    "Andreea",
    "Cristina",
    "Mihaela",
    "Daniela",
    "Alexandra",
    "Gabriela",
    "Irina",
    "Natalia",
    "Olga",
    "Svetlana",
    "Tatiana",
    "Andrei",
    "Alexandru",
    "Mihai",
    "Ion",
    "Gheorghe",
    "Vasile",
    "Dmitry",
    "Sergei",
    "Pavel",
    "Constantin",
    "Florin",
    "Bogdan",
    "Radu",
    "Stefan",
    "Adrian",
    "Victor",
    "Nicolae",
    "Cosmin",
    "Ovidiu",
    "Marius",
    "Boris",
]
LAST = [
    "Popescu",
    "Ionescu",
    "Popa",
    "Dumitrescu",
    "Stan",
    "Stoica",
    "Gheorghe",
    "Matei",
    "Ciobanu",
    "Rusu",
    "Munteanu",
    "Florea",
    "Constantinescu",
    "Dobre",
    "Barbu",
    "Nistor",
    "Moldovan",
    "Marin",
    "Tudor",
    "Lungu",
    "Ivanov",
    "Smirnov",
    "Kuznetsov",
    "Popov",
    "Sokolov",
    "Volkov",
    "Lebedev",
    "Kozlov",
    "Novikov",
    "Morozov",
    "Petrov",
    "Pavlov",
    "Stefanescu",
    "Georgescu",
    "Radulescu",
    "Enache",
    "Toma",
    "Cristea",
    "Mocanu",
    "Oprea",
    "Voicu",
    "Dinu",
    "Serban",
    "Preda",
    "Neagu",
    "Sandu",
    "Ene",
    "Luca",
]
TOWNS = [
    "Cluj",
    "Iasi",
    "Timis",
    "Brasov",
    "Constanta",
    "Craiova",
    "Galati",
    "Ploiesti",
    "Oradea",
    "Braila",
    "Arad",
    "Pitesti",
    "Sibiu",
    "Bacau",
    "Suceava",
    "Buzau",
    "Botosani",
    "Satu",
    "Deva",
    "Hunedoara",
    "Novosibirsk",
    "Omsk",
    "Tomsk",
    "Irkutsk",
    "Kazan",
]
TRADES = [
    "Energie",
    "Electrica",
    "Distributie",
    "Retele",
    "Hidro",
    "Termo",
    "Solar",
    "Eolian",
    "Automatizari",
    "Industrial",
    "Servicii",
    "Montaj",
    "Proiect",
    "Instal",
    "Grid",
    "Power",
    "Metering",
]
FORMS = ("SRL", "SA", "AO", "OOO", "SCS")
PRODUCTS = (("RZA-500", "RZA"), ("MRU-200", "MRU"), ("BMRZ-100", "BMRZ"), ("GW-4", "GW4"))
MAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example", "corp.example")


def setup_django() -> None:
    import django

    django.setup()
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("bench/search_contacts.py measures PostgreSQL: set DATABASE_URL=postgres://…")


def ro_mobile(rng: random.Random) -> str:
    return f"+407{rng.choice('2345678')}{rng.randrange(10**7):07d}"


def ro_landline(rng: random.Random) -> str:
    return f"+402{rng.choice('3456')}{rng.randrange(10**7):07d}"


def ru_number(rng: random.Random) -> str:
    return f"+79{rng.randrange(10**9):09d}"


def seed(count: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from crm.models import Asset, Contact, ContactEmail, ContactPhone, Organization, Product
    from queues.models import AgentProfile, Department
    from tickets.models import NUMBER_PREFIX, Ticket, TicketNumber

    rng = random.Random(SEED)
    started = time.perf_counter()
    with transaction.atomic():
        department, _ = Department.objects.get_or_create(
            slug=f"{BENCH_PREFIX}-support", defaults={"name": "Bench support", "is_24x7": True}
        )
        agent, _ = get_user_model().objects.get_or_create(username=f"{BENCH_PREFIX}-agent")
        profile, _ = AgentProfile.objects.get_or_create(user=agent)
        profile.departments.set([department])
        products = [
            Product.objects.get_or_create(
                name=f"{BENCH_PREFIX} {name}", defaults={"line": "Relay"}
            )[0]
            for name, _prefix in PRODUCTS
        ]
        organizations = Organization.objects.bulk_create(
            [
                Organization(
                    name=f"{rng.choice(TRADES)} {rng.choice(TOWNS)} {i:04d} {rng.choice(FORMS)}",
                    default_region="RU" if i % 10 == 0 else "",
                )
                for i in range(count // 20)
            ],
            batch_size=BATCH,
        )
        contacts = Contact.objects.bulk_create(
            [
                Contact(
                    name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                    # One in ten private customers, the rest of an organization.
                    organization=None if i % 10 == 0 else rng.choice(organizations),
                    external_id=f"{BENCH_PREFIX}-{i:06d}",
                    is_organization_admin=i % 20 == 1,
                )
                for i in range(count)
            ],
            batch_size=BATCH,
        )
        # bulk_create skips save(): numbers are written in E.164 here directly.
        phones, seen_phones = [], set()
        for i, contact in enumerate(contacts):
            numbers = [ru_number(rng) if i % 10 == 0 else ro_mobile(rng)]
            if i % 2 == 0:
                numbers.append(ro_landline(rng))
            for k, number in enumerate(numbers):
                if number not in seen_phones:
                    seen_phones.add(number)
                    phones.append(
                        ContactPhone(
                            contact=contact,
                            number=number,
                            is_primary=k == 0,
                            label="mobile" if k == 0 else "office",
                        )
                    )
        ContactPhone.objects.bulk_create(phones, batch_size=BATCH)
        emails = []
        for i, contact in enumerate(contacts):
            first, last = contact.name.lower().split()
            emails.append(
                ContactEmail(
                    contact=contact,
                    email=f"{first}.{last}.{i}@{rng.choice(MAIL_DOMAINS)}",
                    is_primary=True,
                )
            )
            if i % 3 == 0:
                emails.append(
                    ContactEmail(contact=contact, email=f"{first[0]}{last}{i}@work.example")
                )
        ContactEmail.objects.bulk_create(emails, batch_size=BATCH)
        assets = []
        for i in range(count * 6 // 10):
            product = rng.randrange(len(products))
            year = rng.randrange(2015, 2027)
            owner = rng.choice(contacts)
            by_organization = owner.organization_id is not None and i % 4 == 0
            assets.append(
                Asset(
                    product=products[product],
                    serial_number=f"{PRODUCTS[product][1]}-{year}-{i:06d}",
                    contact=None if by_organization else owner,
                    organization_id=owner.organization_id if by_organization else None,
                )
            )
        Asset.objects.bulk_create(assets, batch_size=BATCH)
        counter, _ = TicketNumber.objects.select_for_update().get_or_create(pk=1)
        first_number = counter.last_value + 1
        tickets = [
            Ticket(
                number=f"{NUMBER_PREFIX}{first_number + i}",
                subject=f"Relay trips at night ({i})",
                status=Ticket.Status.OPEN,
                channel=Ticket.Channel.PORTAL,
                contact=(contact := rng.choice(contacts)),
                organization_id=contact.organization_id,
                requester_name=contact.name,
                department=department,
            )
            for i in range(count // 5)
        ]
        Ticket.objects.bulk_create(tickets, batch_size=BATCH)
        counter.last_value = first_number + len(tickets) - 1
        counter.save(update_fields=["last_value"])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"seeded {count} contacts in {time.perf_counter() - started:.1f} s", flush=True)


def unseed() -> None:
    from django.db import transaction

    from crm.models import Asset, Contact, Organization
    from tickets.models import Ticket

    with transaction.atomic():
        Ticket.objects.filter(department__slug=f"{BENCH_PREFIX}-support").delete()
        Asset.objects.filter(product__name__startswith=BENCH_PREFIX).delete()
        Contact.objects.filter(external_id__startswith=BENCH_PREFIX).delete()
        Organization.objects.filter(contacts__isnull=True).delete()


def queries(rng: random.Random):
    """Each kind of search with a generator of realistic queries (picked from the data)."""
    from crm.models import Asset, Contact, ContactEmail, ContactPhone, Organization
    from tickets.models import Ticket

    def sample(rows, n=400):
        rows = list(rows[: n * 5])
        return rng.sample(rows, min(n, len(rows)))

    order = "?"  # random rows: the plans must not see the same pages over and over
    ro_phones = sample(
        ContactPhone.objects.filter(number__startswith="+407")
        .order_by(order)
        .values_list("number", flat=True)
    )
    emails = sample(ContactEmail.objects.order_by(order).values_list("email", flat=True))
    serials = sample(Asset.objects.order_by(order).values_list("serial_number", flat=True))
    names = sample(Contact.objects.order_by(order).values_list("name", flat=True))
    organizations = sample(Organization.objects.order_by(order).values_list("name", flat=True))
    tickets = sample(Ticket.objects.order_by(order).values_list("number", flat=True))

    def local(e164: str) -> str:  # +40721234567 -> 0721 234 567
        national = "0" + e164[3:]
        return f"{national[:4]} {national[4:7]} {national[7:]}"

    return {
        "phone, national (0721 234 567)": lambda: local(rng.choice(ro_phones)),
        "phone, +40 721 234 567": lambda: "+40 " + local(rng.choice(ro_phones))[1:],
        "phone, 0040721234567": lambda: "0040" + rng.choice(ro_phones)[3:],
        "phone, prefix (0721 23)": lambda: local(rng.choice(ro_phones))[:7],
        "e-mail, exact": lambda: rng.choice(emails),
        "e-mail, prefix (maria.pop)": lambda: rng.choice(emails)[:9],
        "serial, exact": lambda: rng.choice(serials).lower(),
        "serial, prefix (RZA-2024-00)": lambda: rng.choice(serials)[:11],
        "name, full (Maria Popescu)": lambda: rng.choice(names),
        "name, last name (popescu)": lambda: rng.choice(names).split()[1].lower(),
        "name, 2 characters (ma)": lambda: rng.choice(names)[:2].lower(),
        "organization, word (Electrica)": lambda: rng.choice(organizations).split()[0],
        "organization, inside (Cluj 0042)": lambda: " ".join(
            rng.choice(organizations).split()[1:3]
        ),
        "ticket number (T-12345)": lambda: rng.choice(tickets),
    }


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


class DatabaseClock:
    """Time spent waiting for PostgreSQL, and the statements sent (an execute wrapper)."""

    def __init__(self):
        self.seconds = 0.0
        self.statements = 0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.statements += 1


def measure(runs: int) -> list[tuple]:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from crm.search import search

    rng = random.Random(SEED + 1)
    agent = get_user_model().objects.get(username=f"{BENCH_PREFIX}-agent")
    results = []
    kinds = queries(rng)
    # Once each first: the URL resolver, the phone metadata, the first plans are
    # a worker's start-up cost, not a search's.
    for make_query in kinds.values():
        search(make_query(), user=agent)
    for kind, make_query in kinds.items():
        timings, in_database, found = [], [], 0
        clock = DatabaseClock()
        with connection.execute_wrapper(clock):
            for _ in range(runs):
                query = make_query()
                before = clock.seconds
                started = time.perf_counter()
                hits = search(query, user=agent)
                timings.append((time.perf_counter() - started) * 1000)
                in_database.append((clock.seconds - before) * 1000)
                found += bool(hits)
        results.append(
            (
                kind,
                statistics.median(timings),
                percentile(timings, 95),
                max(timings),
                statistics.median(in_database),
                clock.statements / runs,
                found / runs,
            )
        )
    return results


def measure_api(runs: int) -> tuple[float, float]:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from queues.tokens import issue_agent_token

    agent = get_user_model().objects.get(username=f"{BENCH_PREFIX}-agent")
    host = next((h.lstrip(".") for h in settings.ALLOWED_HOSTS if h != "*"), "localhost")
    client = Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {issue_agent_token(agent)}")
    rng = random.Random(SEED + 2)
    makers = list(queries(rng).values())
    timings = []
    for i in range(runs):
        query = makers[i % len(makers)]()
        started = time.perf_counter()
        response = client.get("/api/v1/crm/search", {"q": query})
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content
    return statistics.median(timings), percentile(timings, 95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200, help="queries per kind")
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()
    setup_django()
    from django.core.management import call_command

    from crm.models import Contact

    call_command("migrate", verbosity=0)
    if args.reseed:
        unseed()
    seeded = Contact.objects.filter(external_id__startswith=BENCH_PREFIX).count()
    if seeded == 0:
        seed(args.contacts)
    elif seeded != args.contacts:
        sys.exit(f"the database holds {seeded} bench contacts, not {args.contacts}: use --reseed")
    total = Contact.objects.count()
    print(f"{total} contacts; {args.runs} queries per kind, in-process search():\n")
    print("| query | p50 | p95 | max | p50 in PostgreSQL | statements | found |")
    print("|---|---|---|---|---|---|---|")
    for kind, p50, p95, worst, db_p50, statements, found in measure(args.runs):
        print(
            f"| {kind} | {p50:.1f} ms | {p95:.1f} ms | {worst:.1f} ms | {db_p50:.1f} ms "
            f"| {statements:.1f} | {found:.0%} |"
        )
    p50, p95 = measure_api(args.runs)
    print(
        f"\nGET /api/v1/crm/search (test client, bearer auth): p50 {p50:.1f} ms, p95 {p95:.1f} ms"
    )


if __name__ == "__main__":
    main()
