"""Reads for sockets: event frames from the log, conversation snapshots, ping states.

Everything here is synchronous ORM code that consumers call through
`database_sync_to_async`; it changes nothing. The queues' figures are in
`chat.queue`.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any, NamedTuple

from django.db.models import Q

from chat.log import event_frame
from chat.models import Conversation, ConversationEvent, Visitor
from chat.queue import queue_summary
from foundation.timestamps import iso_timestamp
from queues.models import Department

REPLAY_PAGE = 500


def events_after(
    conversation_pk: int,
    public_id: uuid.UUID | str,
    after_seq: int,
    *,
    for_agent: bool,
    limit: int = REPLAY_PAGE,
) -> tuple[list[dict[str, Any]], int]:
    """Visible event frames with seq > after_seq (one indexed query), and the
    highest seq examined: the caller's new last-sent mark, even when the
    events above the mark were all invisible to it."""
    rows = ConversationEvent.objects.filter(conversation_id=conversation_pk, seq__gt=after_seq)
    rows = rows.order_by("seq").values_list("seq", "kind", "payload", "created_at", "internal")
    frames, last = [], after_seq
    for seq, kind, payload, created_at, internal in rows[:limit]:
        last = seq
        if internal and not for_agent:
            continue
        frames.append(
            event_frame(
                public_id,
                seq=seq,
                kind=kind,
                payload=payload,
                created_at=created_at,
                internal=internal,
                for_agent=for_agent,
            )
        )
    return frames, last


def last_seqs(conversation_pks: Collection[int]) -> dict[int, int]:
    if not conversation_pks:
        return {}
    return dict(Conversation.objects.filter(pk__in=conversation_pks).values_list("pk", "last_seq"))


def open_conversation_of(visitor: Visitor) -> Conversation | None:
    return (
        Conversation.objects.select_related("department", "assigned_agent")
        .filter(visitor=visitor, state__in=Conversation.OPEN_STATES)
        .first()
    )


def agent_display_name(user) -> str:
    return user.get_full_name() or user.get_username()


def conversation_for_visitor(conversation: Conversation) -> dict[str, Any]:
    agent = conversation.assigned_agent
    return {
        "id": str(conversation.public_id),
        "state": conversation.state,
        "last_seq": conversation.last_seq,
        "agent": {"name": agent_display_name(agent)} if agent else None,
    }


def conversation_for_agent(conversation: Conversation) -> dict[str, Any]:
    """Needs `department`, `visitor` and `assigned_agent` loaded (select_related)."""
    agent = conversation.assigned_agent
    return {
        "id": str(conversation.public_id),
        "state": conversation.state,
        "last_seq": conversation.last_seq,
        "department": conversation.department.slug,
        "visitor": {"name": conversation.visitor.display_name},
        "agent": {"name": agent_display_name(agent)} if agent else None,
        "page": {"url": conversation.page_url, "title": conversation.page_title},
        "locale": conversation.locale,
        "created_at": iso_timestamp(conversation.created_at),
        # Routing offered it and the agent has not answered yet (accept or a reply).
        "offered": conversation.offered_at is not None,
    }


def agent_snapshot(user, department_ids: Collection[int]) -> tuple[list[Conversation], list[dict]]:
    """The agent's assigned open conversations, and the queues of its departments."""
    assigned = list(
        Conversation.objects.select_related("department", "visitor", "assigned_agent")
        .filter(assigned_agent=user, state__in=Conversation.OPEN_STATES)
        .order_by("assigned_at")
    )
    queues = [
        queue_summary(department)
        for department in Department.objects.filter(pk__in=department_ids).order_by("slug")
    ]
    return assigned, queues


class OpenConversation(NamedTuple):
    pk: int
    public_id: uuid.UUID
    last_seq: int


