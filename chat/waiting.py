"""Honest waiting: each queued visitor's place in line and estimated wait.

One query per queue change builds the department's snapshot (the serving
order plus the figures the estimate needs); it goes once to the group of the
department's waiting visitors and every socket finds its own place in it.
That is one send per change, not one per waiting visitor.
"""

from __future__ import annotations

import datetime
from typing import Any, Literal, TypedDict

from django.db.models import F
from django.utils import timezone

from chat.models import Conversation
from queues import routing
from queues.hours import is_open
from queues.models import Department
from queues.presence import agent_states

State = Conversation.State
SNAPSHOT_LIMIT = 500
RECENT_SAMPLE = 50
RECENT_WINDOW = datetime.timedelta(hours=24)


def waiting_group(department_slug: str) -> str:
    return f"dept.{department_slug}.waiting"


class QueueSnapshot(TypedDict):
    type: Literal["queue.snapshot"]
    department: str
    order: list[str]  # public ids (hex) in serving order
    capacity: int
    free_slots: int
    handle_s: list[float]
    wait_s: list[float]


def _recent_durations(
    department: Department, now: datetime.datetime
) -> tuple[list[float], list[float]]:
    recent = Conversation.objects.filter(
        department=department,
        assigned_at__isnull=False,
        queued_at__isnull=False,
        created_at__gte=now - RECENT_WINDOW,
    )
    handled = (
        recent.filter(state=State.CLOSED, closed_at__isnull=False)
        .annotate(handle=F("closed_at") - F("assigned_at"))
        .order_by("-closed_at")
        .values_list("handle", flat=True)[:RECENT_SAMPLE]
    )
    waited = (
        recent.annotate(wait=F("assigned_at") - F("queued_at"))
        .order_by("-assigned_at")
        .values_list("wait", flat=True)[:RECENT_SAMPLE]
    )
    handle = [d.total_seconds() for d in handled if d is not None and d.total_seconds() >= 0]
    wait = [d.total_seconds() for d in waited if d is not None and d.total_seconds() >= 0]
    return handle, wait


def queue_snapshot(
    department: Department, *, now: datetime.datetime | None = None
) -> QueueSnapshot:
    from chat.assignment import active_chat_counts, waiting_queue

    now = now or timezone.now()
    order = [
        c.hex
        for c in waiting_queue(department).values_list("public_id", flat=True)[:SNAPSHOT_LIMIT]
    ]
    capacity = free = 0
    if is_open(department, now):
        agents = [
            a
            for a in agent_states([department.slug], active_chats={}, now=now)
            if a.online and a.accepting
        ]
        load = active_chat_counts([a.agent_id for a in agents])
        capacity = sum(a.max_chats for a in agents)
        free = sum(max(0, a.max_chats - load.get(a.agent_id, 0)) for a in agents)
    handle, wait = _recent_durations(department, now)
    return {
        "type": "queue.snapshot",
        "department": department.slug,
        "order": order,
        "capacity": capacity,
        "free_slots": free,
        "handle_s": handle,
        "wait_s": wait,
    }


def estimate_for_position(snapshot: QueueSnapshot | dict[str, Any], position: int) -> int | None:
    return routing.estimate_wait_s(
        position,
        recent_waits_s=snapshot["wait_s"],
        recent_handle_s=snapshot["handle_s"],
        capacity=snapshot["capacity"],
        free_slots=snapshot["free_slots"],
    )


def position_frame(
    snapshot: QueueSnapshot | dict[str, Any], public_id: str
) -> dict[str, Any] | None:
    """The visitor's `queue` frame, or None when the conversation is not waiting."""
    key = public_id.replace("-", "")
    try:
        position = snapshot["order"].index(key) + 1
    except ValueError:
        return None
    return {
        "type": "queue",
        "conversation": public_id,
        "position": position,
        "estimated_wait_s": estimate_for_position(snapshot, position),
    }


def department_estimate(
    department: Department, *, now: datetime.datetime | None = None
) -> dict[str, Any]:
    """For `welcome.department`: could someone answer now, and how long would a new chat wait."""
    snapshot = queue_snapshot(department, now=now)
    online = snapshot["capacity"] > 0
    position = len(snapshot["order"]) + 1
    return {
        "online": online,
        "estimated_wait_s": estimate_for_position(snapshot, position) if online else None,
        "long_wait_s": department.long_wait_s,
    }


def visitor_queue_frame(conversation_pk: int) -> tuple[str | None, dict[str, Any] | None]:
    """(department slug, `queue` frame) for a conversation; the frame is None unless it waits."""
    conversation = (
        Conversation.objects.select_related("department")
        .filter(pk=conversation_pk)
        .only("public_id", "state", "department")
        .first()
    )
    if conversation is None or conversation.state != State.QUEUED:
        return (conversation.department.slug if conversation else None), None
    department = Department.objects.prefetch_related("hours", "holidays").get(
        pk=conversation.department_id
    )
    snapshot = queue_snapshot(department)
    return department.slug, position_frame(snapshot, str(conversation.public_id))
