"""The rules every ticket change follows, whatever the surface.

The actions in `tickets.actions` enforce them, so a rule holds for the
console, the portal, the API, the admin and mail alike. Forms may call the
same `check_*` first, only to show the refusal next to the field.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q
from django.utils.translation import gettext as _

from queues.models import AgentProfile, Department
from tickets.errors import TicketConflict, TicketError
from tickets.models import Ticket

Status = Ticket.Status

# Which status may follow which; everything else is a conflict. A closed
# ticket is final (a new message opens a new ticket).
TRANSITIONS: dict[str, set[str]] = {
    Status.NEW: {Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.SOLVED, Status.CLOSED},
    Status.OPEN: {Status.PENDING, Status.ON_HOLD, Status.SOLVED, Status.CLOSED},
    Status.PENDING: {Status.OPEN, Status.ON_HOLD, Status.SOLVED, Status.CLOSED},
    Status.ON_HOLD: {Status.OPEN, Status.PENDING, Status.SOLVED, Status.CLOSED},
    Status.SOLVED: {Status.OPEN, Status.CLOSED},
    Status.CLOSED: set(),
}


def statuses_after(status: str) -> set[str]:
    """The statuses a ticket in `status` may move to."""
    return TRANSITIONS.get(status, set())


def status_choices(ticket: Ticket) -> list[tuple[str, str]]:
    """The current status and those it may move to, for a form's select (the console, the admin)."""
    allowed = {ticket.status, *statuses_after(ticket.status)}
    return [(value, label) for value, label in Ticket.Status.choices if value in allowed]


def check_status_transition(old: str, new: str) -> None:
    """Raise `TicketConflict` unless a ticket may go from `old` to `new` (staying is fine)."""
    if new not in Status.values:
        raise TicketError(_("unknown status"))
    if new != old and new not in statuses_after(old):
        raise TicketConflict(_("a %(old)s ticket cannot become %(new)s") % {"old": old, "new": new})


def serves_department(user: AbstractBaseUser, department: Department) -> bool:
    """An agent serves its departments; a supervisor serves them all."""
    return (
        AgentProfile.objects.filter(user_id=user.pk)
        .filter(Q(is_supervisor=True) | Q(departments__pk=department.pk))
        .exists()
    )


def check_assignee(assignee: AbstractBaseUser | None, department: Department) -> None:
    """Raise `TicketError` unless `assignee` (None: nobody) may hold a ticket of `department`."""
    if assignee is None:
        return
    if not hasattr(assignee, "agent_profile"):
        raise TicketError(_("the assignee is not an agent"))
    if not serves_department(assignee, department):
        name = assignee.get_full_name() or assignee.get_username()
        raise TicketError(
            _("%(agent)s does not work in %(department)s")
            % {"agent": name, "department": department.name}
        )
