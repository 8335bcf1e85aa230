"""How long `chatportal import-crm` takes for a CRM export, and for re-running it.

    DATABASE_URL=postgres://…/bench_db python -m bench.import_crm --contacts 10000

Migrates the database it is given (use a scratch one), writes a mixed CSV
(an organization per 20 contacts, each contact with two phones and an
e-mail, an asset per contact, a contract per organization), and times three
runs of the same file: the first (everything created), a dry run (every
record checked, all rolled back) and a second real run (everything
unchanged), then a fresh file with --all-or-nothing (one commit for the
whole file instead of one per record). Results in docs/benchmarks.md, "CRM import".
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import time


def export_csv(contacts: int, prefix: str = "a") -> str:
    out = io.StringIO()
    columns = [
        "type",
        "external_id",
        "serial_number",
        "name",
        "organization",
        "emails",
        "phones",
        "product",
        "product_line",
        "warranty_end",
        "plan",
        "starts_on",
        "ends_on",
        "price",
    ]
    writer = csv.DictWriter(out, columns)
    writer.writeheader()
    for org in range(contacts // 20 + 1):
        writer.writerow(
            {
                "type": "organization",
                "external_id": f"{prefix}org-{org}",
                "name": f"{prefix} Org {org}",
            }
        )
        writer.writerow(
            {
                "type": "contract",
                "external_id": f"{prefix}k-{org}",
                "organization": f"{prefix}org-{org}",
                "plan": "Bench Gold",
                "starts_on": "2026-01-01",
                "ends_on": "2026-12-31",
                "price": "1200.00",
            }
        )
    for n in range(contacts):
        writer.writerow(
            {
                "type": "contact",
                "external_id": f"{prefix}p-{n}",
                "name": f"Person {n}",
                "organization": f"{prefix}org-{n // 20}",
                "emails": f"{prefix}person{n}@bench.example",
                "phones": f"+40 72{n // 100000 % 10} {n % 100000:05d}1;021 3{n % 1000000:06d}",
            }
        )
        writer.writerow(
            {
                "type": "asset",
                "serial_number": f"{prefix}SN-{n:07d}",
                "organization": f"{prefix}org-{n // 20}",
                "product": "RZA-500",
                "product_line": "Relays",
                "warranty_end": "2028-01-01",
            }
        )
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=10_000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatportal.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from crm.importing import Format, import_records
    from crm.models import SlaPlan

    call_command("migrate", verbosity=0)
    SlaPlan.objects.get_or_create(
        name="Bench Gold", defaults={"first_response_minutes": 60, "resolution_minutes": 480}
    )
    run = str(int(time.time()))  # fresh ids for every invocation
    text = export_csv(args.contacts, prefix=f"{run}a")
    records = text.count("\n") - 1
    print(f"{connection.vendor}: {records} records ({args.contacts} contacts)")
    for label, options in (
        ("first run", {}),
        ("dry run", {"dry_run": True}),
        ("second run", {}),
        ("all-or-nothing first run", {"all_or_nothing": True, "prefix": f"{run}b"}),
    ):
        prefix = options.pop("prefix", None)
        if prefix is not None:
            text = export_csv(args.contacts, prefix=prefix)
        started = time.perf_counter()
        report = import_records(text, Format.CSV, **options)
        elapsed = time.perf_counter() - started
        print(
            f"{label:>24}: {elapsed:6.1f} s, {records / elapsed:6.0f} records/s — {report.summary()}"
        )


if __name__ == "__main__":
    main()
