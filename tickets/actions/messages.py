"""Opening a ticket and writing on it: its first message, replies, internal notes.

`create_ticket` numbers the ticket, sets its SLA clocks and logs the opening
message (`created`), whatever it came from: the portal, the API, an e-mail
(`tickets.email.inbound`) or a chat (`tickets.actions.conversion`).
`add_reply` logs a public reply or an agent's internal note, and the status
change a reply implies. Files go with either (`tickets.actions.attachments`).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Contact
from foundation.uploads import CheckedUpload
from queues.models import Department
from tickets import sla
from tickets.actions.assets import asset_wire, call_wire
from tickets.actions.attachments import link_attachments, new_attachments
from tickets.actions.lifecycle import status_fields
from tickets.actions.log import append_event, department_with_hours, locked_ticket, sync_ticket
from tickets.actions.routing import apply_continuity, department_for_new_ticket
from tickets.attachments import RefusedFile, StoredFiles, attachment_wire
from tickets.errors import TicketConflict, TicketError
from tickets.models import NUMBER_PREFIX, Ticket, TicketEvent, TicketNumber

Status = Ticket.Status
Priority = Ticket.Priority
Role = TicketEvent.Role
Kind = TicketEvent.Kind

MAX_BODY_CHARS = 10_000
MAX_SUBJECT_CHARS = 300


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
    call: Any = None,
    asset: Any = None,
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
    department = department_for_new_ticket(
        department,
        contact,
        channel=channel,
        chosen_by_agent=author_role == Role.AGENT or conversation is not None,
    )
    now = timezone.now()
    plan = sla.plan_for(contact)
    first_due = resolution_due = None
    if plan is not None:
        schedule = sla.clock_schedule(plan, department_with_hours(department))
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
            call=call,
            asset=asset,
            sla_plan=plan,
            first_response_due=first_due,
            resolution_due=resolution_due,
            first_responded_at=first_responded_at,
        )
        ticket.save(force_insert=True)
        files = new_attachments(ticket, stored=stored, chat_files=chat_files, internal=False)
        payload: dict[str, Any] = {
            "subject": subject,
            "body": body,
            "channel": channel,
            "priority": priority,
        }
        if files:
            payload["attachments"] = [attachment_wire(f, ticket.number) for f in files]
        if call is not None:
            payload["call"] = call_wire(call)
        if asset is not None:
            payload["asset"] = asset_wire(asset)
        if refused_attachments:
            payload["refused_attachments"] = list(refused_attachments)
        event = append_event(
            ticket,
            kind=Kind.CREATED,
            payload=payload,
            author_role=author_role,
            author_user=author_user,
            author_contact=author_contact,
        )
        link_attachments(files, event)
        apply_continuity(ticket, channel=channel)
    return ticket


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
        locked = locked_ticket(ticket)
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
            fields.update(status_fields(locked, status_change[1], now))
        files = new_attachments(locked, stored=stored, internal=internal)
        payload: dict[str, Any] = {"body": body}
        if files:
            payload["attachments"] = [attachment_wire(f, locked.number) for f in files]
        if refused_attachments:
            payload["refused_attachments"] = list(refused_attachments)
        event = append_event(
            locked,
            kind=Kind.NOTE if internal else Kind.REPLY,
            payload=payload,
            author_role=author_role,
            author_user=author_user,
            author_contact=author_contact,
            internal=internal,
            fields=fields,
        )
        link_attachments(files, event)
        if status_change is not None:
            append_event(
                locked,
                kind=Kind.STATUS,
                payload={"old": status_change[0], "new": status_change[1], "cause": "reply"},
                author_role=Role.SYSTEM,
            )
        sync_ticket(ticket, locked)
    return event
