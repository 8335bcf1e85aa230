"""Reads for sockets: event frames from the log, snapshots, queue figures.

Everything here is synchronous ORM code that consumers call through
`database_sync_to_async`; it changes nothing.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from collections.abc import Collection
from typing import Any

from django.db.models import Count, Min
from django.utils import timezone

from chat.models import Conversation, ConversationEvent, Visitor
from foundation.timestamps import iso_timestamp
from queues.models import Department

logger = logging.getLogger(__name__)

REPLAY_PAGE = 500
QUEUE_LIST_LIMIT = 20


def event_frame(
    conversation: uuid.UUID | str,
    *,
    seq: int,
    kind: str,
    payload: dict[str, Any],
    created_at: datetime.datetime,
    internal: bool,
    for_agent: bool,
) -> dict[str, Any]:
    frame: dict[str, Any] = {
        "type": "event",
        "conversation": str(conversation),
        "seq": seq,
        "at": iso_timestamp(created_at),
        "kind": kind,
    }
    frame.update(payload)
    if for_agent:
        frame["internal"] = internal
    return frame


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


def department_for_visitor(department: Department, *, now: datetime.datetime | None = None):
    from chat.waiting import department_estimate

    now = now or timezone.now()
    # Online: open now AND someone online and accepting could take the chat.
    estimate = department_estimate(department, now=now)
    return {
        "slug": department.slug,
        "name": department.name,
        "online": estimate["online"],
        "estimated_wait_s": estimate["estimated_wait_s"],
        # Past this the widget offers to leave a message instead of waiting.
        "long_wait_s": estimate["long_wait_s"],
        "hours": department_hours(department),
    }


def department_hours(department: Department) -> str:
    from queues.hours import describe_hours

    return str(describe_hours(department))


def queue_summary(
    department: Department, *, now: datetime.datetime | None = None
) -> dict[str, Any]:
    """The `queue` frame for agents: how many wait, the oldest wait, and the first ones.

    Two light queries (an aggregate and a values() list): every agent of the
    department runs this on each queue change.
    """
    now = now or timezone.now()
    waiting = Conversation.objects.filter(department=department, state=Conversation.State.QUEUED)
    figures = waiting.aggregate(count=Count("pk"), oldest=Min("queued_at"))
    oldest = figures["oldest"]
    rows = waiting.order_by("queued_at", "pk").values_list(
        "public_id", "last_seq", "visitor__name", "page_url", "page_title", "locale", "created_at"
    )[:QUEUE_LIST_LIMIT]
    return {
        "type": "queue",
        "department": department.slug,
        "waiting": figures["count"],
        "oldest_wait_s": max(0, int((now - oldest).total_seconds())) if oldest else None,
        "conversations": [
            {
                "id": str(public_id),
                "state": Conversation.State.QUEUED.value,
                "last_seq": last_seq,
                "department": department.slug,
                "visitor": {"name": visitor_name or None},
                "agent": None,
                "page": {"url": url, "title": title},
                "locale": locale,
                "created_at": iso_timestamp(created_at),
            }
            for public_id, last_seq, visitor_name, url, title, locale, created_at in rows
        ],
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


def visitor_ping_state(visitor: Visitor, pks: Collection[int]):
    return open_conversation_of(visitor), last_seqs(pks)


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
