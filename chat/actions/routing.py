"""Applying the routing policy (`queues.routing`) to conversations.

Every event that frees capacity or adds work (a chat starts or closes, an
agent comes online or starts accepting, a transfer, a requeue) asks for a
routing pass over the departments concerned once it commits
(`chat.actions.scheduling`, which calls `route_waiting` here), so the
backlog drains at once; the periodic sweep (`chat.sweeper`) is only a
safety net. This module never asks for passes itself: whoever commits does.

Race-freedom across workers, on PostgreSQL and SQLite alike:

- the agent profiles of the departments being routed are locked first
  (`select_for_update`, in pk order), so two routers, or a router and an
  agent's manual `accept`, never count one agent's load at the same time:
  nobody goes above `max_chats`;
- queued conversations are then locked with `skip_locked`, so a second
  router takes the next ones instead of waiting;
- each claim is a compare-and-set on `state = queued`: a chat is assigned
  once.

On SQLite, `BEGIN IMMEDIATE` (settings) serializes writers and the same code
is correct. No network call happens inside the transaction: notifications go
out on commit.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from chat import events
from chat.log import SYSTEM, Claim, Kind, agent_author, append_claims, append_event
from chat.models import Conversation
from chat.queue import active_chat_counts, waiting_queue
from foundation.metrics import ROUTING_SECONDS
from foundation.realtime import publish_on_commit
from queues import routing
from queues.hours import is_open
from queues.models import AgentPresence, AgentProfile, Department, ProductRoute
from queues.presence import agent_states

logger = logging.getLogger(__name__)

State = Conversation.State

# How many waiting chats one routing pass looks at per department.
ROUTING_BATCH = 200


@dataclass(frozen=True)
class Assignment:
    conversation: uuid.UUID
    agent_id: int
    department_id: int


def publish_queue_changed_to_agents(department: Department) -> None:
    """The department's agents re-read the queue figures (after the commit).

    Its waiting visitors' places are the scheduler's part
    (`chat.actions.scheduling.publish_queue_changed` does both).
    """
    publish_on_commit(
        events.department_group(department.slug), events.queue_changed(department.slug)
    )


def _last_agent_subquery():
    earlier = Conversation.objects.filter(
        Q(visitor=OuterRef("visitor")) | Q(contact=OuterRef("contact"), contact__isnull=False),
        assigned_agent__isnull=False,
        state=State.CLOSED,
    ).order_by("-closed_at")
    return Subquery(earlier.values("assigned_agent")[:1])


def _skills_by_contact(contact_ids: Collection[int]) -> dict[int, frozenset[str]]:
    """Entitlement routing: the skills the contact's products call for."""
    if not contact_ids:
        return {}
    rows = (
        ProductRoute.objects.filter(product__assets__contact_id__in=contact_ids)
        .exclude(required_skill="")
        .values_list("product__assets__contact_id", "required_skill")
    )
    skills: dict[int, set[str]] = {}
    for contact_id, skill in rows:
        skills.setdefault(contact_id, set()).add(skill)
    return {k: frozenset(v) for k, v in skills.items()}


def _lock_agents(department_ids: Collection[int]) -> list[int]:
    ids = list(
        AgentProfile.objects.filter(departments__in=department_ids)
        .values_list("user_id", flat=True)
        .distinct()
        .order_by("user_id")
    )
    # Locked in pk order so that concurrent routers never deadlock.
    list(
        AgentProfile.objects.select_for_update()
        .filter(user_id__in=ids)
        .order_by("user_id")
        .values_list("pk", flat=True)
    )
    return ids


def _waiting_chats(department: Department, *, now: datetime.datetime) -> list[routing.WaitingChat]:
    queued = (
        waiting_queue(department)
        .annotate(last_agent=_last_agent_subquery())
        .select_related("contact")
    )
    if connection.features.has_select_for_update_skip_locked:
        queued = queued.select_for_update(skip_locked=True, of=("self",))
    rows = list(queued[:ROUTING_BATCH])
    skills = _skills_by_contact({c.contact_id for c in rows if c.contact_id})
    chats = []
    for c in rows:
        preferred = tuple(
            a for a in (c.contact.account_owner_id if c.contact else None, c.last_agent) if a
        )
        chats.append(
            routing.WaitingChat(
                conversation_id=c.pk,
                department=department.slug,
                arrived_at=c.queued_at or c.created_at,
                priority=c.priority,
                preferred_agent_ids=preferred,
                required_skills=skills.get(c.contact_id, frozenset()),
                locale=c.locale,
            )
        )
    return chats