def visitor_ping_state(
    visitor: Visitor, pks: Collection[int]
) -> tuple[OpenConversation | None, dict[int, int]]:
    """The visitor's open conversation and the followed ones' last seqs, in one light query.

    Every open widget tab pings every 20 s: with model instances and their
    joins (`open_conversation_of`) building the query cost more Python than
    the rest of the ping together (measured: 57 % of a worker's CPU with 500
    idle tabs pinging). Plain columns only.
    """
    rows = (
        Conversation.objects.filter(
            Q(pk__in=list(pks)) | Q(visitor=visitor, state__in=Conversation.OPEN_STATES)
        )
        .order_by("pk")
        .values_list("pk", "public_id", "last_seq", "visitor_id", "state")
    )
    conversation = None
    seqs: dict[int, int] = {}
    for pk, public_id, last_seq, visitor_id, state in rows:
        if pk in pks:
            seqs[pk] = last_seq
        if conversation is None and visitor_id == visitor.pk and state in Conversation.OPEN_STATES:
            conversation = OpenConversation(pk, public_id, last_seq)
    return conversation, seqs


def agent_ping_state(user, pks: Collection[int]):
    """Ids of the agent's assigned open conversations, and (last_seq, state) of the followed ones."""
    assigned = {
        str(public_id)
        for public_id in Conversation.objects.filter(
            assigned_agent=user, state__in=Conversation.OPEN_STATES
        ).values_list("public_id", flat=True)
    }
    rows = Conversation.objects.filter(pk__in=pks).values_list("pk", "last_seq", "state")
    return assigned, {pk: (seq, state) for pk, seq, state in rows}


HISTORY_CONVERSATIONS = 20
HISTORY_MESSAGES = 200


def previous_conversations(visitor: Visitor) -> list[dict[str, Any]]:
    """The `history` frame's list: the visitor's (and its contact's) ended
    conversations, newest first, each with its messages as the visitor saw
    them (internal notes never). Two queries whatever the count."""
    scope = Q(visitor=visitor)
    if visitor.contact_id is not None:
        scope |= Q(contact_id=visitor.contact_id)
    conversations = list(
        Conversation.objects.filter(scope, state=Conversation.State.CLOSED)
        .select_related("department")
        .order_by("-created_at", "-pk")[:HISTORY_CONVERSATIONS]
    )
    messages: dict[int, list[dict[str, Any]]] = {c.pk: [] for c in conversations}
    rows = (
        ConversationEvent.objects.filter(
            conversation_id__in=list(messages),
            kind=ConversationEvent.Kind.MESSAGE,
            internal=False,
        )
        .order_by("conversation_id", "seq")
        .values_list("conversation_id", "seq", "payload", "created_at")
    )
    for conversation_pk, seq, payload, created_at in rows:
        kept = messages[conversation_pk]
        if len(kept) < HISTORY_MESSAGES:
            kept.append(
                {
                    "seq": seq,
                    "at": iso_timestamp(created_at),
                    "author": payload.get("author") or {"role": "system", "name": None},
                    "body": payload.get("body", ""),
                }
            )
    return [
        {
            "id": str(c.public_id),
            "department": c.department.name,
            "started_at": iso_timestamp(c.created_at),
            "messages": messages[c.pk],
        }
        for c in conversations
    ]


# --- the supervisor's floor (/console/floor/) ----------------------------------------


def floor_conversations(now) -> list[dict[str, Any]]:
    """Every open conversation, waiting ones first (longest wait first), then active ones
    (longest running first): department, visitor, agent, state, wait or duration in seconds."""
    rows = (
        Conversation.objects.select_related("department", "visitor", "assigned_agent")
        .filter(state__in=Conversation.OPEN_STATES)
        # "queued" sorts after "active": descending puts the waiting ones first.
        .order_by("-state", "queued_at", "assigned_at", "created_at")
    )
    chats = []
    for conversation in rows:
        agent = conversation.assigned_agent
        waiting = conversation.state == Conversation.State.QUEUED
        since = (
            (conversation.queued_at or conversation.created_at)
            if waiting
            else (conversation.assigned_at or conversation.created_at)
        )
        chats.append(
            {
                "id": str(conversation.public_id),
                "state": conversation.state,
                "offered": conversation.offered_at is not None,
                "department": conversation.department,
                "visitor": conversation.visitor.display_name,
                "agent": agent_display_name(agent) if agent else None,
                "agent_username": agent.get_username() if agent else None,
                "seconds": max(0, int((now - since).total_seconds())),
                "last_seq": conversation.last_seq,
            }
        )
    return chats
