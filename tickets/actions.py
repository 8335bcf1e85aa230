"""Everything that changes a ticket, and the only place tickets publish.

Each action runs in one short `transaction.atomic()`: it writes the rows,
appends a `TicketEvent` with the next gapless `seq` and schedules the
doorbell (`ticket.changed`) for the customer's portal sockets, the
organization's admins and the agents watching the ticket. The doorbell
carries no content, so internal notes ring it too; sockets re-read what
they may see. No mail or network call runs inside a transaction: mail is
written to the outbox with the event and sent after the commit
(`tickets.outbox`).
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chatportal.realtime import publish_on_commit
from chatportal.uploads import CheckedUpload
from crm.models import Contact
from foundation.event_seq import next_seq
from queues.models import Department
from tickets import events, sla
from tickets.attachments import RefusedFile, StoredFiles, attachment_wire
from tickets.errors import TicketConflict, TicketError
from tickets.models import (
    NUMBER_PREFIX,
    OutboundEmail,
    Ticket,
    TicketAttachment,
    TicketEvent,
    TicketNumber,
)
from tickets.rules import check_assignee, check_status_transition, serves_department

logger = logging.getLogger(__name__)

Status = Ticket.Status
Priority = Ticket.Priority
Kind = TicketEvent.Kind
Role = TicketEvent.Role

MAX_BODY_CHARS = 10_000
MAX_SUBJECT_CHARS = 300

# --- the event log -------------------------------------------------------------------


def _next_number() -> str:
    """`T-<n>`: one `UPDATE … RETURNING` on the counter row, inside the caller's transaction."""
    table = TicketNumber._meta.db_table
    if connection.vendor in {"postgresql", "sqlite"}:
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET last_value = last_value + 1 WHERE id = 1 RETURNING last_value"  # noqa: S608
            )
            row = cursor.fetchone()
        if row is None:
            # The migration creates the row; a database built without it gets it now.
            TicketNumber.objects.get_or_create(pk=1)
            return _next_number()
        return f"{NUMBER_PREFIX}{row[0]}"
    counter, _created = TicketNumber.objects.select_for_update().get_or_create(pk=1)
    counter.last_value += 1
    counter.save(update_fields=["last_value"])
    return f"{NUMBER_PREFIX}{counter.last_value}"


def _author_name(user: AbstractBaseUser | None, contact: Contact | None) -> str | None:
    if user is not None:
        return user.get_full_name() or user.get_username()
    if contact is not None:
        return contact.name
    return None


def _append(
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
    # (email_out decides which events qualify; the outbox sends after commit).
    from tickets.email_out import notify_customer_on_commit

    notify_customer_on_commit(ticket, event)
    return event


def _ring(ticket: Ticket, seq: int) -> None:
    doorbell = events.ticket_changed(ticket.number, seq)
    publish_on_commit(events.ticket_group(ticket.public_id), doorbell)
    if ticket.contact_id is not None:
        publish_on_commit(events.customer_group(ticket.contact), doorbell)
    if ticket.organization_id is not None:
        publish_on_commit(events.organization_group(ticket.organization), doorbell)


def _is_team_member(user: AbstractBaseUser) -> bool:
    # Staff without an agent profile (an operator in /admin/) act for the team too.
    return hasattr(user, "agent_profile") or bool(getattr(user, "is_staff", False))


def _role_of(user: AbstractBaseUser | None) -> str:
    if user is None:
        return Role.SYSTEM
    if _is_team_member(user):
        return Role.AGENT
    return Role.CUSTOMER


def _contact_of(user: AbstractBaseUser | None) -> Contact | None:
    if user is None or _is_team_member(user):
        return None
    return getattr(user, "contact", None)


def _clean_body(body: str, *, may_be_empty: bool = False) -> str:
    if may_be_empty and isinstance(body, str) and not body.strip():
        return ""
    if not isinstance(body, str) or not body.strip():
        raise TicketError(_("the message is empty"))
    if len(body) > MAX_BODY_CHARS:
        raise TicketError(_("the message is longer than %(n)s characters") % {"n": MAX_BODY_CHARS})
    return body.strip()


def _clean_subject(subject: str, *, may_be_empty: bool = False) -> str:
    subject = " ".join((subject or "").split())
    if not subject and not may_be_empty:
        raise TicketError(_("the subject is empty"))
    return subject[:MAX_SUBJECT_CHARS]


def _locked(ticket: Ticket) -> Ticket:
    """The ticket re-read under a row lock: status decisions see the latest state."""
    fresh = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("contact", "organization", "department", "sla_plan", "assignee")
        .get(pk=ticket.pk)
    )
    return fresh


