"""Applying the routing policy (`queues.routing`) to conversations.

Every event that frees capacity or adds work (a chat starts or closes, an
agent comes online or starts accepting, a transfer, a requeue) calls
`route_waiting` for the departments concerned, so the backlog drains at once;
the periodic sweep (`chat.sweeper`) is only a safety net.

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
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from chat import events
from chat.actions import SYSTEM, Kind, State, agent_author, append_event, publish_queue_changed
from chat.models import Conversation
from crm.models import SupportContract
from foundation.metrics import ROUTING_SECONDS
from foundation.realtime import publish_on_commit
from queues import actions as presence_actions
from queues import routing
from queues.hours import is_open
from queues.models import AgentPresence, AgentProfile, Department, ProductRoute
from queues.presence import agent_states

logger = logging.getLogger(__name__)

# How many waiting chats one routing pass looks at per department.
ROUTING_BATCH = 200


@dataclass(frozen=True)
class Assignment:
    conversation: uuid.UUID
    agent_id: int


def _priority_subquery():
    """The contact's SLA tier: the highest plan priority among active contracts."""
    today = timezone.localdate()
    contracts = SupportContract.objects.filter(
        organization=OuterRef("contact__organization"), starts_on__lte=today, ends_on__gte=today
    ).order_by("-plan__priority")
    return Coalesce(
        Subquery(contracts.values("plan__priority")[:1], output_field=IntegerField()), Value(0)
    )


