"""What the console shows of a ticket: SLA clocks, the full timeline, the CRM summary.

Pages and the console socket render through the same functions and the
same template partials, so a pushed fragment is exactly what a reload shows.
Everything user-typed reaches the templates as plain strings (auto-escaped);
nothing here builds HTML.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from crm.record import contact_record
from foundation.uploads import max_upload_bytes
from queues.models import Department
from tickets import sla
from tickets.attachments import (
    MAX_FILES_PER_MESSAGE,
    attachment_wire,
    attachments_of,
    refused_attachments_of,
    with_paths,
)
from tickets.console.forms import TicketUpdateForm
from tickets.models import (
    Ticket,
    TicketAttachment,
    TicketEvent,
    call_line,
    internal_status_label,
    message_text_for_display,
)

TIMELINE_LIMIT = 500
Kind = TicketEvent.Kind
Status = Ticket.Status

# Clock states, worst first: the row takes the colour of its worst running clock.
SEVERITY = ("breached", "warning", "paused", "running", "met_late", "met", "stopped", "none")


def _clock_labels() -> dict[str, str]:
    return {
        "breached": _("Breached"),
        "warning": _("Due soon"),
        "paused": _("Paused"),
        "running": _("On track"),
        "met": _("Met"),
        "met_late": _("Met late"),
        "stopped": _("Stopped"),
        "none": _("No SLA"),
    }


def sla_clock(
    ticket: Ticket, clock: str, *, now: datetime.datetime, warn: datetime.timedelta
) -> dict[str, Any]:
    """One SLA clock as the console colours it.

    breached (red): due and still running; warning (amber): due within the
    warning lead time (CHATPORTAL_SLA_WARN_BEFORE_S); paused (grey): the
    ticket waits on the customer (`pending`), when no clock runs.
    """
    if clock == "first_response":
        due, done_at = ticket.first_response_due, ticket.first_responded_at
    else:
        due, done_at = ticket.resolution_due, ticket.solved_at
    if due is None:
        state = "none"
    elif done_at is not None and (
        clock == "first_response" or ticket.status in Ticket.DONE_STATUSES
    ):
        state = "met" if done_at <= due else "met_late"
    elif ticket.status in Ticket.DONE_STATUSES:
        state = "stopped"
    elif ticket.status == Status.PENDING:
        state = "paused"
    elif due <= now:
        state = "breached"
    elif due <= now + warn:
        state = "warning"
    else:
        state = "running"
    return {"clock": clock, "due": due, "state": state, "label": _clock_labels()[state]}


def sla_clocks(ticket: Ticket, *, now: datetime.datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    warn = sla.warn_before()
    first = sla_clock(ticket, "first_response", now=now, warn=warn)
    resolution = sla_clock(ticket, "resolution", now=now, warn=warn)
    worst = min((first["state"], resolution["state"]), key=SEVERITY.index)
    return {"first_response": first, "resolution": resolution, "state": worst}


# --- the timeline --------------------------------------------------------------------


def _when(raw: object) -> str:
    try:
        moment = datetime.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return ""
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def _clock_name(clock: object) -> str:
    return _("first response") if clock == "first_response" else _("resolution")


def _priority_label(value: object) -> str:
    try:
        return str(Ticket.Priority(str(value)).label)
    except ValueError:
        return str(value or "")


def _department_name(slug: object, names: dict[str, str]) -> str:
    return names.get(str(slug), str(slug or ""))


def _author(event: TicketEvent) -> str:
    if event.author_role == TicketEvent.Role.AGENT and event.author_user is not None:
        return event.author_user.get_full_name() or event.author_user.get_username()
    if event.author_role == TicketEvent.Role.CUSTOMER and event.author_contact is not None:
        return event.author_contact.name
    author = event.payload.get("author") if isinstance(event.payload, dict) else None
    if isinstance(author, str) and author:
        return author
    return pgettext("author of an event", "System")


def _summary(event: TicketEvent, payload: dict[str, Any], departments: dict[str, str]) -> str:
    kind = event.kind
    if kind == Kind.STATUS:
        text = _("Status: %(old)s → %(new)s") % {
            "old": internal_status_label(str(payload.get("old", ""))),
            "new": internal_status_label(str(payload.get("new", ""))),
        }
        if payload.get("cause") == "reply":
            text += " " + _("(after a reply)")
        return text
    if kind == Kind.PRIORITY:
        return _("Priority: %(old)s → %(new)s") % {
            "old": _priority_label(payload.get("old")),
            "new": _priority_label(payload.get("new")),
        }
    if kind == Kind.ASSIGNEE:
        if payload.get("new") and payload.get("cause") == "account_owner":
            return _("Assigned to %(agent)s, the account owner") % {"agent": payload["new"]}
        if payload.get("new"):
            return _("Assigned to %(agent)s") % {"agent": payload["new"]}
        return _("Unassigned (was %(agent)s)") % {"agent": payload.get("old") or "—"}
    if kind == Kind.DEPARTMENT:
        return _("Moved from %(old)s to %(new)s") % {
            "old": _department_name(payload.get("old"), departments),
            "new": _department_name(payload.get("new"), departments),
        }
    if kind == Kind.SLA_WARNING:
        return _("SLA warning: %(clock)s due at %(due)s") % {
            "clock": _clock_name(payload.get("clock")),
            "due": _when(payload.get("due")),
        }
    if kind == Kind.SLA_BREACH:
        return _("SLA breached: %(clock)s was due at %(due)s; priority %(old)s → %(new)s") % {
            "clock": _clock_name(payload.get("clock")),
            "due": _when(payload.get("due")),
            "old": _priority_label(payload.get("priority_old")),
            "new": _priority_label(payload.get("priority_new")),
        }
    if kind == Kind.TRANSCRIPT:
        return (
            _("Chat transcript (with internal notes)") if event.internal else _("Chat transcript")
        )
    if kind == Kind.EMAIL_FAILED:
        return _("E-mail not delivered to %(to)s after %(attempts)s attempts: %(error)s") % {
            "to": payload.get("email") or "—",
            "attempts": payload.get("attempts") or "?",
            "error": payload.get("error") or "—",
        }
    if kind == Kind.ASSET:
        unit = payload.get("asset")
        if isinstance(unit, dict):
            return _("Unit: %(serial)s (%(product)s)") % {
                "serial": unit.get("serial_number", "?"),
                "product": unit.get("product", "?"),
            }
        return _("No unit named any more")
    if kind == Kind.CONTACT:
        contact = payload.get("contact") if isinstance(payload.get("contact"), dict) else {}
        return _("Linked to contact %(name)s") % {"name": contact.get("name") or "—"}
    if kind == Kind.OWNER_NOTIFIED:
        return _("Account owner %(agent)s notified (does not serve %(department)s)") % {
            "agent": payload.get("owner") or "—",
            "department": _department_name(payload.get("department"), departments),
        }
    if kind == Kind.RATED:
        text = _("Customer rating: %(score)s of 5") % {"score": payload.get("score", "?")}
        if payload.get("previous"):
            text += " " + _("(was %(score)s)") % {"score": payload["previous"]}
        if payload.get("comment"):
            text += " — " + str(payload["comment"])
        return text
    if kind == Kind.CREATED:
        return _("Opened the ticket (%(channel)s)") % {
            "channel": _channel_label(payload.get("channel")),
        }
    # A kind added later (attachments, …) still shows as a line, never breaks the page.
    return str(event.get_kind_display()) if kind in Kind.values else str(kind)


def _channel_label(value: object) -> str:
    try:
        return str(Ticket.Channel(str(value)).label)
    except ValueError:
        return str(value or "")


def _transcript_lines(payload: dict[str, Any]) -> list[dict[str, Any]]:
    lines = []
    for line in payload.get("messages") or []:
        if not isinstance(line, dict):
            continue
        lines.append(
            {
                "name": str(line.get("name") or line.get("role") or ""),
                "role": str(line.get("role") or ""),
                "body": str(line.get("body") or ""),
                "internal": bool(line.get("internal")),
            }
        )
    return lines


def timeline(ticket: Ticket, *, departments: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Every event of the ticket, internal ones included, oldest first.

    `departments` (slug → name) names the departments in summaries; read here when not given.
    """
    events = list(
        TicketEvent.objects.filter(ticket=ticket)
        .select_related("author_user", "author_contact")
        .order_by("-seq")[:TIMELINE_LIMIT]
    )
    events.reverse()
    if departments is None:
        departments = dict(Department.objects.values_list("slug", "name"))
    # The replies and status changes whose customer mail the outbox gave up on.
    undelivered = {
        event.payload.get("event_seq")
        for event in events
        if event.kind == Kind.EMAIL_FAILED and isinstance(event.payload, dict)
    }
    entries = []
    for event in events:
        payload = event.payload if isinstance(event.payload, dict) else {}
        kind = event.kind
        has_body = kind in (Kind.CREATED, Kind.REPLY, Kind.NOTE)
        entries.append(
            {
                "seq": event.seq,
                "kind": kind,
                "internal": event.internal,
                "is_message": has_body,
                "is_note": kind == Kind.NOTE,
                "from_customer": event.author_role == TicketEvent.Role.CUSTOMER,
                "author": _author(event),
                "created_at": event.created_at,
                "body": message_text_for_display(payload, kind=kind, channel=ticket.channel)
                if has_body
                else "",
                "attachments": [
                    with_paths(item, ticket.number) for item in attachments_of(payload)
                ],
                "refused_attachments": refused_attachments_of(payload) if has_body else [],
                "summary": ""
                if kind in (Kind.REPLY, Kind.NOTE)
                else _summary(event, payload, departments),
                "transcript": _transcript_lines(payload) if kind == Kind.TRANSCRIPT else [],
                "mail_undelivered": event.seq in undelivered,
                "call": call_line(payload) if kind == Kind.CREATED else None,
                "asset": payload.get("asset") if isinstance(payload.get("asset"), dict) else None,
            }
        )
    return entries


