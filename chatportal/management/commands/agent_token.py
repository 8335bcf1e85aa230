"""`chatportal agent-token USER`: print the agent's API token (creating it if needed)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from queues.tokens import NotAnAgent, issue_agent_token


class Command(BaseCommand):
    help = "Print USER's agent API token; the same token every time until revoked."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username: str, **options):
        user_model = get_user_model()
        user = user_model.objects.filter(**{user_model.USERNAME_FIELD: username}).first()
        if user is None:
            raise CommandError(f"no such user: {username}")
        try:
            token = issue_agent_token(user)
        except NotAnAgent as exc:
            raise CommandError(f"{username} is not an active agent (no agent profile)") from exc
        self.stdout.write(token)
