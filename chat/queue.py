"""The queues, read-only: serving order, load, and what each side is told.

- The serving order (`waiting_queue`: SLA tier, then arrival) and the agents'
  load (`active_chat_counts`), which routing (`chat.actions.routing`) uses.
- Honest waiting: each queued visitor's place in line and estimated wait.
  One query per queue change builds the department's snapshot (the serving
  order plus the figures the estimate needs); it goes once to the group of
  the department's waiting visitors (sent by `chat.actions.scheduling`) and
  every socket finds its own place in it. That is one send per change, not
  one per waiting visitor.
- The agents' `queue` frame (`queue_summary`) and the widget's view of a
  department (`department_for_visitor`).

Nothing here writes or publishes.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Collection
from typing import Any, Literal, TypedDict

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    Count,
    F,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from chat.models import Conversation
from crm.models import SupportContract
from foundation.timestamps import iso_timestamp
from queues import routing
from queues.hours import describe_hours, is_open
from queues.models import AgentConnection, AgentPresence, AgentProfile, Department
from queues.presence import agent_states, live_cutoff

State = Conversation.State
SNAPSHOT_LIMIT = 500
QUEUE_LIST_LIMIT = 20
RECENT_SAMPLE = 50
RECENT_WINDOW = datetime.timedelta(hours=24)


def waiting_group(department_slug: str) -> str:
    return f"dept.{department_slug}.waiting"


# --- serving order and load ----------------------------------------------------------


def _priority_subquery():
    """The contact's SLA tier: the highest plan priority among active contracts."""
    today = timezone.localdate()
    contracts = SupportContract.objects.filter(
        organization=OuterRef("contact__organization"), starts_on__lte=today, ends_on__gte=today
    ).order_by("-plan__priority")
    return Coalesce(
        Subquery(contracts.values("plan__priority")[:1], output_field=IntegerField()), Value(0)
    )


def waiting_queue(department: Department) -> QuerySet[Conversation]:
    """The department's queue in serving order: SLA tier, then arrival."""
    return (
        Conversation.objects.filter(department=department, state=State.QUEUED)
        .annotate(priority=_priority_subquery())
        .order_by("-priority", "queued_at", "pk")
    )


def active_chat_counts(agent_ids: Collection[int] | None = None) -> dict[int, int]:
    rows = Conversation.objects.filter(state=State.ACTIVE, assigned_agent__isnull=False)
    if agent_ids is not None:
        rows = rows.filter(assigned_agent__in=agent_ids)
    return dict(
        rows.values("assigned_agent").annotate(n=Count("pk")).values_list("assigned_agent", "n")
    )


# --- honest waiting ------------------------------------------------------------------


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


@functools.cache
def _capacity_sql() -> str:
    """One statement: the department's waiting count, its agents' slots and free slots.

    The agents are `queues.presence.agent_states`' `online and accepting` (an
    active user who chose online, accepts chats and has a live connection),
    their load the chats assigned to them and active. Written once as SQL:
    the same query built by the ORM cost several milliseconds of Python per
    hello, more than the database took to answer it.
    """
    quote = connection.ops.quote_name

    def table(model) -> str:
        return quote(model._meta.db_table)

    def column(model, field: str) -> str:
        return quote(model._meta.get_field(field).column)

    through = AgentProfile.departments.through
    user = get_user_model()
    conversations = table(Conversation)
    # Identifiers from the models' metadata, quoted; every value is a parameter.
    return f"""
        SELECT
          (SELECT COUNT(*) FROM {conversations} w
            WHERE w.{column(Conversation, "department")} = %s
              AND w.{column(Conversation, "state")} = %s),
          COALESCE(SUM(a.slots), 0),
          COALESCE(SUM(CASE WHEN a.slots > a.load THEN a.slots - a.load ELSE 0 END), 0)
        FROM (
          SELECT p.{column(AgentProfile, "max_chats")} AS slots,
            (SELECT COUNT(*) FROM {conversations} c
              WHERE c.{column(Conversation, "state")} = %s
                AND c.{column(Conversation, "assigned_agent")} = p.{column(AgentProfile, "user")})
              AS load
          FROM {table(AgentProfile)} p
          JOIN {table(through)} d
            ON d.{column(through, "agentprofile")} = p.{column(AgentProfile, "id")}
            AND d.{column(through, "department")} = %s
          JOIN {table(user)} u
            ON u.{column(user, "id")} = p.{column(AgentProfile, "user")}
          JOIN {table(AgentPresence)} s
            ON s.{column(AgentPresence, "user")} = p.{column(AgentProfile, "user")}
          WHERE u.{column(user, "is_active")}
            AND s.{column(AgentPresence, "chosen_status")} = %s
            AND s.{column(AgentPresence, "accepting")}
            AND EXISTS (
              SELECT 1 FROM {table(AgentConnection)} n
              WHERE n.{column(AgentConnection, "user")} = p.{column(AgentProfile, "user")}
                AND n.{column(AgentConnection, "last_seen")} >= %s)
        ) a
    """  # noqa: S608


