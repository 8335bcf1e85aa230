"""tickets' part of a contact's GDPR export and erasure (registered in TicketsConfig.ready).

Export: the contact's tickets with their events (notes marked internal) and
attachments' metadata. Erase: subjects, requester name and address, every
body and transcript line redacted, attachment files deleted. Numbers,
statuses, priorities, departments, SLA times and events' kinds and times
stay, so ticket KPIs do not change.
"""

from __future__ import annotations

from typing import Any

from crm.gdpr import REDACTED, attachment_record, event_record, iso, redact_payload
from crm.models import Contact
from tickets.models import Ticket, TicketAttachment, TicketEvent


def export_tickets(contact: Contact) -> list[dict[str, Any]]:
    tickets = list(
        Ticket.objects.filter(contact=contact).select_related("department").order_by("created_at")
    )
    ids = [t.pk for t in tickets]
    events: dict[int, list[dict[str, Any]]] = {}
    for event in TicketEvent.objects.filter(ticket_id__in=ids).order_by("ticket", "seq"):
        events.setdefault(event.ticket_id, []).append(event_record(event))
    attachments: dict[int, list[dict[str, Any]]] = {}
    for attachment in TicketAttachment.objects.filter(ticket_id__in=ids).order_by(
        "created_at", "pk"
    ):
        attachments.setdefault(attachment.ticket_id, []).append(attachment_record(attachment))
    return [
        {
            "number": t.number,
            "subject": t.subject,
            "status": t.status,
            "priority": t.priority,
            "channel": t.channel,
            "department": t.department.slug,
            "requester_name": t.requester_name,
            "requester_email": t.requester_email,
            "created_at": iso(t.created_at),
            "solved_at": iso(t.solved_at),
            "events": events.get(t.pk, []),
            "attachments": attachments.get(t.pk, []),
        }
        for t in tickets
    ]


def erase_tickets(contact: Contact) -> dict[str, int]:
    ids = list(Ticket.objects.filter(contact=contact).values_list("pk", flat=True))
    cleared = (
        Ticket.objects.filter(pk__in=ids)
        .exclude(subject=REDACTED, requester_name="", requester_email="")
        .update(subject=REDACTED, requester_name="", requester_email="")
    )
    redacted_events = 0
    for event in TicketEvent.objects.filter(ticket_id__in=ids).only("pk", "payload", "author_role"):
        payload = redact_payload(event.payload, author_role=event.author_role)
        if payload != event.payload:
            TicketEvent.objects.filter(pk=event.pk).update(payload=payload)
            redacted_events += 1
    files = 0
    for attachment in TicketAttachment.objects.filter(ticket_id__in=ids).exclude(filename=REDACTED):
        if attachment.file:
            attachment.file.delete(save=False)
        attachment.filename = REDACTED
        attachment.save(update_fields=["file", "filename"])
        files += 1
    return {
        "tickets_cleared": cleared,
        "events_redacted": redacted_events,
        "attachments_erased": files,
    }
