from __future__ import annotations

from django.contrib import admin

from chat.models import CannedResponse


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    list_display = ("shortcut", "title", "department", "updated_at")
    list_filter = ("department",)
    search_fields = ("shortcut", "title", "body")
    ordering = ("shortcut",)
