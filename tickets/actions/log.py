"""The ticket's event log: the one writer of `TicketEvent` rows, and the doorbell.

`append_event` takes the next gapless `seq` (and applies the action's field
changes) in one UPDATE, inserts the event, rings `ticket.changed` for the
ticket's audiences after the commit (`_ring`, the one place tickets
publish) and puts the customer's mail for the event in the outbox
(`tickets.notifications.outbox.notify_customer_on_commit`; `tickets.notifications.outbound`
decides whether the event is worth a mail). Every action appends through it, inside its own transaction.

Also here, for every action: who the acting user is on the log
(`role_of`, `contact_of`), and the ticket row re-read under a lock
(`locked_ticket`), its fields copied back to the caller's object after
(`sync_ticket`), and a department's hours read afresh for the SLA and
business-hours rules (`department_with_hours`).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from crm.models import Contact
from crm.record import contact_reference, organization_reference
from foundation.event_seq import next_seq
from foundation.realtime import publish_on_commit
from foundation.webhooks import enqueue_webhook
from queues.models import Department
from tickets import events
from tickets.models import Ticket, TicketEvent
from tickets.notifications.outbox import notify_customer_on_commit

Role = TicketEvent.Role


def _author_name(user: AbstractBaseUser | None, contact: Contact | None) -> str | None:
    if user is not None:
        return user.get_full_name() or user.get_username()
    if contact is not None:
        return contact.name
    return None


def append_event(
    ticket: Ticket,
    *,
    kind: str,
    payload: dict[str, Any],
    author_role: str = Role.SYSTEM,
    author_user: AbstractBaseUser | None = None,
    author_contact: Contact | None = None,
    internal: bool = False,
    fields: dict[str, Any] | None = None,
) -> TicketEvent:
    """Take the next seq (and apply `fields`) in one UPDATE, insert the event, ring."""
    now = timezone.now()
    seq = next_seq(Ticket, ticket.pk, updates={"updated_at": now, **(fields or {})})
    if seq is None:
        raise Ticket.DoesNotExist(f"ticket {ticket.pk} is gone")
    for name, value in (fields or {}).items():
        setattr(ticket, name, value)
    ticket.last_seq = seq
    ticket.updated_at = now
    payload = {**payload, "author": _author_name(author_user, author_contact)}
    event = TicketEvent.objects.create(
        ticket=ticket,
        seq=seq,
        kind=kind,
        payload=payload,
        author_role=author_role,
        author_user=author_user,
        author_contact=author_contact,
        internal=internal,
    )
    _ring(ticket, seq)
    # The customer hears of public replies and status changes by e-mail too
    # (tickets.notifications.outbound decides which events qualify; the outbox sends after commit).
    notify_customer_on_commit(ticket, event)
    # The company's other systems hear of it too (integrations' outbox, same transaction).
    webhook = "ticket.created" if kind == TicketEvent.Kind.CREATED else "ticket.updated"
    enqueue_webhook(webhook, lambda: ticket_webhook_data(ticket, event))
    return event


def ticket_webhook_data(ticket: Ticket, event: TicketEvent) -> dict[str, Any]:
    """The webhook payload: the ticket as it is now and the change (never a message's text)."""
    return {
        "ticket": {
            "id": str(ticket.public_id),
            "number": ticket.number,
            "subject": ticket.subject,
            "status": ticket.status,
            "priority": ticket.priority,
            "channel": ticket.channel,
            "department": ticket.department.slug,
            "assignee": ticket.assignee.get_username() if ticket.assignee else None,
            "contact": contact_reference(ticket.contact),
            "organization": organization_reference(ticket.organization),
            "created_at": ticket.created_at,
            "updated_at": ticket.updated_at,
        },
        "change": {
            "seq": event.seq,
            "kind": event.kind,
            "internal": event.internal,
            "author_role": event.author_role,
        },
    }


def _ring(ticket: Ticket, seq: int) -> None:
    doorbell = events.ticket_changed(ticket.number, seq)
    publish_on_commit(events.ticket_group(ticket.public_id), doorbell)
    publish_on_commit(events.department_tickets_group(ticket.department.slug), doorbell)
    if ticket.contact_id is not None:
        publish_on_commit(events.customer_group(ticket.contact), doorbell)
    if ticket.organization_id is not None:
        publish_on_commit(events.organization_group(ticket.organization), doorbell)


def _is_team_member(user: AbstractBaseUser) -> bool:
    # Staff without an agent profile (an operator in /admin/) act for the team too.
    return hasattr(user, "agent_profile") or bool(getattr(user, "is_staff", False))


def role_of(user: AbstractBaseUser | None) -> str:
    if user is None:
        return Role.SYSTEM
    if _is_team_member(user):
        return Role.AGENT
    return Role.CUSTOMER


def contact_of(user: AbstractBaseUser | None) -> Contact | None:
    if user is None or _is_team_member(user):
        return None
    return getattr(user, "contact", None)


def locked_ticket(ticket: Ticket) -> Ticket:
    """The ticket re-read under a row lock: status decisions see the latest state."""
    fresh = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("contact", "organization", "department", "sla_plan", "assignee")
        .get(pk=ticket.pk)
    )
    return fresh


def sync_ticket(target: Ticket, source: Ticket) -> None:
    for field in Ticket._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))


def department_with_hours(department: Department) -> Department:
    # Fresh hours and holidays: a department object kept by a socket may be stale.
    return Department.objects.prefetch_related("hours", "holidays").get(pk=department.pk)
