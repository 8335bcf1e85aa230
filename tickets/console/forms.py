"""The console's ticket forms: reply or note, the ticket's controls, bulk changes.

Forms validate and say what is wrong in words; they change nothing. The
changes themselves go through `tickets.console.changes`, which calls the
actions in `tickets.actions` (the same functions the API and portal use).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from queues.agent_scope import AgentScope
from queues.models import Department
from tickets.actions.messages import MAX_BODY_CHARS
from tickets.console.queries import (
    ASSIGNEE_ME,
    ASSIGNEE_NONE,
    agent_label,
    agents_serving,
)
from tickets.errors import TicketError
from tickets.models import Ticket
from tickets.rules import check_assignee, status_choices

MAX_BULK_TICKETS = 100
KEEP = ""


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Reply"),
        max_length=MAX_BODY_CHARS,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": _("Write a reply or a note first.")},
    )
    internal = forms.BooleanField(label=_("Internal note"), required=False)

    def __init__(self, *args: Any, files_attached: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Files alone are a message too (a photo, a log): the text may then stay empty.
        self.fields["body"].required = not files_attached


def active_agent(username: str):
    return (
        get_user_model()
        .objects.filter(username=username, is_active=True, agent_profile__isnull=False)
        .first()
        if username
        else None
    )


class TicketUpdateForm(forms.Form):
    """Status, priority, assignee and department of one ticket.

    The hidden `was_*` fields hold what the agent saw: only a field the agent
    changed is applied, so a form rendered before a colleague's change does
    not undo it.
    """

    status = forms.ChoiceField(label=_("Status"), choices=Ticket.Status.choices)
    priority = forms.ChoiceField(label=_("Priority"), choices=Ticket.Priority.choices)
    assignee = forms.CharField(label=_("Assignee"), required=False, max_length=150)
    department = forms.ChoiceField(label=_("Department"))
    asset = forms.ChoiceField(label=_("Unit"), required=False)
    was_status = forms.CharField(required=False, widget=forms.HiddenInput, max_length=20)
    was_priority = forms.CharField(required=False, widget=forms.HiddenInput, max_length=20)
    was_assignee = forms.CharField(required=False, widget=forms.HiddenInput, max_length=150)
    was_department = forms.CharField(required=False, widget=forms.HiddenInput, max_length=50)
    was_asset = forms.CharField(required=False, widget=forms.HiddenInput, max_length=100)

    def __init__(
        self,
        *args: Any,
        ticket: Ticket,
        department_choices: list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        current = {
            "status": ticket.status,
            "priority": ticket.priority,
            "assignee": ticket.assignee.get_username() if ticket.assignee is not None else "",
            "department": ticket.department.slug,
            "asset": ticket.asset.serial_number if ticket.asset_id else "",
        }
        kwargs.setdefault("initial", {**current, **{f"was_{k}": v for k, v in current.items()}})
        super().__init__(*args, **kwargs)
        self.ticket = ticket
        # Any status validates (the action decides what may follow what, so a
        # form rendered before a colleague's change still submits); only the
        # ones that may follow the current status are offered.
        self.fields["status"].choices = Ticket.Status.choices
        self.fields["status"].widget.choices = status_choices(ticket)
        agents = list(agents_serving({ticket.department_id}))
        if ticket.assignee is not None and ticket.assignee not in agents:
            agents.insert(0, ticket.assignee)
        self.fields["assignee"].widget = forms.Select(
            choices=[("", _("Unassigned")), *[(a.get_username(), agent_label(a)) for a in agents]]
        )
        if department_choices is None:
            department_choices = list(
                Department.objects.order_by("name").values_list("slug", "name")
            )
        self.fields["department"].choices = department_choices
        # Only the customer's units (the action checks again); the current one stays listed.
        self.fields["asset"].choices = [("", _("No unit named")), *asset_choices(ticket)]

    def clean_assignee(self) -> Any:
        username = self.cleaned_data.get("assignee") or ""
        if not username:
            return None
        agent = active_agent(username)
        if agent is None:
            raise ValidationError(_("There is no active agent with that name."))
        return agent

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        changes: dict[str, Any] = {}
        for name in ("status", "priority"):
            if cleaned[name] != cleaned.get(f"was_{name}"):
                changes[name] = cleaned[name]
        department = Department.objects.get(slug=cleaned["department"])
        if cleaned["department"] != cleaned.get("was_department"):
            changes["department"] = department
        if (cleaned.get("asset") or "") != (cleaned.get("was_asset") or ""):
            changes["asset"] = cleaned.get("asset") or None
        assignee = cleaned.get("assignee")
        if (assignee.get_username() if assignee else "") != (cleaned.get("was_assignee") or ""):
            changes["assignee"] = assignee
        if not changes:
            raise ValidationError(_("Nothing to change: pick a new value first."))
        try:
            check_assignee(assignee, changes.get("department", self.ticket.department))
        except TicketError as exc:
            self.add_error("assignee", exc.detail)
        cleaned["changes"] = changes
        return cleaned


def asset_choices(ticket: Ticket) -> list[tuple[str, str]]:
    """The units a ticket may name: its contact's and their organization's."""
    from crm.models import Asset

    if ticket.contact_id is None:
        return []
    owned = Q(contact_id=ticket.contact_id)
    if ticket.contact.organization_id is not None:
        owned |= Q(organization_id=ticket.contact.organization_id)
    assets = Asset.objects.filter(owned).select_related("product").order_by("serial_number")
    return [(a.serial_number, f"{a.serial_number} — {a.product.name}") for a in assets]


class BulkActionForm(forms.Form):
    """The same changes for several tickets; each ticket is authorized on its own."""

    status = forms.ChoiceField(label=_("Set status"), required=False)
    priority = forms.ChoiceField(label=_("Set priority"), required=False)
    assignee = forms.ChoiceField(label=_("Set assignee"), required=False)

    def __init__(self, *args: Any, scope: AgentScope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        keep = (KEEP, _("(keep)"))
        self.fields["status"].choices = [keep, *Ticket.Status.choices]
        self.fields["priority"].choices = [keep, *Ticket.Priority.choices]
        agents = agents_serving(None if scope.is_supervisor else scope.department_ids)
        self.fields["assignee"].choices = [
            keep,
            (ASSIGNEE_ME, _("Me")),
            (ASSIGNEE_NONE, _("Unassigned")),
            *[(agent.get_username(), agent_label(agent)) for agent in agents],
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if not any(cleaned.get(name) for name in ("status", "priority", "assignee")):
            raise ValidationError(_("Choose a status, a priority or an assignee to set."))
        return cleaned


def selected_numbers(raw: list[str]) -> list[str]:
    """The ticket numbers a bulk form sent, de-duplicated, in order; at most MAX_BULK_TICKETS."""
    seen: list[str] = []
    for value in raw:
        value = str(value).strip().upper()[:20]
        if value and value not in seen:
            seen.append(value)
    if len(seen) > MAX_BULK_TICKETS:
        raise ValidationError(_("Select at most %(n)s tickets at once.") % {"n": MAX_BULK_TICKETS})
    return seen
