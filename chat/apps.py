from __future__ import annotations

from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"

    def ready(self) -> None:
        from chat.timeline import chat_entries
        from crm.timeline import register_timeline_source

        register_timeline_source("chats", chat_entries)
