"""SLA warnings and breaches: the sweep that warns before a clock runs out and escalates after.

Every worker's sweep loop runs `sweep_sla` (registered by
`TicketsConfig.ready`); tickets are taken with `skip_locked`, and each
clock is warned about and breached once, so workers never do it twice.
The mail to the agents goes through the outbox like every other mail.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from foundation.timestamps import iso_timestamp
from tickets import sla
from tickets.actions.log import append_event
from tickets.models import OutboundEmail, Ticket, TicketEvent
from tickets.notifications.outbound import AUTOMATIC_HEADERS, ComposedEmail
from tickets.notifications.outbox import enqueue_email

Status = Ticket.Status
Kind = TicketEvent.Kind


def sweep_sla(now: datetime.datetime | None = None) -> dict[str, int]:
    """Warn before and escalate at each SLA breach, once each; safe on every worker.

    Paused (`pending`) and stopped (solved, closed) clocks are skipped. A
    breach raises the priority one step and tells the department lead.
    """
    now = now or timezone.now()
    soon = now + sla.warn_before()
    counts = {"warnings": 0, "breaches": 0}
    running = Ticket.objects.filter(status__in=[Status.NEW, Status.OPEN, Status.ON_HOLD])
    first = running.filter(
        first_responded_at__isnull=True,
        first_response_due__lte=soon,
        first_response_breached_at__isnull=True,
    )
    resolution = running.filter(resolution_due__lte=soon, resolution_breached_at__isnull=True)
    candidates = set(first.values_list("pk", flat=True)[:500]) | set(
        resolution.values_list("pk", flat=True)[:500]
    )
    for pk in sorted(candidates):
        warned, breached = _sweep_one(pk, now=now, soon=soon)
        counts["warnings"] += warned
        counts["breaches"] += breached
    return counts


def _sweep_one(pk: int, *, now: datetime.datetime, soon: datetime.datetime) -> tuple[int, int]:
    warned = breached = 0
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("contact", "organization", "department__lead", "assignee")
            .filter(pk=pk, status__in=[Status.NEW, Status.OPEN, Status.ON_HOLD])
            .first()
        )
        if ticket is None:
            return 0, 0
        clocks = [("resolution", ticket.resolution_due)]
        if ticket.first_responded_at is None:
            clocks.insert(0, ("first_response", ticket.first_response_due))
        for clock, due in clocks:
            if due is None:
                continue
            if due <= now and getattr(ticket, f"{clock}_breached_at") is None:
                _breach(ticket, clock, due, now)
                breached += 1
            elif due <= soon and getattr(ticket, f"{clock}_warned_at") is None and due > now:
                append_event(
                    ticket,
                    kind=Kind.SLA_WARNING,
                    internal=True,
                    payload={"clock": clock, "due": iso_timestamp(due)},
                    fields={f"{clock}_warned_at": now},
                )
                _mail_on_commit(ticket, clock, due, breach=False)
                warned += 1
    return warned, breached


def _breach(ticket: Ticket, clock: str, due: datetime.datetime, now: datetime.datetime) -> None:
    old = ticket.priority
    index = Ticket.PRIORITY_ORDER.index(old)
    new = Ticket.PRIORITY_ORDER[min(index + 1, len(Ticket.PRIORITY_ORDER) - 1)]
    fields: dict[str, Any] = {f"{clock}_breached_at": now, f"{clock}_warned_at": now}
    # Escalate once per ticket: a second clock breaching does not bump again.
    already_escalated = ticket.first_response_breached_at or ticket.resolution_breached_at
    if new != old and not already_escalated:
        fields.update(priority=new, priority_rank=Ticket.PRIORITY_ORDER.index(new))
    append_event(
        ticket,
        kind=Kind.SLA_BREACH,
        internal=True,
        payload={
            "clock": clock,
            "due": iso_timestamp(due),
            "priority_old": old,
            "priority_new": fields.get("priority", old),
        },
        fields=fields,
    )
    _mail_on_commit(ticket, clock, due, breach=True)


def _mail_on_commit(ticket: Ticket, clock: str, due: datetime.datetime, *, breach: bool) -> None:
    """Breaches go to the department lead (and the assignee); warnings to the assignee."""
    recipients = []
    if breach and ticket.department.lead is not None and ticket.department.lead.email:
        recipients.append(ticket.department.lead.email)
    if ticket.assignee is not None and ticket.assignee.email:
        recipients.append(ticket.assignee.email)
    if not recipients:
        return
    what = _("first response") if clock == "first_response" else _("resolution")
    if breach:
        subject = _("SLA breached: %(number)s %(what)s was due") % {
            "number": ticket.number,
            "what": what,
        }
    else:
        subject = _("SLA warning: %(number)s %(what)s due soon") % {
            "number": ticket.number,
            "what": what,
        }
    body = _(
        "Ticket %(number)s (%(subject)s), department %(department)s, priority %(priority)s.\n"
        "The %(what)s was due at %(due)s UTC.\n"
    ) % {
        "number": ticket.number,
        "subject": ticket.display_subject,
        "department": ticket.department.name,
        "priority": ticket.priority,
        "what": what,
        "due": due.strftime("%Y-%m-%d %H:%M"),
    }
    composed = ComposedEmail(
        to=sorted(set(recipients)), subject=subject, text=body, headers=dict(AUTOMATIC_HEADERS)
    )
    enqueue_email(OutboundEmail.Kind.AGENT_ALERT, composed, ticket=ticket)
