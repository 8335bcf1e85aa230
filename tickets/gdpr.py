"""tickets' part of a contact's GDPR export and erasure (registered in TicketsConfig.ready).

Export: the contact's tickets with their events (notes marked internal) and
attachments' metadata and the customer's rating. Erase: subjects, requester name
and address, the rating's comment (the score stays, like other figures), every
body and transcript line redacted, attachment files deleted. Numbers,
statuses, priorities, departments, SLA times and events' kinds and times
stay, so ticket KPIs do not change.
"""

from __future__ import annotations

from typing import Any

from crm.gdpr import REDACTED, attachment_record, event_record, iso, redact_payload
from crm.models import Contact
from tickets.models import OutboundEmail, Ticket, TicketAttachment, TicketEvent


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
            "rating_score": t.rating_score,
            "rating_comment": t.rating_comment,
            "rated_at": iso(t.rated_at),
            "events": events.get(t.pk, []),
            "attachments": attachments.get(t.pk, []),
        }
        for t in tickets
    ]


def erase_tickets(contact: Contact) -> dict[str, int]:
    ids = list(Ticket.objects.filter(contact=contact).values_list("pk", flat=True))
    cleared = (
        Ticket.objects.filter(pk__in=ids)
        .exclude(subject=REDACTED, requester_name="", requester_email="", rating_comment="")
        .update(subject=REDACTED, requester_name="", requester_email="", rating_comment="")
    )
    redacted_events = 0
    for event in TicketEvent.objects.filter(ticket_id__in=ids).only(
        "pk", "kind", "payload", "author_role"
    ):
        payload = redact_payload(event.payload, author_role=event.author_role)
        if (
            event.kind == TicketEvent.Kind.EMAIL_FAILED
            and isinstance(payload, dict)
            and payload.get("error")
        ):
            payload["error"] = REDACTED  # the relay's answer may name the address
        if payload != event.payload:
            TicketEvent.objects.filter(pk=event.pk).update(payload=payload)
            redacted_events += 1
    files = 0
    for attachment in TicketAttachment.objects.filter(ticket_id__in=ids).exclude(filename=REDACTED):
        if attachment.file:
            attachment.file.delete(save=False)
        if attachment.thumbnail:
            attachment.thumbnail.delete(save=False)
        attachment.filename = REDACTED
        attachment.save(update_fields=["file", "thumbnail", "filename"])
        files += 1
    return {
        "mails_erased": _erase_mail(contact, ids),
        "tickets_cleared": cleared,
        "events_redacted": redacted_events,
        "attachments_erased": files,
    }


def _erase_mail(contact: Contact, ticket_ids: list[int]) -> int:
    """The outbox's copies of the person's mail, sent or not, and their pending sign-in links."""
    erased, _kinds = OutboundEmail.objects.filter(ticket_id__in=ticket_ids).delete()
    addresses = {address.lower() for address in contact.emails.values_list("email", flat=True)}
    if contact.portal_user is not None and contact.portal_user.email:
        addresses.add(contact.portal_user.email.lower())
    # Only pending sign-in requests still hold an address (tickets.email.sending clears it).
    links = OutboundEmail.objects.filter(kind=OutboundEmail.Kind.SIGN_IN_LINK).exclude(to=[])
    stale = [
        row.pk for row in links.only("pk", "to") if addresses & {str(a).lower() for a in row.to}
    ]
    erased += OutboundEmail.objects.filter(pk__in=stale).delete()[0]
    return erased
