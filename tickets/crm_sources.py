"""What tickets add to the CRM record: open tickets in the lookup, tickets on the timeline."""

from __future__ import annotations

from crm.lookup import OpenTicketSummary
from crm.models import Contact
from crm.timeline import TimelineEntry
from tickets.models import Ticket, internal_status_label, subject_for_display

OPEN_TICKETS_LIMIT = 50


def open_tickets(contact: Contact) -> list[OpenTicketSummary]:
    rows = (
        Ticket.objects.filter(contact=contact, status__in=Ticket.OPEN_STATUSES)
        .order_by("-updated_at")
        .values_list("number", "subject", "status", "priority", "created_at", "updated_at")[
            :OPEN_TICKETS_LIMIT
        ]
    )
    return [OpenTicketSummary(*row) for row in rows]


def timeline_entries(contact: Contact, limit: int) -> list[TimelineEntry]:
    rows = (
        Ticket.objects.filter(contact=contact)
        .order_by("-created_at")
        .values_list("number", "subject", "status", "channel", "requester_name", "created_at")[
            :limit
        ]
    )
    return [
        TimelineEntry(
            kind="ticket",
            at=created_at,
            title=f"{number} {subject_for_display(subject, channel=channel, requester_name=name)}",
            summary=f"{internal_status_label(status)} · {channel}",
            ref=number,
        )
        for number, subject, status, channel, name, created_at in rows
    ]
