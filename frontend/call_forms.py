"""The console's call forms: log a call by hand, a new contact from a pop, a ticket from a call."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.actions import MAX_CALL_DURATION_S, MAX_NOTE_LENGTH
from crm.lookup import InvalidEmail, normalize_email
from crm.models import Asset, CallRecord
from crm.phones import InvalidPhoneNumber, normalize_phone
from queues.agent_scope import AgentScope
from queues.models import Department
from tickets.models import Ticket


class LogCallForm(forms.Form):
    """A call the PBX did not report (no integration): the contact is found by number."""

    phone = forms.CharField(label=_("Phone"), max_length=40)
    direction = forms.ChoiceField(
        label=_("Direction"), choices=CallRecord.Direction.choices, initial="inbound"
    )
    duration_min = forms.IntegerField(
        label=_("Duration (minutes)"),
        required=False,
        min_value=0,
        max_value=MAX_CALL_DURATION_S // 60,
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class NewContactForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    email = forms.CharField(label=_("E-mail"), max_length=254, required=False)
    organization = forms.CharField(label=_("Organization"), max_length=200, required=False)

    def clean_phone(self) -> str:
        raw = self.cleaned_data.get("phone") or ""
        if not raw.strip():
            return ""
        try:
            return normalize_phone(raw)
        except InvalidPhoneNumber:
            raise ValidationError(_("This is not a valid phone number.")) from None

    def clean_email(self) -> str:
        raw = self.cleaned_data.get("email") or ""
        if not raw.strip():
            return ""
        try:
            return normalize_email(raw)
        except InvalidEmail:
            raise ValidationError(_("This is not an e-mail address.")) from None


class CallTicketForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=300, required=False)
    body = forms.CharField(
        label=_("Description"),
        max_length=10_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    department = forms.ChoiceField(label=_("Department"))
    priority = forms.ChoiceField(
        label=_("Priority"), choices=Ticket.Priority.choices, initial=Ticket.Priority.NORMAL
    )
    asset = forms.ChoiceField(label=_("Unit"), required=False)

    def __init__(self, *args: Any, call: CallRecord, scope: AgentScope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        departments = Department.objects.order_by("name")
        if not scope.is_supervisor:
            departments = departments.filter(pk__in=scope.department_ids)
        self.fields["department"].choices = list(departments.values_list("slug", "name"))
        if call.department:
            self.fields["department"].initial = call.department
        # Only the caller's units (and their organization's); the action checks again.
        self.fields["asset"].choices = [("", _("No unit named")), *caller_assets(call)]


def caller_assets(call: CallRecord) -> list[tuple[str, str]]:
    contact = call.contact
    if contact is None:
        return []
    owned = Q(contact=contact)
    if contact.organization_id is not None:
        owned |= Q(organization_id=contact.organization_id)
    assets = Asset.objects.filter(owned).select_related("product").order_by("serial_number")
    return [(a.serial_number, f"{a.serial_number} — {a.product.name}") for a in assets]