def waiting_queue(department: Department):
    """The department's queue in serving order: SLA tier, then arrival."""
    return (
        Conversation.objects.filter(department=department, state=State.QUEUED)
        .annotate(priority=_priority_subquery())
        .order_by("-priority", "queued_at", "pk")
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


def active_chat_counts(agent_ids: Collection[int] | None = None) -> dict[int, int]:
    rows = Conversation.objects.filter(state=State.ACTIVE, assigned_agent__isnull=False)
    if agent_ids is not None:
        rows = rows.filter(assigned_agent__in=agent_ids)
    return dict(
        rows.values("assigned_agent").annotate(n=Count("pk")).values_list("assigned_agent", "n")
    )


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


def _assign(conversation: Conversation, agent_id: int, *, now: datetime.datetime) -> bool:
    claimed = Conversation.objects.filter(pk=conversation.pk, state=State.QUEUED).update(
        state=State.ACTIVE,
        assigned_agent_id=agent_id,
        assigned_at=now,
        offered_at=now,
        updated_at=now,
    )
    if not claimed:
        return False
    agent = get_user_model().objects.get(pk=agent_id)
    append_event(
        conversation,
        kind=Kind.ASSIGNED,
        payload={"agent": {"name": agent_author(agent).name}},
        require_open=False,
    )
    AgentPresence.objects.filter(user_id=agent_id).update(last_assigned_at=now)
    publish_on_commit(
        events.agent_group(agent_id), events.conversation_assigned(conversation.public_id)
    )
    return True


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
        by_pk = Conversation.objects.in_bulk([chat.conversation_id for chat, _ in plan])
        for chat, agent in plan:
            conversation = by_pk[chat.conversation_id]
            if _assign(conversation, agent.agent_id, now=now):
                made.append(Assignment(conversation.public_id, agent.agent_id))
        if made:
            publish_queue_changed(department)
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


def route_after_commit(department_ids: Iterable[int]) -> None:
    """Ask for a routing pass once this transaction commits (coalesced per burst)."""
    from chat.coalescer import request_routing

    ids = sorted(set(department_ids))
    if ids:
        transaction.on_commit(lambda: request_routing(ids), robust=True)


def route_agent_departments_after_commit(agent_id: int) -> None:
    """Capacity of one agent changed: route every department it serves."""
    ids = list(Department.objects.filter(agents__user_id=agent_id).values_list("pk", flat=True))
    route_after_commit(ids)


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
    publish_queue_changed(conversation.department)
    return True


def requeue_agent_conversations(agent_id: int, *, reason: str) -> int:
    """The agent is gone (offline past the grace, or said offline): requeue its chats."""
    with transaction.atomic():
        conversations = list(
            Conversation.objects.select_related("department")
            .filter(assigned_agent_id=agent_id, state=State.ACTIVE)
            .order_by("pk")
        )
        count = sum(requeue_conversation(c, reason=reason) for c in conversations)
        route_after_commit({c.department_id for c in conversations})
    return count


def expire_offers(*, now: datetime.datetime | None = None) -> int:
    """Chats offered to an agent who did not answer in time go to the next agent.

    The silent agent is set away by the system
    (docs/decisions/peers.md#online-is-not-accepting-chats): an agent who
    misses an offer is not really available, and the next offer would be
    missed too.
    """
    now = now or timezone.now()
    expired = 0
    candidates = (
        Conversation.objects.select_related("department")
        .filter(state=State.ACTIVE, offered_at__isnull=False)
        .order_by("offered_at")
    )
    for conversation in candidates[:500]:
        limit = datetime.timedelta(seconds=conversation.department.offer_timeout_s)
        if now - conversation.offered_at < limit:
            continue
        agent_id = conversation.assigned_agent_id
        with transaction.atomic():
            locked = (
                Conversation.objects.select_for_update()
                .filter(pk=conversation.pk, state=State.ACTIVE, offered_at=conversation.offered_at)
                .first()
            )
            if locked is None:
                continue
            locked.department = conversation.department
            if requeue_conversation(locked, reason="offer_timeout"):
                expired += 1
                if agent_id:
                    user = get_user_model().objects.get(pk=agent_id)
                    presence_actions.do_set_presence(
                        user, AgentPresence.Status.AWAY, set_by=AgentPresence.SetBy.SYSTEM, now=now
                    )
                route_after_commit([conversation.department_id])
    return expired


def settle_offer(conversation_pk: int, agent_id: int) -> None:
    """The agent answered (accepted or wrote): the offer is no longer pending."""
    Conversation.objects.filter(
        pk=conversation_pk, assigned_agent_id=agent_id, offered_at__isnull=False
    ).update(offered_at=None)


# --- presence that drives routing -------------------------------------------------


def agent_connected(user, *, connection_id: uuid.UUID, channel_name: str) -> AgentPresence:
    """A new socket of the agent: maybe capacity appeared (back online)."""
    with transaction.atomic():
        presence = presence_actions.do_register_connection(
            user, connection_id=connection_id, channel_name=channel_name
        )
        route_agent_departments_after_commit(user.pk)
    return presence


def set_agent_presence(
    user, status: str, *, accepting: bool | None = None, acting_user=None
) -> AgentPresence:
    """The agent (or a supervisor) sets presence; routing follows at once.

    `offline` said explicitly gives the agent's chats back to the queue now;
    `away` keeps current chats and takes no new ones; `online` (accepting)
    pulls waiting chats.
    """
    set_by = AgentPresence.SetBy.AGENT
    if acting_user is not None and acting_user.pk != user.pk:
        set_by = AgentPresence.SetBy.SUPERVISOR
    with transaction.atomic():
        presence = presence_actions.do_set_presence(
            user, status, accepting=accepting, set_by=set_by
        )
        if status == AgentPresence.Status.OFFLINE:
            requeue_agent_conversations(user.pk, reason="agent_offline")
        else:
            route_agent_departments_after_commit(user.pk)
    return presence


def check_set_presence(
    acting_user, status: str, *, accepting: bool | None = None, agent_username: str | None = None
) -> AgentPresence:
    from chat.errors import Forbidden, NotFound

    target = acting_user
    if agent_username and agent_username != acting_user.get_username():
        acting = AgentProfile.objects.filter(user=acting_user).first()
        if acting is None or not acting.is_supervisor:
            raise Forbidden("only a supervisor sets a colleague's presence")
        target = (
            get_user_model()
            .objects.filter(username=agent_username, agent_profile__isnull=False)
            .first()
        )
        if target is None:
            raise NotFound("no such agent")
    return set_agent_presence(target, status, accepting=accepting, acting_user=acting_user)


# --- transfer ---------------------------------------------------------------------


def check_transfer(
    user,
    conversation_id: str,
    *,
    department: str | None = None,
    agent: str | None = None,
    **scope,
):
    """Hand a conversation to another department or agent; history stays with it.

    Only the assigned agent or a supervisor moves an active chat (a colleague
    cannot pull it away); a queued one any agent of its department may move.
    """
    from chat.access import access_conversation_for_agent
    from chat.errors import ChatError, Conflict, Forbidden, NotFound

    if (department is None) == (agent is None):
        raise ChatError("name either a department or an agent to transfer to")
    conversation = access_conversation_for_agent(user, conversation_id, **scope)
    if conversation.state == State.CLOSED:
        raise Conflict("the conversation is closed")
    is_supervisor = scope.get("is_supervisor")
    if is_supervisor is None:
        is_supervisor = AgentProfile.objects.filter(user=user, is_supervisor=True).exists()
    if (
        conversation.state == State.ACTIVE
        and conversation.assigned_agent_id != user.pk
        and not is_supervisor
    ):
        raise Forbidden("only the assigned agent or a supervisor transfers this chat")
    if department is not None:
        target = Department.objects.filter(slug=department).first()
        if target is None:
            raise NotFound("unknown department")
        return transfer_to_department(conversation, target, by=user)
    target_user = (
        get_user_model()
        .objects.filter(username=agent, is_active=True, agent_profile__isnull=False)
        .first()
    )
    if target_user is None:
        raise NotFound("no such agent")
    return transfer_to_agent(conversation, target_user, by=user)


def transfer_to_department(conversation: Conversation, target: Department, *, by):
    from chat.errors import Conflict

    if conversation.department_id == target.pk and conversation.state == State.QUEUED:
        raise Conflict("the conversation already waits in that department")
    source = conversation.department
    previous = conversation.assigned_agent_id
    now = timezone.now()
    with transaction.atomic():
        moved = Conversation.objects.filter(
            pk=conversation.pk, state__in=Conversation.OPEN_STATES
        ).update(
            department=target,
            state=State.QUEUED,
            assigned_agent=None,
            assigned_at=None,
            offered_at=None,
            queued_at=conversation.queued_at or now,
            updated_at=now,
        )
        if not moved:
            raise Conflict("the conversation is closed")
        appended = append_event(
            conversation,
            kind=Kind.TRANSFERRED,
            payload={"to": {"department": target.slug}},
            author=agent_author(by),
            require_open=False,
        )
        if previous:
            publish_on_commit(
                events.agent_group(previous),
                events.conversation_unassigned(conversation.public_id, reason="transferred"),
            )
        publish_queue_changed(source)
        if source.pk != target.pk:
            publish_queue_changed(target)
        route_after_commit([target.pk])
    return appended


def transfer_to_agent(conversation: Conversation, target, *, by):
    from chat.errors import Conflict

    if conversation.assigned_agent_id == target.pk:
        raise Conflict("the conversation is already with that agent")
    previous = conversation.assigned_agent_id
    now = timezone.now()
    with transaction.atomic():
        profile = AgentProfile.objects.select_for_update().get(user=target)
        states = agent_states(active_chats=active_chat_counts([target.pk]), now=now)
        state = next((s for s in states if s.agent_id == target.pk), None)
        if state is None or not state.online or not state.accepting:
            raise Conflict("that agent is not available")
        if state.active_chats >= profile.max_chats:
            raise Conflict("that agent has no room for another chat")
        moved = Conversation.objects.filter(
            pk=conversation.pk, state__in=Conversation.OPEN_STATES
        ).update(
            state=State.ACTIVE,
            assigned_agent=target,
            assigned_at=now,
            offered_at=now,
            queued_at=conversation.queued_at or now,
            updated_at=now,
        )
        if not moved:
            raise Conflict("the conversation is closed")
        appended = append_event(
            conversation,
            kind=Kind.TRANSFERRED,
            payload={"to": {"agent": {"name": agent_author(target).name}}},
            author=agent_author(by),
            require_open=False,
        )
        if previous:
            publish_on_commit(
                events.agent_group(previous),
                events.conversation_unassigned(conversation.public_id, reason="transferred"),
            )
        publish_on_commit(
            events.agent_group(target.pk), events.conversation_assigned(conversation.public_id)
        )
        publish_queue_changed(conversation.department)
        if previous:
            route_agent_departments_after_commit(previous)
    return appended
