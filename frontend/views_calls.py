"""The console's phone desk: a call's pop, a new contact from it, a ticket from it, logging calls.

Thin views: `chat.access.access_call_for_agent` decides whose a call is,
the forms validate, the actions (`chat.actions.calls`, `crm.actions`,
`tickets.actions.calls`) change. The pop is one fragment (`_call_pop.html`):
console.js swaps it in when a `call` frame arrives, and the same view serves
it as a page without JavaScript.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from chat.access import access_call_for_agent
from chat.actions.calls import identify_caller, report_call
from chat.errors import NotFound
from crm.actions import ContactConflict, create_contact
from crm.models import CallRecord
from crm.phones import format_phone_international
from crm.record import contact_record
from crm.timeline import contact_timeline
from frontend.call_forms import CallTicketForm, LogCallForm, NewContactForm
from queues.models import Department
from tickets.actions.calls import ticket_from_call
from tickets.console.access import agent_required
from tickets.errors import TicketError
from tickets.models import Ticket

TIMELINE_LIMIT = 10
RECENT_CALLS = 30


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "frontend/console_panel_error.html",
        {"message": _("This call does not exist.")},
        status=404,
    )


def _pop_context(request: HttpRequest, call: CallRecord, **forms: Any) -> dict[str, Any]:
    contact = call.contact
    ticket = Ticket.objects.filter(call=call).only("number", "subject", "channel").first()
    initial_phone = call.phone if call.phone.startswith("+") else ""
    return {
        "call": call,
        "phone_display": format_phone_international(call.phone),
        "record": contact_record(contact) if contact is not None else None,
        "timeline": contact_timeline(contact, limit=TIMELINE_LIMIT) if contact else [],
        "ticket": ticket,
        "contact_form": forms.get("contact_form")
        or NewContactForm(initial={"phone": initial_phone}),
        "ticket_form": forms.get("ticket_form")
        or CallTicketForm(call=call, scope=request.agent_scope),  # type: ignore[attr-defined]
    }


def _render_pop(request: HttpRequest, call: CallRecord, status: int = 200, **forms: Any):
    context = _pop_context(request, call, **forms)
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "frontend/_call_pop.html", context, status=status)
    return render(
        request,
        "frontend/console_call.html",
        {**context, "console_section": "calls"},
        status=status,
    )


def _call_or_none(request: HttpRequest, call_id: str) -> CallRecord | None:
    try:
        return access_call_for_agent(request.user, call_id, scope=request.agent_scope)  # type: ignore[attr-defined]
    except NotFound:
        return None


@require_http_methods(["GET"])
@agent_required
def console_call(request: HttpRequest, call_id: str) -> HttpResponse:
    call = _call_or_none(request, call_id)
    if call is None:
        return _not_found(request)
    return _render_pop(request, call)


@require_POST
@csrf_protect
@agent_required
def console_call_contact(request: HttpRequest, call_id: str) -> HttpResponse:
    """An unknown caller becomes a new contact, and the call is theirs."""
    call = _call_or_none(request, call_id)
    if call is None:
        return _not_found(request)
    form = NewContactForm(request.POST)
    if call.contact_id is None and form.is_valid():
        data = form.cleaned_data
        try:
            contact = create_contact(
                name=data["name"],
                phone=data["phone"],
                email=data["email"],
                organization_name=data["organization"],
            )
        except ContactConflict:
            form.add_error("email", _("This e-mail address belongs to another contact."))
        except ValueError:
            form.add_error(None, _("The contact could not be created."))
        else:
            identify_caller(call, contact)
            call = _call_or_none(request, call_id) or call
            if not request.htmx:  # type: ignore[attr-defined]
                return redirect("console_call", call_id=call.public_id)
            return _render_pop(request, call)
    return _render_pop(request, call, status=400 if form.errors else 200, contact_form=form)


@require_POST
@csrf_protect
@agent_required
def console_call_ticket(request: HttpRequest, call_id: str) -> HttpResponse:
    call = _call_or_none(request, call_id)
    if call is None:
        return _not_found(request)
    form = CallTicketForm(request.POST, call=call, scope=request.agent_scope)  # type: ignore[attr-defined]
    if form.is_valid():
        data = form.cleaned_data
        try:
            ticket_from_call(
                call,
                by=request.user,
                department=Department.objects.get(slug=data["department"]),
                subject=data["subject"],
                body=data["body"],
                priority=data["priority"],
                asset_serial=data["asset"] or "",
            )
        except TicketError as exc:
            form.add_error(None, exc.detail)
        else:
            if not request.htmx:  # type: ignore[attr-defined]
                return redirect("console_call", call_id=call.public_id)
            return _render_pop(request, call)
    return _render_pop(request, call, status=400, ticket_form=form)


@require_http_methods(["GET", "POST"])
@csrf_protect
@agent_required
def console_calls(request: HttpRequest) -> HttpResponse:
    """Recent calls, and "Log a call" for a PBX without integration."""
    form = LogCallForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        minutes = data.get("duration_min")
        try:
            reported = report_call(
                phone=data["phone"],
                direction=data["direction"],
                duration_s=minutes * 60 if minutes is not None else None,
                agent=request.user,
                note=data["note"] or "",
            )
        except ValueError:
            form.add_error("phone", _("This is not a phone number we can keep."))
        else:
            return redirect("console_call", call_id=reported.recorded.call.public_id)
    calls = CallRecord.objects.select_related("contact", "agent").order_by("-started_at")
    scope = request.agent_scope  # type: ignore[attr-defined]
    if not scope.is_supervisor:
        slugs = list(
            Department.objects.filter(pk__in=scope.department_ids).values_list("slug", flat=True)
        )
        calls = calls.filter(department__in=[*slugs, ""])
    return render(
        request,
        "frontend/console_calls.html",
        {
            "console_section": "calls",
            "form": form,
            "calls": list(calls[:RECENT_CALLS]),
            "log_url": reverse("console_calls"),
        },
        status=400 if form.errors else 200,
    )
