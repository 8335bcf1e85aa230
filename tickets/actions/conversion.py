"""How a chat becomes a ticket: the whole tickets side, in one module.

Chat is a lower layer and never imports tickets: `TicketsConfig.ready()`
registers `convert_for_chat` with chat's registry (`chat.conversion`), and
chat calls it from the agent socket's `to_ticket`
(`chat.conversion.convert_on_request`) and from its own actions
(`chat.conversion.convert_automatically`). `sweep_unanswered` runs in chat's
sweep loop, registered the same way. `convert_conversation` does the work:
the ticket, its transcript events, the chat's files, and the chat's own
`ticket` event, in one transaction.

The kinds (`reason`):
- `agent`: the agent's `to_ticket`; the chat stays as it is.
- `offline`: a chat started while its department was offline (the widget's
  welcome said `online: false`) becomes a ticket once the visitor's message
  lands, and leaves the queue, when the department is closed by its
  business hours. Offline within business hours (nobody signed in yet)
  waits: the `unanswered` rule converts it after `auto_ticket_after_s`
  (the setting `CHATPORTAL_TICKET_WHEN_NOBODY_ONLINE = True` converts it at
  once instead).
- `unanswered`: a queued chat nobody answered within the department's
  `auto_ticket_after_s` (the sweep), and leaves the queue.
- `left`: the visitor ended a chat no agent had answered.

Every kind is idempotent: a conversation has at most one ticket.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from chat import log as chat_log
from chat.actions.conversations import close_conversation
from chat.errors import Conflict
from chat.log import Appended, event_frame
from chat.models import ChatAttachment, Conversation, ConversationEvent
from foundation.timestamps import iso_timestamp
from queues.hours import is_open
from queues.models import Department
from tickets import links
from tickets.actions.attachments import link_attachments, new_attachments
from tickets.actions.log import append_event, department_with_hours, role_of
from tickets.actions.messages import create_ticket
from tickets.attachments import attachment_wire
from tickets.errors import TicketError
from tickets.models import Ticket, TicketEvent

logger = logging.getLogger(__name__)

Status = Ticket.Status
Priority = Ticket.Priority
Kind = TicketEvent.Kind
Role = TicketEvent.Role

AUTOMATIC_REASONS = {"offline", "unanswered", "left"}
SWEEP_BATCH = 100


# --- converting ----------------------------------------------------------------------


def _transcript_line(event: Any) -> dict[str, Any]:
    author = event.payload.get("author") or {}
    return {
        "seq": event.seq,
        "role": event.author_role,
        "name": author.get("name") if isinstance(author, dict) else None,
        "body": event.payload.get("body", ""),
        "internal": event.internal,
        "at": iso_timestamp(event.created_at),
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
            # The unit the chat named (checked against the contact when it was named).
            asset=conversation.asset if contact is not None else None,
            requester_name=visitor.name,
            requester_email=visitor.email,
            assignee=assignee,
            status=Status.OPEN if first_agent is not None else Status.NEW,
            first_responded_at=first_agent.created_at if first_agent is not None else None,
            chat_files=[f for f in chat_files if not f.internal],
            as_received=True,
        )
        append_event(
            ticket,
            kind=Kind.TRANSCRIPT,
            payload={
                "conversation": str(conversation.public_id),
                "reason": reason,
                "messages": public_lines,
            },
            author_role=role_of(by),
            author_user=by,
        )
        internal_files = [f for f in chat_files if f.internal]
        if any(m.internal for m in messages) or internal_files:
            carried = new_attachments(ticket, chat_files=internal_files, internal=True)
            payload = {
                "conversation": str(conversation.public_id),
                "reason": reason,
                "messages": [_transcript_line(m) for m in messages],
            }
            if carried:
                payload["attachments"] = [attachment_wire(f, ticket.number) for f in carried]
            transcript = append_event(
                ticket,
                kind=Kind.TRANSCRIPT,
                internal=True,
                payload=payload,
                author_role=role_of(by),
                author_user=by,
            )
            link_attachments(carried, transcript)
        ticket_payload = {
            "number": ticket.number,
            "status": ticket.status,
            "portal_url": ticket.portal_url,
        }
        if _identified_as(visitor, ticket.contact_id):
            # Signed in on the host site (JWT/HMAC): "Follow it in the portal" goes
            # straight in. Visitors alone see it (chat.log.VISITOR_ONLY_KEYS).
            ticket_payload["portal_login_url"] = links.link_url(
                links.WIDGET, ticket.number, contact_id=ticket.contact_id
            )
        appended = chat_log.append_event(
            conversation,
            kind=ConversationEvent.Kind.TICKET,
            payload=ticket_payload,
            author=chat_log.agent_author(by) if by is not None else chat_log.SYSTEM,
            require_open=False,
        )
        ticket.chat_event = appended.frame  # type: ignore[attr-defined]
    return ticket


def _identified_as(visitor: Any, contact_id: int | None) -> bool:
    """A verified identity (never the pre-chat form) made this visitor that contact."""
    return bool(visitor.external_id) and contact_id is not None and visitor.contact_id == contact_id


def _first_line(body: str) -> str:
    line = body.strip().splitlines()[0] if body.strip() else ""
    return line[:120]


def ticket_event_for_conversation(ticket: Ticket) -> dict[str, Any] | None:
    """The chat event frame of kind `ticket` for a ticket made from a chat."""
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


# --- what chat calls -----------------------------------------------------------------


def _appended(ticket: Ticket, conversation: Conversation, *, duplicate: bool) -> Appended:
    frame = getattr(ticket, "chat_event", None) or ticket_event_for_conversation(ticket)
    if frame is None:
        raise Conflict("the ticket has no chat event")
    return Appended(
        conversation_pk=conversation.pk,
        conversation=conversation.public_id,
        seq=frame["seq"],
        frame=frame,
        duplicate=duplicate,
    )


def convert_for_chat(
    conversation: Conversation,
    *,
    subject: str | None = None,
    priority: str | None = None,
    by: AbstractBaseUser | None = None,
    reason: str = "agent",
) -> Appended | None:
    """The converter chat calls; returns the chat's `ticket` event (None: not converted)."""
    if reason in AUTOMATIC_REASONS:
        return convert_automatically(conversation.pk, reason=reason)
    duplicate = Ticket.objects.filter(conversation=conversation).exists()
    ticket = convert_conversation(
        conversation, subject=subject or "", priority=priority or "normal", by=by, reason=reason
    )
    return _appended(ticket, conversation, duplicate=duplicate)