def _drop_unservable_skills(
    chats: list[routing.WaitingChat], agents: list[routing.AgentState]
) -> list[routing.WaitingChat]:
    # A skill no agent of the department has would strand the chat: serve it
    # by anyone rather than never.
    known = frozenset().union(*(a.skills for a in agents)) if agents else frozenset()
    return [
        c if c.required_skills <= known else replace(c, required_skills=c.required_skills & known)
        for c in chats
    ]


def _assign(plan: list[tuple[routing.WaitingChat, routing.AgentState]], *, now: datetime.datetime):
    """The plan's assignments, each claimed only while its chat still waits."""
    public_ids = dict(
        Conversation.objects.filter(pk__in=[chat.conversation_id for chat, _ in plan]).values_list(
            "pk", "public_id"
        )
    )
    agents = get_user_model().objects.in_bulk({agent.agent_id for _, agent in plan})
    claims = [
        Claim(
            chat.conversation_id,
            public_ids[chat.conversation_id],
            Kind.ASSIGNED,
            {"agent": {"name": agent_author(agents[agent.agent_id]).name}},
            updates={
                "state": State.ACTIVE,
                "assigned_agent_id": agent.agent_id,
                "assigned_at": now,
                "offered_at": now,
            },
            only_if={"state": State.QUEUED},
        )
        for chat, agent in plan
    ]
    made: list[tuple[uuid.UUID, int]] = []
    for claim, (_, agent), appended in zip(claims, plan, append_claims(claims), strict=True):
        if appended is None:
            continue
        made.append((claim.public_id, agent.agent_id))
        publish_on_commit(
            events.agent_group(agent.agent_id), events.conversation_assigned(claim.public_id)
        )
    if made:
        AgentPresence.objects.filter(user_id__in={agent_id for _, agent_id in made}).update(
            last_assigned_at=now
        )
    return made


@ROUTING_SECONDS.time()
def route_department(
    department: Department, *, now: datetime.datetime | None = None
) -> list[Assignment]:
    """One routing pass over one department's queue, in one short transaction."""
    now = now or timezone.now()
    if department.routing_mode != Department.RoutingMode.AUTO or not is_open(department, now):
        return []
    made: list[Assignment] = []
    with transaction.atomic():
        agent_ids = _lock_agents([department.pk])
        if not agent_ids:
            return []
        chats = _waiting_chats(department, now=now)
        if not chats:
            return []
        agents = agent_states(
            [department.slug], active_chats=active_chat_counts(agent_ids), now=now
        )
        plan = routing.plan_assignments(_drop_unservable_skills(chats, agents), agents, now=now)
        if not plan:
            return []
        made = [
            Assignment(public_id, agent_id, department.pk)
            for public_id, agent_id in _assign(plan, now=now)
        ]
        if made:
            # The waiting visitors' new places: whoever asked for this pass
            # sends them after it (chat.actions.scheduling).
            publish_queue_changed_to_agents(department)
    return made


def route_waiting(
    department_ids: Iterable[int] | None = None, *, now: datetime.datetime | None = None
) -> list[Assignment]:
    """Route every department given (all with waiting chats when None)."""
    departments = Department.objects.prefetch_related("hours", "holidays")
    if department_ids is None:
        departments = departments.filter(conversations__state=State.QUEUED).distinct()
    else:
        departments = departments.filter(pk__in=list(department_ids))
    made: list[Assignment] = []
    for department in departments:
        try:
            made += route_department(department, now=now)
        except Exception:
            # Routing must never turn the caller's committed work into an error;
            # the sweep tries again.
            logger.exception("routing %s failed", department.slug)
    return made


# --- taking chats away -------------------------------------------------------------


def requeue_conversation(conversation: Conversation, *, reason: str) -> bool:
    """Back to the head of its queue (its original arrival time is kept)."""
    previous = conversation.assigned_agent_id
    now = timezone.now()
    claimed = Conversation.objects.filter(pk=conversation.pk, state=State.ACTIVE).update(
        state=State.QUEUED, assigned_agent=None, assigned_at=None, offered_at=None, updated_at=now
    )
    if not claimed:
        return False
    append_event(
        conversation,
        kind=Kind.QUEUED,
        payload={"department": conversation.department.slug, "reason": reason},
        author=SYSTEM,
        require_open=False,
    )
    if previous:
        publish_on_commit(
            events.agent_group(previous),
            events.conversation_unassigned(conversation.public_id, reason=reason),
        )
    # The caller asks for routing after its commit, and with it the waiting
    # visitors' new places.
    publish_queue_changed_to_agents(conversation.department)
    return True


def settle_offer(conversation_pk: int, agent_id: int) -> None:
    """The agent answered (accepted or wrote): the offer is no longer pending."""
    Conversation.objects.filter(
        pk=conversation_pk, assigned_agent_id=agent_id, offered_at__isnull=False
    ).update(offered_at=None)
