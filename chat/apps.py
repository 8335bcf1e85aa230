from __future__ import annotations

from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"

    def ready(self) -> None:
        from chat import queue_metrics  # noqa: F401 (registers the queue gauges of /metrics)
        from chat.gdpr import erase_chats, export_chats
        from chat.timeline import chat_entries
        from crm.gdpr import register_gdpr_part
        from crm.timeline import register_timeline_source

        register_timeline_source("chats", chat_entries)
        register_gdpr_part("chats", export=export_chats, erase=erase_chats)
