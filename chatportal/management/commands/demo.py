"""`chatportal demo`: migrate, seed the demo data, serve."""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from chatportal.management.commands.seed_demo import DEMO_EMAIL_BACKEND


class Command(BaseCommand):
    help = "Migrate, seed demo data and serve on the embedded defaults."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-serve", action="store_true", help="Prepare only, do not serve.")
        parser.add_argument(
            "--email-backend",
            default=DEMO_EMAIL_BACKEND,
            help="Django e-mail backend while the demo runs (default: the console, never a real relay).",
        )

    def handle(
        self,
        *args,
        host: str,
        port: int,
        no_serve: bool,
        email_backend: str = DEMO_EMAIL_BACKEND,
        **options,
    ):
        # The demo never mails the world unless told to.
        settings.EMAIL_BACKEND = email_backend
        call_command("migrate", interactive=False, verbosity=0)
        call_command("seed_demo", email_backend=email_backend)
        if not no_serve:
            call_command("serve", host=host, port=port)
