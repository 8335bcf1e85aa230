"""Who works on a ticket: its assignee, and the department it belongs to."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from queues.models import Department
from tickets.actions.log import append_event, locked_ticket, role_of, sync_ticket
from tickets.models import Ticket, TicketEvent
from tickets.rules import check_assignee, serves_department

Kind = TicketEvent.Kind


def assign_ticket(
    ticket: Ticket, assignee: AbstractBaseUser | None, *, by: AbstractBaseUser | None
) -> TicketEvent | None:
    """Give the ticket to `assignee` (None: unassign): an agent who serves its department."""
    with transaction.atomic():
        locked = locked_ticket(ticket)
        if locked.assignee_id == (assignee.pk if assignee is not None else None):
            return None
        # Under the row lock: a concurrent move cannot slip in between check and write.
        check_assignee(assignee, locked.department)
        old = locked.assignee.get_username() if locked.assignee is not None else None
        event = append_event(
            locked,
            kind=Kind.ASSIGNEE,
            payload={"old": old, "new": assignee.get_username() if assignee is not None else None},
            author_role=role_of(by),
            author_user=by,
            fields={"assignee_id": assignee.pk if assignee is not None else None},
        )
        locked.assignee = assignee
        sync_ticket(ticket, locked)
        ticket.assignee = assignee
    return event


def move_ticket(
    ticket: Ticket, department: Department, *, by: AbstractBaseUser | None
) -> TicketEvent | None:
    """Hand the ticket to another department; None if it already is there.

    An assignee who does not serve the new department is unassigned in the
    same transaction (its own `assignee` event): the ticket lands in the new
    department's hands, not with someone who does not work there. The SLA
    due times stay: the promise to the customer does not move with the ticket.
    """
    with transaction.atomic():
        locked = locked_ticket(ticket)
        if locked.department_id == department.pk:
            return None
        old = locked.department.slug
        event = append_event(
            locked,
            kind=Kind.DEPARTMENT,
            payload={"old": old, "new": department.slug},
            author_role=role_of(by),
            author_user=by,
            internal=True,
            fields={"department_id": department.pk},
        )
        locked.department = department
        if locked.assignee is not None and not serves_department(locked.assignee, department):
            append_event(
                locked,
                kind=Kind.ASSIGNEE,
                payload={
                    "old": locked.assignee.get_username(),
                    "new": None,
                    "cause": "department",
                },
                author_role=role_of(by),
                author_user=by,
                fields={"assignee_id": None},
            )
            locked.assignee = None
        sync_ticket(ticket, locked)
        ticket.department = department
        ticket.assignee = locked.assignee
    return event
