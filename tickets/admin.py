"""Admin: find a ticket by number, subject, or the contact's name or e-mail.

Status, priority, assignee and department are changed through the same
actions as in the console (`TicketAdminForm`), so an admin edit appends its
event, moves the SLA clocks and rings the sockets. Everything the actions
and the SLA sweep own is read-only here; the event log and the attachments
are for reading: history is written by actions only.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from foundation.view_only_admin import ViewOnlyAdminMixin
from tickets.console.changes import apply_ticket_changes
from tickets.console.queries import agent_label
from tickets.errors import TicketError
from tickets.models import Ticket, TicketAttachment, TicketEvent
from tickets.rules import check_assignee, check_status_transition, status_choices

LIFECYCLE_FIELDS = ("status", "priority", "assignee", "department")
# Saved as typed: no action owns them and no clock depends on them.
PLAIN_FIELDS = ("subject", "contact", "organization", "requester_name", "requester_email")


def _as_text(value: Any) -> str:
    """A field value as the form posts it: a primary key for a row, '' for none."""
    if value is None:
        return ""
    return str(getattr(value, "pk", value))


class TicketAdminForm(forms.ModelForm):
    """The ticket change form; it validates and reads, `TicketAdmin.save_model` applies.

    The hidden `was_*` fields hold the values the operator saw: only a field
    the operator changed is applied, so a page opened before a colleague's
    change does not undo it (as in the console's ticket form).
    """

    was_status = forms.CharField(required=False, widget=forms.HiddenInput, max_length=20)
    was_priority = forms.CharField(required=False, widget=forms.HiddenInput, max_length=20)
    was_assignee = forms.CharField(required=False, widget=forms.HiddenInput, max_length=20)
    was_department = forms.CharField(required=False, widget=forms.HiddenInput, max_length=20)

    class Meta:
        model = Ticket
        fields = [*PLAIN_FIELDS, *LIFECYCLE_FIELDS]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ticket = self.instance
        for name in LIFECYCLE_FIELDS:
            self.initial[f"was_{name}"] = _as_text(self.initial.get(name))
        if "status" in self.fields:
            # Any status validates (clean() says why a transition is refused);
            # only those that may follow the current one are offered.
            self.fields["status"].widget.choices = status_choices(ticket)
        if "assignee" in self.fields:
            self.fields["assignee"].queryset = (
                get_user_model()
                .objects.filter(
                    Q(is_active=True, agent_profile__isnull=False) | Q(pk=ticket.assignee_id)
                )
                .order_by("first_name", "username")
            )
            self.fields["assignee"].label_from_instance = agent_label
        for name in ("assignee", "department"):
            if name in self.fields:
                # Choose one here; users and departments are edited on their own pages.
                widget = self.fields[name].widget
                widget.can_add_related = widget.can_change_related = widget.can_delete_related = (
                    False
                )
        self.lifecycle_changes: dict[str, Any] = {}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        ticket = self.instance
        changes: dict[str, Any] = {}
        for name in LIFECYCLE_FIELDS:
            if name not in self.fields:
                continue
            seen = self.data.get(self.add_prefix(f"was_{name}"))
            if seen is None:  # a client that does not send it saw the current value
                seen = _as_text(self.initial.get(name))
            if _as_text(cleaned.get(name)) != seen:
                changes[name] = cleaned.get(name)
        status = changes.get("status")
        if status is not None:
            try:
                check_status_transition(ticket.status, status)
            except TicketError:
                # Worded with the labels the operator sees in the choice.
                self.add_error(
                    "status",
                    _("A %(old)s ticket cannot become %(new)s.")
                    % {"old": ticket.get_status_display(), "new": Ticket.Status(status).label},
                )
        try:
            check_assignee(changes.get("assignee"), changes.get("department") or ticket.department)
        except TicketError as exc:
            self.add_error("assignee", exc.detail)
        self.lifecycle_changes = changes
        return cleaned


class TicketEventInline(ViewOnlyAdminMixin, admin.TabularInline):
    model = TicketEvent
    extra = 0
    fields = ("seq", "kind", "author_role", "author_user", "internal", "payload", "created_at")
    readonly_fields = fields
    ordering = ("seq",)

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("author_user")


class TicketAttachmentInline(ViewOnlyAdminMixin, admin.TabularInline):
    model = TicketAttachment
    extra = 0
    fields = ("filename", "content_type", "size", "internal", "event", "created_at")
    readonly_fields = fields


# The SLA plan and clocks: shown together, written only by the actions and the SLA sweep.
SLA_FIELDS = (
    "sla_plan",
    "first_response_due",
    "resolution_due",
    "first_responded_at",
    "solved_at",
    "paused_since",
    "first_response_warned_at",
    "first_response_breached_at",
    "resolution_warned_at",
    "resolution_breached_at",
)


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    form = TicketAdminForm
    list_display = (
        "number",
        "subject",
        "status",
        "priority",
        "channel",
        "contact",
        "department",
        "assignee",
        "resolution_due",
        "updated_at",
    )
    list_filter = ("status", "priority", "channel", "department")
    search_fields = (
        "number",
        "subject",
        "contact__name",
        "contact__emails__email",
        "requester_email",
        "requester_name",
    )
    list_select_related = ("contact", "department", "assignee")
    raw_id_fields = ("contact", "organization")
    fieldsets = (
        (None, {"fields": ("number", "subject", "channel", "conversation")}),
        (
            _("Handling (changed through the ticket actions, as in the console)"),
            {
                "fields": (
                    "status",
                    "priority",
                    "department",
                    "assignee",
                    ("was_status", "was_priority", "was_department", "was_assignee"),
                ),
            },
        ),
        (
            _("Customer"),
            {"fields": ("contact", "organization", "requester_name", "requester_email")},
        ),
        (
            _("SLA"),
            {
                "fields": SLA_FIELDS,
            },
        ),
        (None, {"fields": ("public_id", "last_seq", "reply_token", "created_at", "updated_at")}),
    )
    # The clocks are the SLA sweep's and the actions'; a new ticket comes
    # from a chat, an e-mail, the portal or the API, each through create_ticket.
    readonly_fields = (
        "number",
        "channel",
        "conversation",
        "public_id",
        "last_seq",
        "reply_token",
        *SLA_FIELDS,
        "created_at",
        "updated_at",
    )
    inlines = [TicketEventInline, TicketAttachmentInline]
    ordering = ("-created_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Ticket | None = None) -> bool:
        # No action deletes a ticket: a deleted row rings no portal, leaves its
        # files on disk and leaves the KPIs. Spam is closed; personal data goes
        # with the GDPR erasure, which keeps the anonymized ticket.
        return False

    def get_search_results(self, request, queryset, search_term):
        # An e-mail matches through a join that can repeat a ticket.
        results, _may_have_duplicates = super().get_search_results(request, queryset, search_term)
        return results, True

    def save_model(
        self, request: HttpRequest, obj: Ticket, form: TicketAdminForm, change: bool
    ) -> None:
        # Only the plain fields the operator edited are written: saving the
        # whole row would write back `last_seq` and the clocks as they were
        # read, over an event appended meanwhile.
        edited = [name for name in PLAIN_FIELDS if name in form.changed_data]
        if edited:
            obj.save(update_fields=[*edited, "updated_at"])
        try:
            apply_ticket_changes(obj, form.lifecycle_changes, by=request.user)
        except TicketError as exc:
            # A colleague's change between the form's check and this one.
            self.message_user(
                request,
                gettext("The ticket's handling was not changed: %(reason)s")
                % {"reason": exc.detail},
                messages.ERROR,
            )


@admin.register(TicketAttachment)
class TicketAttachmentAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("filename", "content_type", "size_kib", "internal", "ticket", "created_at")
    list_filter = ("internal", "content_type")
    list_select_related = ("ticket",)
    search_fields = ("filename", "=ticket__number")
    date_hierarchy = "created_at"
    # The storage name is random and private; the file is served by the
    # attachment views, which check who asks.
    exclude = ("file",)

    @admin.display(description=_("size (KiB)"), ordering="size")
    def size_kib(self, attachment: TicketAttachment) -> str:
        return f"{attachment.size / 1024:.1f}"