def _sync(target: Ticket, source: Ticket) -> None:
    for field in Ticket._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))


# --- creating ------------------------------------------------------------------------


def create_ticket(
    *,
    subject: str,
    body: str,
    contact: Contact | None,
    channel: str,
    department: Department,
    priority: str = Priority.NORMAL,
    author_role: str,
    author_user: AbstractBaseUser | None = None,
    author_contact: Contact | None = None,
    conversation: Any = None,
    requester_name: str = "",
    requester_email: str = "",
    assignee: AbstractBaseUser | None = None,
    status: str = Status.NEW,
    first_responded_at: datetime.datetime | None = None,
    attachments: Sequence[CheckedUpload] = (),
    chat_files: Sequence[Any] = (),
    refused_attachments: Sequence[RefusedFile] = (),
    as_received: bool = False,
) -> Ticket:
    """A new ticket with its `created` event (the first message) and SLA clocks set.

    `attachments` (checked uploads) and `chat_files` (public ChatAttachments
    carried over from the chat) go with the opening message;
    `refused_attachments` lists what an e-mail brought that was not accepted.
    `as_received` (an e-mail, a chat): the subject and text are whatever came,
    even nothing, and are stored empty rather than as words of ours; forms
    and the API must give both.
    """
    subject = _clean_subject(subject, may_be_empty=as_received)
    body = _clean_body(body, may_be_empty=as_received)
    if channel not in Ticket.Channel.values:
        raise TicketError(_("unknown channel"))
    if priority not in Priority.values:
        raise TicketError(_("unknown priority"))
    if author_role not in Role.values:
        raise TicketError(_("unknown author role"))
    now = timezone.now()
    plan = sla.plan_for(contact)
    first_due = resolution_due = None
    if plan is not None:
        schedule = sla.clock_schedule(plan, _with_hours(department))
        first_due, resolution_due = sla.due_times(plan, schedule, now)
    with StoredFiles(attachments) as stored, transaction.atomic():
        ticket = Ticket(
            number=_next_number(),
            subject=subject,
            status=status,
            priority=priority,
            channel=channel,
            contact=contact,
            organization_id=contact.organization_id if contact is not None else None,
            requester_name=(requester_name or "")[:200],
            requester_email=(requester_email or "")[:254],
            department=department,
            assignee=assignee,
            conversation=conversation,
            sla_plan=plan,
            first_response_due=first_due,
            resolution_due=resolution_due,
            first_responded_at=first_responded_at,
        )
        ticket.save(force_insert=True)
        files = _new_attachments(ticket, stored=stored, chat_files=chat_files, internal=False)
        payload: dict[str, Any] = {
            "subject": subject,
            "body": body,
            "channel": channel,
            "priority": priority,
        }
        if files:
            payload["attachments"] = [attachment_wire(f, ticket.number) for f in files]
        if refused_attachments:
            payload["refused_attachments"] = list(refused_attachments)
        event = _append(
            ticket,
            kind=Kind.CREATED,
            payload=payload,
            author_role=author_role,
            author_user=author_user,
            author_contact=author_contact,
        )
        _link_attachments(files, event)
    return ticket


def _new_attachments(
    ticket: Ticket,
    *,
    stored: StoredFiles | None = None,
    chat_files: Sequence[Any] = (),
    internal: bool,
) -> list[TicketAttachment]:
    """Rows for files already stored (uploads) or carried over from the chat (same stored file)."""
    rows = [
        TicketAttachment(
            ticket=ticket,
            file=name,
            filename=upload.filename,
            content_type=upload.content_type,
            size=upload.size,
            internal=internal,
        )
        for upload, name in (stored.items if stored is not None else [])
    ]
    rows += [
        TicketAttachment(
            ticket=ticket,
            file=chat_file.file.name,
            filename=chat_file.filename,
            content_type=chat_file.content_type,
            size=chat_file.size,
            internal=internal or chat_file.internal,
            chat_attachment=chat_file,
        )
        for chat_file in chat_files
    ]
    for row in rows:
        row.save(force_insert=True)
    return rows


def _link_attachments(files: list[TicketAttachment], event: TicketEvent) -> None:
    if files:
        TicketAttachment.objects.filter(pk__in=[f.pk for f in files]).update(event=event)


