"""Admin: find a ticket by number, subject, or the contact's name or e-mail.

The event log is read-only here: history is written by actions only.
"""

from __future__ import annotations

from django.contrib import admin

from tickets.models import Ticket, TicketEvent


class TicketEventInline(admin.TabularInline):
    model = TicketEvent
    extra = 0
    can_delete = False
    fields = ("seq", "kind", "author_role", "author_user", "internal", "payload", "created_at")
    readonly_fields = fields
    ordering = ("seq",)
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = (
        "number", "subject", "status", "priority", "channel", "contact", "department",
        "assignee", "resolution_due", "updated_at",
    )
    list_filter = ("status", "priority", "channel", "department")
    search_fields = (
        "number", "subject", "contact__name", "contact__emails__email", "requester_email",
        "requester_name",
    )
    list_select_related = ("contact", "department", "assignee")
    raw_id_fields = ("contact", "organization", "assignee", "conversation")
    readonly_fields = (
        "number", "public_id", "last_seq", "reply_token", "first_response_due", "resolution_due",
        "first_responded_at", "solved_at", "paused_since", "created_at", "updated_at",
    )
    inlines = [TicketEventInline]
    ordering = ("-created_at",)

    def get_search_results(self, request, queryset, search_term):
        # An e-mail matches through a join that can repeat a ticket.
        results, _may_have_duplicates = super().get_search_results(request, queryset, search_term)
        return results, True