def _agent_answered() -> Exists:
    return Exists(
        ConversationEvent.objects.filter(
            conversation=OuterRef("pk"),
            kind=ConversationEvent.Kind.MESSAGE,
            author_role=ConversationEvent.Role.AGENT,
            internal=False,
        )
    )


def convert_automatically(conversation_pk: int, *, reason: str) -> Appended | None:
    """Convert if the chat still qualifies for `reason`; None when it does not.

    A chat an agent has answered never converts by itself; a queued one
    leaves the queue (closed with reason `ticket`) once it is a ticket.
    """
    if reason not in AUTOMATIC_REASONS:
        raise ValueError(reason)
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("department", "visitor")
            .annotate(answered=_agent_answered())
            .filter(pk=conversation_pk)
            .first()
        )
        if conversation is None or conversation.answered:
            return None
        if Ticket.objects.filter(conversation=conversation).exists():
            return None
        if reason == "left":
            if conversation.state != Conversation.State.CLOSED or conversation.assigned_agent_id:
                return None
        elif conversation.state != Conversation.State.QUEUED:
            return None
        if (
            reason == "offline"
            and not getattr(settings, "CHATPORTAL_TICKET_WHEN_NOBODY_ONLINE", False)
            and is_open(department_with_hours(conversation.department), timezone.now())
        ):
            # Within business hours with nobody online yet: an agent may still
            # come (a shift starting, a reload); the unanswered rule converts
            # it after the department's auto_ticket_after_s.
            return None
        ticket = convert_conversation(
            conversation, subject="", priority="normal", by=None, reason=reason
        )
        appended = _appended(ticket, conversation, duplicate=False)
        if conversation.state == Conversation.State.QUEUED:
            conversation.refresh_from_db(fields=["state", "last_seq"])
            close_conversation(conversation, by="system", reason="ticket")
    return appended


def sweep_unanswered(now: datetime.datetime | None = None) -> dict[str, int]:
    """Queued chats that waited past their department's `auto_ticket_after_s` become tickets."""
    now = now or timezone.now()
    thresholds = dict(
        Department.objects.filter(auto_ticket_after_s__gt=0).values_list(
            "pk", "auto_ticket_after_s"
        )
    )
    if not thresholds:
        return {"auto_tickets": 0}
    oldest_allowed = now - datetime.timedelta(seconds=min(thresholds.values()))
    candidates = (
        Conversation.objects.filter(
            state=Conversation.State.QUEUED,
            department_id__in=thresholds,
            queued_at__lte=oldest_allowed,
            ticket__isnull=True,
        )
        .annotate(answered=_agent_answered())
        .filter(answered=False)
        .values_list("pk", "department_id", "queued_at")
        .order_by("queued_at")[:SWEEP_BATCH]
    )
    converted = 0
    for pk, department_id, queued_at in candidates:
        if queued_at > now - datetime.timedelta(seconds=thresholds[department_id]):
            continue
        try:
            if convert_automatically(pk, reason="unanswered") is not None:
                converted += 1
        except Exception:
            logger.exception("automatic ticket for conversation %s failed", pk)
    return {"auto_tickets": converted}