def _with_hours(department: Department) -> Department:
    # Fresh hours and holidays: a department object kept by a socket may be stale.
    return Department.objects.prefetch_related("hours", "holidays").get(pk=department.pk)


# --- replies -------------------------------------------------------------------------


def add_reply(
    ticket: Ticket,
    *,
    body: str,
    internal: bool = False,
    author_role: str,
    author_user: AbstractBaseUser | None = None,
    author_contact: Contact | None = None,
    attachments: Sequence[CheckedUpload] = (),
    refused_attachments: Sequence[RefusedFile] = (),
    as_received: bool = False,
) -> TicketEvent:
    """A public reply or (agents only) an internal note, with checked files if any.

    With files the text may be empty, and so it may with `as_received` (an
    e-mail: stored as it came, shown as "(no text)" in the reader's
    language). The files are stored before the transaction and removed
    again if it rolls back; `refused_attachments` lists an e-mail's files
    that were not accepted.

    The first public agent reply meets the first-response clock and opens a
    new ticket; a customer reply to a pending or solved ticket reopens it
    (the resolution clock resumes, later by the time spent pending).
    """
    body = _clean_body(body, may_be_empty=bool(attachments) or as_received)
    if author_role not in Role.values:
        raise TicketError(_("unknown author role"))
    if internal and author_role != Role.AGENT:
        raise TicketError(_("only agents write internal notes"))
    with StoredFiles(attachments) as stored, transaction.atomic():
        locked = _locked(ticket)
        if locked.status == Status.CLOSED:
            raise TicketConflict(_("this ticket is closed"))
        now = timezone.now()
        fields: dict[str, Any] = {}
        status_change: tuple[str, str] | None = None
        if not internal and author_role == Role.AGENT:
            if locked.first_responded_at is None:
                fields["first_responded_at"] = now
            if locked.status == Status.NEW:
                status_change = (locked.status, Status.OPEN)
        elif author_role == Role.CUSTOMER and locked.status in {Status.PENDING, Status.SOLVED}:
            status_change = (locked.status, Status.OPEN)
        if status_change is not None:
            fields.update(_status_fields(locked, status_change[1], now))
        files = _new_attachments(locked, stored=stored, internal=internal)
        payload: dict[str, Any] = {"body": body}
        if files:
            payload["attachments"] = [attachment_wire(f, locked.number) for f in files]
        if refused_attachments:
            payload["refused_attachments"] = list(refused_attachments)
        event = _append(
            locked,
            kind=Kind.NOTE if internal else Kind.REPLY,
            payload=payload,
            author_role=author_role,
            author_user=author_user,
            author_contact=author_contact,
            internal=internal,
            fields=fields,
        )
        _link_attachments(files, event)
        if status_change is not None:
            _append(
                locked,
                kind=Kind.STATUS,
                payload={"old": status_change[0], "new": status_change[1], "cause": "reply"},
                author_role=Role.SYSTEM,
            )
        _sync(ticket, locked)
    return event


# --- status, priority, assignee ------------------------------------------------------


def _status_fields(ticket: Ticket, status: str, now: datetime.datetime) -> dict[str, Any]:
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
            schedule = sla.clock_schedule(ticket.sla_plan, _with_hours(ticket.department))
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
    elif status != Status.CLOSED and old in Ticket.DONE_STATUSES:
        fields["solved_at"] = None
    return fields


def change_status(
    ticket: Ticket, status: str, *, by: AbstractBaseUser | None
) -> TicketEvent | None:
    """Move the ticket to `status`; None if it already is there."""
    with transaction.atomic():
        locked = _locked(ticket)
        if locked.status == status:
            return None
        check_status_transition(locked.status, status)
        old = locked.status
        event = _append(
            locked,
            kind=Kind.STATUS,
            payload={"old": old, "new": status},
            author_role=_role_of(by),
            author_user=by,
            author_contact=_contact_of(by),
            fields=_status_fields(locked, status, timezone.now()),
        )
        _sync(ticket, locked)
    return event


def change_priority(
    ticket: Ticket, priority: str, *, by: AbstractBaseUser | None
) -> TicketEvent | None:
    if priority not in Priority.values:
        raise TicketError(_("unknown priority"))
    with transaction.atomic():
        locked = _locked(ticket)
        if locked.priority == priority:
            return None
        old = locked.priority
        event = _append(
            locked,
            kind=Kind.PRIORITY,
            payload={"old": old, "new": priority},
            author_role=_role_of(by),
            author_user=by,
            fields={"priority": priority, "priority_rank": Ticket.PRIORITY_ORDER.index(priority)},
        )
        _sync(ticket, locked)
    return event


