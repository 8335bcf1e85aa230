"""`chatportal gdpr-export CONTACT [--output FILE]`: everything about a contact, as JSON (crm/gdpr.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from crm.gdpr import ContactNotFound, export_contact, find_contact


class Command(BaseCommand):
    help = (
        "Print (or write to --output) a JSON document of everything stored about CONTACT: "
        "a contact id, e-mail address or external id."
    )

    def add_arguments(self, parser):
        parser.add_argument("contact")
        parser.add_argument("--output", help="write to this file (mode 0600) instead of stdout")

    def handle(self, *args, contact: str, output: str | None, **options):
        try:
            record = find_contact(contact)
        except ContactNotFound as exc:
            raise CommandError(str(exc)) from exc
        document = json.dumps(export_contact(record), indent=2, ensure_ascii=False)
        if output:
            path = Path(output)
            # Personal data: readable by the operator only.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(document + "\n")
            self.stderr.write(f"exported contact {record.public_id} to {path}")
        else:
            self.stdout.write(document)