def waiting_and_capacity(department: Department, now: datetime.datetime) -> tuple[int, int, int]:
    """(chats waiting, chat slots, free slots) of the agents who could take a chat now.

    One round trip whose answer is three numbers: a hello must not cost more
    as the queue or the department's agents grow. A closed department has no
    slots; its waiting count is not asked for (0).
    """
    if not is_open(department, now):
        return 0, 0, 0
    params = [
        department.pk,
        State.QUEUED,
        State.ACTIVE,
        department.pk,
        AgentPresence.Status.ONLINE,
        connection.ops.adapt_datetimefield_value(live_cutoff(now)),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_capacity_sql(), params)
        waiting, capacity, free = cursor.fetchone()
    return int(waiting), int(capacity), int(free)


def serving_capacity(department: Department, now: datetime.datetime) -> tuple[int, int]:
    """(chat slots, free slots): the figures `queue_snapshot` computes from rows."""
    _waiting, capacity, free = waiting_and_capacity(department, now)
    return capacity, free


def department_online(department: Department, *, now: datetime.datetime | None = None) -> bool:
    """Open now, and an agent of it online and accepting could take a chat."""
    return serving_capacity(department, now or timezone.now())[0] > 0


def department_estimate(
    department: Department, *, now: datetime.datetime | None = None
) -> dict[str, Any]:
    """For `welcome.department`: could someone answer now, and how long would a new chat wait.

    From a count of the waiting chats and the agents' capacity (aggregates),
    not from the queue's order: every hello asks, so the cost must not grow
    with the queue or the number of agents. A new chat joins at the end of
    its tier; counting every waiting chat places it last, the honest bound.
    """
    now = now or timezone.now()
    waiting, capacity, free = waiting_and_capacity(department, now)
    if capacity <= 0:
        return {"online": False, "estimated_wait_s": None, "long_wait_s": department.long_wait_s}
    position = waiting + 1
    # A free slot for it: served at once, no need for recent durations.
    handle, wait = _recent_durations(department, now) if position > free else ([], [])
    return {
        "online": True,
        "estimated_wait_s": routing.estimate_wait_s(
            position,
            recent_waits_s=wait,
            recent_handle_s=handle,
            capacity=capacity,
            free_slots=free,
        ),
        "long_wait_s": department.long_wait_s,
    }


def position_in_queue(conversation: Conversation) -> int:
    """The waiting conversation's place in its department's serving order, by counting.

    The same order as `waiting_queue` (SLA tier, then arrival, then pk), asked
    as "how many are ahead": one number back, however long the queue.
    """
    queue = waiting_queue(conversation.department)
    priority = queue.filter(pk=conversation.pk).values_list("priority", flat=True).first() or 0
    ahead = queue.filter(
        Q(priority__gt=priority)
        | Q(priority=priority, queued_at__lt=conversation.queued_at)
        | Q(priority=priority, queued_at=conversation.queued_at, pk__lt=conversation.pk)
    ).count()
    return ahead + 1


def visitor_queue_frame(conversation_pk: int) -> tuple[str | None, dict[str, Any] | None]:
    """(department slug, `queue` frame) for a conversation; the frame is None unless it waits.

    A returning visitor asks at its hello: its place is counted and the
    estimate comes from the agents' capacity (aggregates), not from a queue
    snapshot, so a reconnect storm does not read the whole queue per socket.
    """
    conversation = (
        Conversation.objects.select_related("department")
        .filter(pk=conversation_pk)
        .only("public_id", "state", "queued_at", "department")
        .first()
    )
    if conversation is None or conversation.state != State.QUEUED:
        return (conversation.department.slug if conversation else None), None
    department = conversation.department
    if conversation.queued_at is None:
        # Not in the serving order by arrival (never expected): ask the snapshot.
        snapshot = queue_snapshot(department)
        return department.slug, position_frame(snapshot, str(conversation.public_id))
    now = timezone.now()
    position = position_in_queue(conversation)
    capacity, free = serving_capacity(department, now)
    handle, wait = (
        _recent_durations(department, now) if capacity > 0 and position > free else ([], [])
    )
    return department.slug, {
        "type": "queue",
        "conversation": str(conversation.public_id),
        "position": position,
        "estimated_wait_s": routing.estimate_wait_s(
            position,
            recent_waits_s=wait,
            recent_handle_s=handle,
            capacity=capacity,
            free_slots=free,
        ),
    }


# --- what each side is told ----------------------------------------------------------


def department_for_visitor(department: Department, *, now: datetime.datetime | None = None):
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
        # Whether the widget offers "Search help" before the first message.
        "kb_search": department.kb_search_box,
    }


def departments_for_visitor(slugs: list[str]) -> list[dict[str, Any]]:
    """The departments a host page offers, in its order, as `{slug, name, online}`."""
    found = {d.slug: d for d in Department.objects.filter(slug__in=slugs)}
    return [
        {
            "slug": slug,
            "name": found[slug].name,
            "online": department_online(found[slug]),
        }
        for slug in slugs
        if slug in found
    ]


def department_hours(department: Department) -> str:
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
