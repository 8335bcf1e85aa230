"""`chatportal seed-demo`: the demo data of docs/decisions/design.md#demo-data, idempotent."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from chatportal.demo_data import DEMO_PASSWORD, seed_demo
from tickets.notifications.outbox import outbox_backend

# The demo's customers are made up: their mail goes to the console.
DEMO_EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"


class Command(BaseCommand):
    help = "Create or update the demo departments, agents, customers and their CRM records."

    def add_arguments(self, parser):
        parser.add_argument(
            "--email-backend",
            default=DEMO_EMAIL_BACKEND,
            help="Django e-mail backend for the demo's notifications (default: the console).",
        )

    def handle(self, *args, email_backend: str = DEMO_EMAIL_BACKEND, **options):
        # Rows remember the backend, so no worker ever hands them to the real relay.
        with outbox_backend(email_backend):
            demo = seed_demo()
        if options["verbosity"] >= 1:
            agents = ", ".join(sorted(demo.agents))
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo data ready: {len(demo.departments)} departments, agents {agents}, "
                    f"{len(demo.contacts)} contacts (password {DEMO_PASSWORD})."
                )
            )
