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

from chat.models import ConversationEvent
from crm.gdpr import REDACTED
from tickets.attachments import attachments_of, refused_attachments_of, with_paths
from tickets.models import (
    Ticket,
    TicketEvent,
    call_line,
    customer_status_label,
    message_text_for_display,
)

TIMELINE_LIMIT = 500
CHAT_LIMIT = 500

# The progress tracker: four steps a customer understands, from the six statuses.
PROGRESS_STEPS = (
    ("received", _("Received")),
    ("working", _("We're working on it")),
    ("waiting", _("Waiting for you")),
    ("solved", _("Solved")),
)
STEP_OF_STATUS = {
    Ticket.Status.NEW: "received",
    Ticket.Status.OPEN: "working",
    Ticket.Status.ON_HOLD: "working",
    Ticket.Status.PENDING: "waiting",
    Ticket.Status.SOLVED: "solved",
    Ticket.Status.CLOSED: "solved",
}
# What the list's status filter offers: the tracker's steps.
STATUSES_OF_STEP = {
    step: tuple(status for status, of in STEP_OF_STATUS.items() if of == step)
    for step, _label in PROGRESS_STEPS
}


def progress_step(status: str) -> str:
    return STEP_OF_STATUS.get(status, "received")


def progress(status: str) -> list[dict[str, Any]]:
    """The tracker's steps: done, current (exactly one) or still to come."""
    current = progress_step(status)
    index = [key for key, _label in PROGRESS_STEPS].index(current)
    return [
        {
            "key": key,
            "label": label,
            "state": "done" if i < index else "current" if i == index else "todo",
        }
        for i, (key, label) in enumerate(PROGRESS_STEPS)
    ]


# What a customer's timeline shows: public replies, the opening message and
# status changes. Notes, SLA clocks, assignments and the raw chat transcript
# (which holds agents' internal notes) never reach the portal; the chat a
# ticket came from is read from its own log instead, public messages only
# (`chat_entries`).
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


def chat_entries(ticket: Ticket) -> list[dict[str, Any]]:
    """The visible part of the chat the ticket came from: visitor and agent messages.

    Internal notes, system lines and every other event kind stay out (they
    are the agents'); the query asks only for public messages of those two roles.
    """
    if ticket.conversation_id is None:
        return []
    rows = (
        ConversationEvent.objects.filter(
            conversation_id=ticket.conversation_id,
            kind=ConversationEvent.Kind.MESSAGE,
            internal=False,
            author_role__in=(ConversationEvent.Role.VISITOR, ConversationEvent.Role.AGENT),
        )
        .order_by("seq")
        .values_list("seq", "author_role", "payload", "created_at")[:CHAT_LIMIT]
    )
    support = str(_("Support"))
    entries = []
    for seq, role, payload, created_at in rows:
        data = payload if isinstance(payload, dict) else {}
        body = data.get("body")
        if not isinstance(body, str) or not body:
            continue
        if body == REDACTED:
            body = str(_("[erased]"))
        author = data.get("author")
        name = author.get("name") if isinstance(author, dict) else None
        name = name if isinstance(name, str) else ""
        from_customer = role == ConversationEvent.Role.VISITOR
        # Agents show by first name only, as everywhere in the portal.
        shown = (name or str(_("You"))) if from_customer else (name.split() or [support])[0]
        entries.append(
            {
                "seq": f"chat-{seq}",
                "kind": "chat",
                "author": shown,
                "from_customer": from_customer,
                "created_at": created_at,
                "body": body,
            }
        )
    return entries


def thread_entries(ticket: Ticket) -> list[dict[str, Any]]:
    """The whole conversation: the chat it came from, then the ticket's public timeline.

    A chat's ticket opens with the visitor's first chat message, which the
    chat lines already show: that entry keeps only what the chat lines lack
    (files, the unit).
    """
    chat = chat_entries(ticket)
    entries = timeline_entries(ticket)
    if chat:
        for entry in entries:
            if entry["kind"] == TicketEvent.Kind.CREATED:
                entry["body"] = ""
                entry["from_chat"] = True
                break
    return chat + entries


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def ticket_context(
    ticket: Ticket, *, with_timeline: bool, viewer_contact_id: int | None = None
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "ticket": ticket,
        # An organization admin's list names who asked; one's own tickets need no name.
        "requester": (
            ticket.contact.name
            if ticket.contact_id is not None and ticket.contact_id != viewer_contact_id
            else ""
        ),
        "status_label": customer_status_label(ticket.status),
        "step": progress_step(ticket.status),
        "updated_iso": ticket.updated_at.isoformat(),
    }
    if with_timeline:
        context["progress"] = progress(ticket.status)
        context["timeline"] = thread_entries(ticket)
        # The clock a customer cares about: the first answer, then the resolution.
        # Paused (pending on them) or done, there is no promise to show.
        if ticket.status in (Ticket.Status.NEW, Ticket.Status.OPEN, Ticket.Status.ON_HOLD):
            context["due"] = (
                ticket.resolution_due if ticket.first_responded_at else ticket.first_response_due
            )
    return context


def render_ticket_fragment(
    ticket: Ticket, *, view: str, viewer_contact_id: int | None = None
) -> str:
    """The out-of-band fragment for one ticket: its row ("list") or its page section ("ticket").

    The page section holds the progress tracker, so a status change moves it.
    """
    if view == "ticket":
        return render_to_string(
            "tickets/portal/ticket_detail.html#ticket", ticket_context(ticket, with_timeline=True)
        )
    return render_to_string(
        "tickets/portal/ticket_list.html#row",
        ticket_context(ticket, with_timeline=False, viewer_contact_id=viewer_contact_id),
    )
