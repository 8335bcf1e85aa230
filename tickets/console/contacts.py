"""Linking an unidentified ticket to a contact from its console page.

The "Customer" card of an unknown sender carries the "Link to customer"
lookup and the "Create contact from this ticket" form (`_link_contact.html`,
shared with the chat's CRM panel). Both post here; the answer is the card
again, now with the record. Colleagues with the ticket open see the link in
the timeline push, and their card reloads (console_tickets.js compares the
header's `data-contact` with the card's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_POST

from crm.record import contact_by_public_id
from tickets.access import access_ticket_for_agent
from tickets.actions.contacts import check_link_ticket, prefill_of
from tickets.console.access import agent_required
from tickets.console.rendering import crm_summary
from tickets.errors import TicketError, TicketNotFound
from tickets.models import Ticket


@dataclass(frozen=True)
class LinkTarget:
    """Where a link control posts, and what its answer replaces."""

    key: str  # unique in the page, for element ids
    post_url: str
    lookup_url: str
    swap_target: str
    swap: str


def ticket_link_target(ticket: Ticket) -> LinkTarget:
    return LinkTarget(
        key=ticket.number,
        post_url=reverse("console_ticket_contact", args=[ticket.number]),
        lookup_url=reverse("console_contact_lookup") + f"?ticket={ticket.number}",
        swap_target="#ticket-crm",
        swap="outerHTML",
    )


def link_form_data(post: Any) -> tuple[str | None, dict[str, str]]:
    """(contact public id or None, prefill) from a link form's POST."""
    prefill = {name: str(post.get(name, ""))[:254] for name in ("name", "email", "phone")}
    return (post.get("contact") or None), prefill


def crm_card_context(ticket: Ticket, *, link_error: str = "") -> dict[str, Any]:
    return {
        "ticket": ticket,
        "crm": crm_summary(ticket),
        "link": ticket_link_target(ticket),
        "prefill": prefill_of(ticket),
        "link_error": link_error,
        "create_label": _("Create contact from this ticket"),
    }


def _load(request: HttpRequest, number: str) -> Ticket | None:
    try:
        return access_ticket_for_agent(request.user, number, scope=request.agent_scope)  # type: ignore[attr-defined]
    except TicketNotFound:
        return None


@require_GET
@never_cache
@agent_required
def ticket_crm(request: HttpRequest, number: str) -> HttpResponse:
    """The ticket's "Customer" card alone (reloaded when a colleague links the ticket)."""
    ticket = _load(request, number)
    if ticket is None:
        return render(request, "tickets/console/not_found.html", status=404)
    return render(request, "tickets/console/_crm_summary.html", crm_card_context(ticket))


@require_POST
@csrf_protect
@agent_required
def ticket_link_contact(request: HttpRequest, number: str) -> HttpResponse:
    ticket = _load(request, number)
    if ticket is None:
        return render(request, "tickets/console/not_found.html", status=404)
    contact_id, prefill = link_form_data(request.POST)
    contact = None
    error = ""
    if contact_id is not None:
        contact = contact_by_public_id(contact_id)
        if contact is None:
            error = _("This contact does not exist.")
    if not error:
        try:
            check_link_ticket(
                request.user,
                ticket.number,
                contact=contact,
                prefill=prefill if contact is None else None,
                scope=request.agent_scope,  # type: ignore[attr-defined]
            )
        except TicketError as exc:
            error = exc.detail
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect("console_ticket", number=ticket.number)
    fresh = _load(request, ticket.number) or ticket
    return render(
        request,
        "tickets/console/_crm_summary.html",
        crm_card_context(fresh, link_error=error),
        status=400 if error else 200,
    )
