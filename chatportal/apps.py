from __future__ import annotations

from django.apps import AppConfig


class ChatportalConfig(AppConfig):
    name = "chatportal"
    verbose_name = "Chatportal"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from foundation import public_url  # noqa: F401 (registers its deploy check)
        from foundation.actions import end_session_sockets

        user_logged_out.connect(end_session_sockets, dispatch_uid="chatportal.end_session_sockets")