def assign_ticket(
    ticket: Ticket, assignee: AbstractBaseUser | None, *, by: AbstractBaseUser | None
) -> TicketEvent | None:
    """Give the ticket to `assignee` (None: unassign): an agent who serves its department."""
    with transaction.atomic():
        locked = _locked(ticket)
        if locked.assignee_id == (assignee.pk if assignee is not None else None):
            return None
        # Under the row lock: a concurrent move cannot slip in between check and write.
        check_assignee(assignee, locked.department)
        old = locked.assignee.get_username() if locked.assignee is not None else None
        event = _append(
            locked,
            kind=Kind.ASSIGNEE,
            payload={"old": old, "new": assignee.get_username() if assignee is not None else None},
            author_role=_role_of(by),
            author_user=by,
            fields={"assignee_id": assignee.pk if assignee is not None else None},
        )
        locked.assignee = assignee
        _sync(ticket, locked)
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
        locked = _locked(ticket)
        if locked.department_id == department.pk:
            return None
        old = locked.department.slug
        event = _append(
            locked,
            kind=Kind.DEPARTMENT,
            payload={"old": old, "new": department.slug},
            author_role=_role_of(by),
            author_user=by,
            internal=True,
            fields={"department_id": department.pk},
        )
        locked.department = department
        if locked.assignee is not None and not serves_department(locked.assignee, department):
            _append(
                locked,
                kind=Kind.ASSIGNEE,
                payload={
                    "old": locked.assignee.get_username(),
                    "new": None,
                    "cause": "department",
                },
                author_role=_role_of(by),
                author_user=by,
                fields={"assignee_id": None},
            )
            locked.assignee = None
        _sync(ticket, locked)
        ticket.department = department
        ticket.assignee = locked.assignee
    return event


