"""`chatportal gdpr-erase CONTACT --yes`: anonymize a contact everywhere (crm/gdpr.py). Idempotent."""

from __future__ import annotations

import getpass
import json

from django.core.management.base import BaseCommand, CommandError

from crm.gdpr import ContactNotFound, erase_contact, find_contact


def operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return "unknown"


class Command(BaseCommand):
    help = (
        "Erase the personal data of CONTACT (a contact id, e-mail address or external id): "
        "names, addresses, phone numbers, message bodies, files; counts for the KPIs stay."
    )

    def add_arguments(self, parser):
        parser.add_argument("contact")
        parser.add_argument("--yes", action="store_true", help="confirm: this cannot be undone")
        parser.add_argument("--by", default="", help="who asked for it, for the erasure record")

    def handle(self, *args, contact: str, yes: bool, by: str, **options):
        try:
            record = find_contact(contact)
        except ContactNotFound as exc:
            raise CommandError(str(exc)) from exc
        if not yes:
            raise CommandError(
                f"this erases contact {record.public_id} for good; pass --yes to confirm"
            )
        erasure, created = erase_contact(record, by=by or f"cli:{operator()}")
        state = "erased" if created else "already erased"
        self.stdout.write(
            f"contact {record.public_id} {state} at {erasure.erased_at:%Y-%m-%d %H:%M:%S} UTC"
            f" by {erasure.erased_by}: {json.dumps(erasure.summary, sort_keys=True)}"
        )
