"""Chat → ticket as chat calls it (through `chat.conversion`), and the automatic kinds.

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

from chat.actions.conversations import close_conversation
from chat.errors import Conflict
from chat.log import Appended
from chat.models import Conversation, ConversationEvent
from queues.hours import is_open
from queues.models import Department
from tickets.actions import convert_conversation, ticket_event_for_conversation
from tickets.models import Ticket

logger = logging.getLogger(__name__)

AUTOMATIC_REASONS = {"offline", "unanswered", "left"}
SWEEP_BATCH = 100


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
            and is_open(_with_hours(conversation.department), timezone.now())
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


def _with_hours(department: Department) -> Department:
    return Department.objects.prefetch_related("hours", "holidays").get(pk=department.pk)


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


def sweep(now: datetime.datetime | None = None) -> dict[str, Any]:
    """The tickets part of chat's sweep loop: SLA clocks and unanswered chats."""
    from tickets.actions import sweep_sla

    counts: dict[str, Any] = {}
    counts.update(sweep_unanswered(now))
    counts.update(sweep_sla(now))
    return counts
