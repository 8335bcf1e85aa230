"""Agents' presence as it drives routing, and taking chats from agents who are gone.

The presence rows themselves are the queues app's (`queues.actions`); what
chat adds is the consequence: an agent who comes online or starts accepting
pulls waiting chats (a routing pass after the commit); an agent who goes
offline, or leaves a routing offer unanswered, gives its chats back to the
head of the queue (`chat.actions.routing.requeue_conversation`) and the
pass hands them to the next agent.
"""

from __future__ import annotations

import datetime
import uuid

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from chat.actions.routing import requeue_conversation
from chat.actions.scheduling import route_after_commit, route_agent_departments_after_commit
from chat.errors import Forbidden, NotFound
from chat.models import Conversation
from queues import actions as presence_actions
from queues.models import AgentPresence, AgentProfile

State = Conversation.State


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


# --- taking chats away -------------------------------------------------------------


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
