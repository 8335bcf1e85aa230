"""Several field changes to one ticket, and the same changes to several tickets.

Both only call the actions in `tickets.actions`; each ticket's changes
commit together in one transaction (all or none), and in bulk every ticket
is authorized with `access_ticket_for_agent` on its own and commits on its
own, so one refused ticket does not stop the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from queues.agent_scope import AgentScope
from tickets.access import access_ticket_for_agent
from tickets.actions.assets import set_ticket_asset
from tickets.actions.assignment import assign_ticket, move_ticket
from tickets.actions.lifecycle import change_priority, change_status
from tickets.console.forms import active_agent
from tickets.console.queries import ASSIGNEE_ME, ASSIGNEE_NONE
from tickets.errors import TicketError, TicketNotFound
from tickets.models import Ticket, TicketEvent


def apply_ticket_changes(
    ticket: Ticket, changes: dict[str, Any], *, by: AbstractBaseUser
) -> list[TicketEvent]:
    """Department first (it may unassign), then assignee, priority, status; all or nothing."""
    done: list[TicketEvent | None] = []
    with transaction.atomic():
        if "department" in changes:
            done.append(move_ticket(ticket, changes["department"], by=by))
        if "assignee" in changes:
            done.append(assign_ticket(ticket, changes["assignee"], by=by))
        if "priority" in changes:
            done.append(change_priority(ticket, changes["priority"], by=by))
        if "status" in changes:
            done.append(change_status(ticket, changes["status"], by=by))
        if "asset" in changes:
            done.append(set_ticket_asset(ticket, changes["asset"], by=by))
    return [event for event in done if event is not None]


@dataclass
class BulkResult:
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def apply_bulk_changes(
    numbers: list[str],
    cleaned: dict[str, Any],
    *,
    by: AbstractBaseUser,
    scope: AgentScope,
) -> BulkResult:
    result = BulkResult()
    assignee_choice = cleaned.get("assignee") or ""
    assignee: AbstractBaseUser | None = None
    if assignee_choice == ASSIGNEE_ME:
        assignee = by
    elif assignee_choice and assignee_choice != ASSIGNEE_NONE:
        assignee = active_agent(assignee_choice)
        if assignee is None:
            result.failed.extend((n, _("there is no active agent with that name")) for n in numbers)
            return result
    for number in numbers:
        try:
            ticket = access_ticket_for_agent(by, number, scope=scope)
        except TicketNotFound:
            # The same words for "does not exist" and "not yours to see".
            result.failed.append((number, _("not found")))
            continue
        changes: dict[str, Any] = {}
        if cleaned.get("status"):
            changes["status"] = cleaned["status"]
        if cleaned.get("priority"):
            changes["priority"] = cleaned["priority"]
        if assignee_choice:
            changes["assignee"] = assignee
        try:
            events = apply_ticket_changes(ticket, changes, by=by)
        except TicketError as exc:
            result.failed.append((ticket.number, exc.detail))
            continue
        (result.changed if events else result.unchanged).append(ticket.number)
    return result
