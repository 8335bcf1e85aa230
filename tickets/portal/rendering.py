"""What a customer sees of a ticket, for the portal's pages and its socket alike.

The pages (`tickets.portal.views`) and the socket (`tickets.portal.consumers`)
render through `ticket_context` and the same template partials, so a pushed
fragment (`render_ticket_fragment`) is exactly what a reload shows.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from tickets.attachments import attachments_of, refused_attachments_of, with_paths
from tickets.models import (
    Ticket,
    TicketEvent,
    call_line,
    customer_status_label,
    message_text_for_display,
)

TIMELINE_LIMIT = 500
# What a customer's timeline shows: public replies, the opening message and
# status changes. Notes, SLA clocks, assignments and the raw chat transcript
# (which holds agents' internal notes) never reach the portal.
PUBLIC_KINDS = (TicketEvent.Kind.CREATED, TicketEvent.Kind.REPLY, TicketEvent.Kind.STATUS)


def public_timeline(ticket: Ticket) -> list[dict[str, Any]]:
    # values(): a push re-renders the whole timeline, and model instances
    # cost more than the query here.
    rows = (
        TicketEvent.objects.filter(ticket=ticket, internal=False, kind__in=PUBLIC_KINDS)
        .order_by("-seq")
        .values(
            "seq",
            "kind",
            "payload",
            "author_role",
            "created_at",
            "author_user__first_name",
            "author_contact__name",
        )[:TIMELINE_LIMIT]
    )
    return list(reversed(rows))


def timeline_entries(ticket: Ticket) -> list[dict[str, Any]]:
    entries = []
    support = str(_("Support"))
    for event in public_timeline(ticket):
        payload = event["payload"] if isinstance(event["payload"], dict) else {}
        kind = event["kind"]
        if event["author_role"] == TicketEvent.Role.AGENT:
            # Agents show by first name only, never their username or e-mail.
            author = event["author_user__first_name"] or support
        elif event["author_role"] == TicketEvent.Role.CUSTOMER:
            author = event["author_contact__name"] or str(_("You"))
        else:
            author = support
        entry: dict[str, Any] = {
            "seq": event["seq"],
            "kind": kind,
            "author": author,
            "from_customer": event["author_role"] == TicketEvent.Role.CUSTOMER,
            "created_at": event["created_at"],
            "body": "",
        }
        if kind == TicketEvent.Kind.STATUS:
            old_label = customer_status_label(str(payload.get("old", "")))
            new_label = customer_status_label(str(payload.get("new", "")))
            # new -> open reads "We're working on it" twice: not news to a customer.
            if old_label == new_label:
                continue
            entry["status_label"] = new_label
        else:
            entry["body"] = message_text_for_display(payload, kind=kind, channel=ticket.channel)
            entry["refused_attachments"] = refused_attachments_of(payload)
            if kind == TicketEvent.Kind.CREATED:
                # The call it came from (when, how long; never the agent's note) and the unit.
                entry["call"] = call_line(payload)
                asset = payload.get("asset")
                entry["asset"] = asset if isinstance(asset, dict) else None
            # Links relative to this server, whatever CHATPORTAL_PUBLIC_URL says.
            entry["attachments"] = [
                with_paths(item, ticket.number)
                for item in attachments_of(payload)
                if _is_uuid(item.get("id"))
            ]
        entries.append(entry)
    return entries


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def ticket_context(ticket: Ticket, *, with_timeline: bool) -> dict[str, Any]:
    context: dict[str, Any] = {
        "ticket": ticket,
        "status_label": customer_status_label(ticket.status),
        "updated_iso": ticket.updated_at.isoformat(),
    }
    if with_timeline:
        context["timeline"] = timeline_entries(ticket)
        # The clock a customer cares about: the first answer, then the resolution.
        # Paused (pending on them) or done, there is no promise to show.
        if ticket.status in (Ticket.Status.NEW, Ticket.Status.OPEN, Ticket.Status.ON_HOLD):
            context["due"] = (
                ticket.resolution_due if ticket.first_responded_at else ticket.first_response_due
            )
    return context


def render_ticket_fragment(ticket: Ticket, *, view: str) -> str:
    """The out-of-band fragment for one ticket: its row ("list") or its page section ("ticket")."""
    if view == "ticket":
        return render_to_string(
            "tickets/portal/ticket_detail.html#ticket", ticket_context(ticket, with_timeline=True)
        )
    return render_to_string(
        "tickets/portal/ticket_list.html#row", ticket_context(ticket, with_timeline=False)
    )
