"""A ticket's status and priority, and the SLA clock fields a status change moves.

Which status may follow which is `tickets.rules`; `status_fields` is what a
transition does to the clocks (pending and solved stop the resolution
clock, going back to work resumes it later by the time spent stopped), and
replies that change the status (`tickets.actions.messages.add_reply`) use
it too.
"""

from __future__ import annotations

import datetime
from dataclasses import replace
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from queues.hours import schedule_of
from tickets import sla
from tickets.actions.log import (
    append_event,
    contact_of,
    department_with_hours,
    locked_ticket,
    role_of,
    sync_ticket,
)
from tickets.errors import TicketError
from tickets.models import Ticket, TicketEvent
from tickets.rules import check_status_transition

Status = Ticket.Status
Priority = Ticket.Priority
Kind = TicketEvent.Kind


def status_fields(ticket: Ticket, status: str, now: datetime.datetime) -> dict[str, Any]:
    """The clock fields that change with a status transition.

    Pending (waiting on the customer) and solved stop the resolution clock;
    going back to work moves the due time later by the business time spent
    stopped, so neither the customer's silence nor a premature "solved"
    counts against the team.
    """
    fields: dict[str, Any] = {"status": status}
    old = ticket.status
    was_paused = old in Ticket.PAUSED_STATUSES
    paused = status in Ticket.PAUSED_STATUSES
    if was_paused and not paused:
        if (
            ticket.paused_since is not None
            and ticket.resolution_due is not None
            and ticket.sla_plan
        ):
            schedule = sla.clock_schedule(ticket.sla_plan, department_with_hours(ticket.department))
            fields["resolution_due"] = sla.resume_after_pending(
                schedule, ticket.resolution_due, ticket.paused_since, now
            )
            # A moved due time may be announced again.
            fields["resolution_warned_at"] = None
        fields["paused_since"] = None
    elif paused and not was_paused:
        fields["paused_since"] = now
    if status == Status.SOLVED:
        fields["solved_at"] = now
        fields["resolution_s"] = sla.resolution_seconds(ticket, resolution_schedule(ticket), now)
    elif status != Status.CLOSED and old in Ticket.DONE_STATUSES:
        fields["solved_at"] = None
        fields["resolution_s"] = None
    return fields


def resolution_schedule(ticket: Ticket) -> sla.Schedule:
    """The schedule the KPI resolution time runs on: the department's, all hours
    if the ticket's SLA plan is 24x7."""
    schedule = schedule_of(department_with_hours(ticket.department))
    if ticket.sla_plan_id is not None and ticket.sla_plan.is_24x7:
        return replace(schedule, is_24x7=True)
    return schedule


def change_status(
    ticket: Ticket, status: str, *, by: AbstractBaseUser | None
) -> TicketEvent | None:
    """Move the ticket to `status`; None if it already is there."""
    with transaction.atomic():
        locked = locked_ticket(ticket)
        if locked.status == status:
            return None
        check_status_transition(locked.status, status)
        old = locked.status
        event = append_event(
            locked,
            kind=Kind.STATUS,
            payload={"old": old, "new": status},
            author_role=role_of(by),
            author_user=by,
            author_contact=contact_of(by),
            fields=status_fields(locked, status, timezone.now()),
        )
        sync_ticket(ticket, locked)
    return event


def change_priority(
    ticket: Ticket, priority: str, *, by: AbstractBaseUser | None
) -> TicketEvent | None:
    if priority not in Priority.values:
        raise TicketError(_("unknown priority"))
    with transaction.atomic():
        locked = locked_ticket(ticket)
        if locked.priority == priority:
            return None
        old = locked.priority
        event = append_event(
            locked,
            kind=Kind.PRIORITY,
            payload={"old": old, "new": priority},
            author_role=role_of(by),
            author_user=by,
            fields={"priority": priority, "priority_rank": Ticket.PRIORITY_ORDER.index(priority)},
        )
        sync_ticket(ticket, locked)
    return event
