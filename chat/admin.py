"""Admin: canned responses to edit; conversations, their events and files to read.

A conversation changes only through `chat.actions` (which append its event
and ring the sockets), so the admin shows conversations without add, change
or delete.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from chat.models import CannedResponse, ChatAttachment, Conversation, ConversationEvent
from foundation.view_only_admin import ViewOnlyAdminMixin


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    list_display = ("shortcut", "title", "department", "updated_at")
    list_filter = ("department",)
    search_fields = ("shortcut", "title", "body")
    ordering = ("shortcut",)


class ConversationEventInline(ViewOnlyAdminMixin, admin.TabularInline):
    model = ConversationEvent
    extra = 0
    fields = (
        "seq",
        "kind",
        "author_role",
        "author_user",
        "author_visitor",
        "internal",
        "payload",
        "created_at",
    )
    readonly_fields = fields
    ordering = ("seq",)

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("author_user", "author_visitor")


class ChatAttachmentInline(ViewOnlyAdminMixin, admin.TabularInline):
    model = ChatAttachment
    extra = 0
    fields = ("filename", "content_type", "size", "internal", "seq", "author_role", "created_at")
    readonly_fields = fields


@admin.register(Conversation)
class ConversationAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "public_id",
        "department",
        "state",
        "visitor",
        "contact",
        "assigned_agent",
        "created_at",
        "closed_at",
    )
    list_filter = ("state", "department")
    list_select_related = ("department", "visitor", "contact", "assigned_agent")
    search_fields = (
        "=public_id",
        "visitor__name",
        "visitor__email",
        "contact__name",
        "assigned_agent__username",
    )
    date_hierarchy = "created_at"
    inlines = [ConversationEventInline, ChatAttachmentInline]


@admin.register(ChatAttachment)
class ChatAttachmentAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "filename",
        "content_type",
        "size_kib",
        "internal",
        "conversation",
        "created_at",
    )
    list_filter = ("internal", "content_type")
    list_select_related = ("conversation",)
    search_fields = ("filename", "=conversation__public_id")
    date_hierarchy = "created_at"
    # The storage name is random and private; the file is served by the
    # attachment views, which check who asks.
    exclude = ("file", "download_token")

    @admin.display(description=_("size (KiB)"), ordering="size")
    def size_kib(self, attachment: ChatAttachment) -> str:
        return f"{attachment.size / 1024:.1f}"
