"""`chatportal seed-demo`: the demo data of DESIGN.md, idempotent."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from chatportal.demo_data import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = "Create or update the demo departments, agents, customers and their CRM records."

    def handle(self, *args, **options):
        demo = seed_demo()
        if options["verbosity"] >= 1:
            agents = ", ".join(sorted(demo.agents))
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo data ready: {len(demo.departments)} departments, agents {agents}, "
                    f"{len(demo.contacts)} contacts (password {DEMO_PASSWORD})."
                )
            )
