from __future__ import annotations

from django.apps import AppConfig


class ChatportalConfig(AppConfig):
    name = "chatportal"
    verbose_name = "Chatportal"

    def ready(self) -> None:
        from chatportal import public_url  # noqa: F401 (registers its deploy check)