# --- the CRM summary ----------------------------------------------------------------


def crm_summary(ticket: Ticket) -> dict[str, Any] | None:
    """The contact's record (organization, assets, contracts) or None for an unknown sender."""
    if ticket.contact_id is None:
        return None
    record = contact_record(ticket.contact)
    record["open_tickets"] = [t for t in record["open_tickets"] if t["number"] != ticket.number]
    for contract in record["contracts"]:
        days = contract["days_to_renewal"]
        contract["days_overdue"] = -days if days is not None and days < 0 else 0
    return record


# --- fragments -----------------------------------------------------------------------


def ticket_files(ticket: Ticket) -> list[dict[str, Any]]:
    """Every stored file of the ticket (internal ones marked), oldest first; erased ones left out."""
    rows = (
        TicketAttachment.objects.filter(ticket=ticket).exclude(file="").order_by("created_at", "pk")
    )
    return [
        {**with_paths(attachment_wire(row, ticket.number), ticket.number), "internal": row.internal}
        for row in rows
    ]


def reply_limits() -> dict[str, int]:
    """What the reply form tells the agent (and its script checks first); the server enforces it."""
    return {"max_upload_bytes": max_upload_bytes(), "max_files": MAX_FILES_PER_MESSAGE}


def ticket_state_context(ticket: Ticket, viewer: AbstractBaseUser) -> dict[str, Any]:
    """What the pushed sections need: header, SLA and controls, timeline, files."""
    # One read of the departments for the timeline's summaries and the form's choices.
    departments = list(Department.objects.order_by("name").values_list("slug", "name"))
    return {
        "ticket": ticket,
        "viewer": viewer,
        "clocks": sla_clocks(ticket),
        "timeline": timeline(ticket, departments=dict(departments)),
        "files": ticket_files(ticket),
        "update_form": TicketUpdateForm(ticket=ticket, department_choices=departments),
        "updated_iso": ticket.updated_at.isoformat(),
    }


def render_ticket_sections(ticket: Ticket, viewer: AbstractBaseUser, **extra: Any) -> str:
    """The ticket page's live sections as out-of-band fragments (socket pushes, htmx answers)."""
    context = {**ticket_state_context(ticket, viewer), **extra}
    return "".join(
        render_to_string(f"tickets/console/ticket_detail.html#{name}", context)
        for name in ("header", "clocks", "controls", "timeline", "files")
    )