# --- SLA warnings and breaches -------------------------------------------------------


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
                _append(
                    ticket,
                    kind=Kind.SLA_WARNING,
                    internal=True,
                    payload={"clock": clock, "due": due.isoformat().replace("+00:00", "Z")},
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
    _append(
        ticket,
        kind=Kind.SLA_BREACH,
        internal=True,
        payload={
            "clock": clock,
            "due": due.isoformat().replace("+00:00", "Z"),
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
    from tickets.email_out import AUTOMATIC_HEADERS, ComposedEmail
    from tickets.outbox import enqueue_email

    composed = ComposedEmail(
        to=sorted(set(recipients)), subject=subject, text=body, headers=dict(AUTOMATIC_HEADERS)
    )
    enqueue_email(OutboundEmail.Kind.AGENT_ALERT, composed, ticket=ticket)


# --- mail that could not be delivered ------------------------------------------------


def record_undelivered_email(outbound: OutboundEmail) -> TicketEvent | None:
    """Tell the ticket's agents that the outbox gave up on one of its mails (internal)."""
    if outbound.ticket_id is None:
        return None
    with transaction.atomic():
        ticket = _locked(outbound.ticket)
        event = _append(
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


# --- chat → ticket -------------------------------------------------------------------


def _transcript_line(event: Any) -> dict[str, Any]:
    author = event.payload.get("author") or {}
    return {
        "seq": event.seq,
        "role": event.author_role,
        "name": author.get("name") if isinstance(author, dict) else None,
        "body": event.payload.get("body", ""),
        "internal": event.internal,
        "at": event.created_at.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z"),
    }


def convert_conversation(
    conversation: Any,
    *,
    subject: str | None = "",
    priority: str | None = Priority.NORMAL,
    by: AbstractBaseUser | None = None,
    reason: str,
) -> Ticket:
    """The chat as a ticket on the contact's record; at most one ticket per chat.

    The ticket's first message is the visitor's first message; the chat's
    messages go on the ticket as `transcript` events (a public one with the
    public messages, and for agents an internal one with everything,
    internal notes included). The conversation gets an event of kind
    `ticket` both sides see. Converting again returns the same ticket.
    `reason`: `agent`, `offline`, `unanswered` or `left`.
    """
    from chat import log as chat_log
    from chat.models import ChatAttachment, Conversation, ConversationEvent

    priority = priority or Priority.NORMAL
    if priority not in Priority.values:
        raise TicketError(_("unknown priority"))
    with transaction.atomic():
        # The conversation row lock makes concurrent conversions (an agent
        # and the sweep, two workers) take turns; the loser finds the ticket.
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("visitor", "contact", "department", "assigned_agent")
            .get(pk=conversation.pk)
        )
        existing = Ticket.objects.filter(conversation=conversation).first()
        if existing is not None:
            return existing
        messages = list(
            ConversationEvent.objects.filter(
                conversation=conversation, kind=ConversationEvent.Kind.MESSAGE
            ).order_by("seq")
        )
        visitor = conversation.visitor
        contact = conversation.contact or (visitor.contact if visitor.contact_id else None)
        public_lines = [_transcript_line(m) for m in messages if not m.internal]
        first_visitor = next(
            (m for m in messages if m.author_role == "visitor" and not m.internal), None
        )
        first_agent = next(
            (m for m in messages if m.author_role == "agent" and not m.internal), None
        )
        body = first_visitor.payload.get("body", "") if first_visitor is not None else ""
        # No visitor text: the subject and message stay empty, and each
        # screen names them in its reader's language (subject_for_display).
        body = body if isinstance(body, str) else ""
        if not (subject or "").strip():
            subject = _first_line(body)
        assignee = (
            by if by is not None and hasattr(by, "agent_profile") else conversation.assigned_agent
        )
        # The chat's files carry over (the same stored files): public ones with
        # the opening message, internal ones with the agents' transcript.
        chat_files = list(ChatAttachment.objects.filter(conversation=conversation).order_by("pk"))
        ticket = create_ticket(
            subject=subject,
            body=body,
            contact=contact,
            channel=Ticket.Channel.CHAT,
            department=conversation.department,
            priority=priority,
            author_role=Role.CUSTOMER if contact is not None else Role.SYSTEM,
            author_contact=contact,
            conversation=conversation,
            requester_name=visitor.name,
            requester_email=visitor.email,
            assignee=assignee,
            status=Status.OPEN if first_agent is not None else Status.NEW,
            first_responded_at=first_agent.created_at if first_agent is not None else None,
            chat_files=[f for f in chat_files if not f.internal],
            as_received=True,
        )
        _append(
            ticket,
            kind=Kind.TRANSCRIPT,
            payload={
                "conversation": str(conversation.public_id),
                "reason": reason,
                "messages": public_lines,
            },
            author_role=_role_of(by),
            author_user=by,
        )
        internal_files = [f for f in chat_files if f.internal]
        if any(m.internal for m in messages) or internal_files:
            carried = _new_attachments(ticket, chat_files=internal_files, internal=True)
            payload = {
                "conversation": str(conversation.public_id),
                "reason": reason,
                "messages": [_transcript_line(m) for m in messages],
            }
            if carried:
                payload["attachments"] = [attachment_wire(f, ticket.number) for f in carried]
            transcript = _append(
                ticket,
                kind=Kind.TRANSCRIPT,
                internal=True,
                payload=payload,
                author_role=_role_of(by),
                author_user=by,
            )
            _link_attachments(carried, transcript)
        appended = chat_log.append_event(
            conversation,
            kind=ConversationEvent.Kind.TICKET,
            payload={
                "number": ticket.number,
                "status": ticket.status,
                "portal_url": ticket.portal_url,
            },
            author=chat_log.agent_author(by) if by is not None else chat_log.SYSTEM,
            require_open=False,
        )
        ticket.chat_event = appended.frame  # type: ignore[attr-defined]
    return ticket


def _first_line(body: str) -> str:
    line = body.strip().splitlines()[0] if body.strip() else ""
    return line[:120]


def ticket_event_for_conversation(ticket: Ticket) -> dict[str, Any] | None:
    """The chat event frame of kind `ticket` for a ticket made from a chat."""
    from chat.log import event_frame
    from chat.models import ConversationEvent

    if ticket.conversation_id is None:
        return None
    event = (
        ConversationEvent.objects.filter(
            conversation_id=ticket.conversation_id, kind=ConversationEvent.Kind.TICKET
        )
        .select_related("conversation")
        .order_by("seq")
        .first()
    )
    if event is None:
        return None
    return event_frame(
        event.conversation.public_id,
        seq=event.seq,
        kind=event.kind,
        payload=event.payload,
        created_at=event.created_at,
        internal=event.internal,
        for_agent=True,
    )
