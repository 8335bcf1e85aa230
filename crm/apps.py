from __future__ import annotations

from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "CRM"

    def ready(self) -> None:
        from crm.timeline import call_entries, register_timeline_source

        register_timeline_source("calls", call_entries)
