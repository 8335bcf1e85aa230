"""Mail the outbox gave up on, told to the ticket's agents (called by `tickets.email.sending`)."""

from __future__ import annotations

from django.db import transaction

from tickets.actions.log import append_event, locked_ticket
from tickets.models import OutboundEmail, TicketEvent

Kind = TicketEvent.Kind


def record_undelivered_email(outbound: OutboundEmail) -> TicketEvent | None:
    """Tell the ticket's agents that the outbox gave up on one of its mails (internal)."""
    if outbound.ticket_id is None:
        return None
    with transaction.atomic():
        ticket = locked_ticket(outbound.ticket)
        event = append_event(
            ticket,
            kind=Kind.EMAIL_FAILED,
            internal=True,
            payload={
                # Keys that a GDPR erasure redacts (crm.gdpr.REDACTED_KEYS).
                "email": ", ".join(outbound.to),
                "subject": outbound.subject,
                "mail_kind": outbound.kind,
                "event_seq": outbound.event.seq if outbound.event_id else None,
                "attempts": outbound.attempts,
                "error": outbound.last_error[:300],
            },
        )
    return event
