"""Handing a conversation to another department or agent; its history stays with it.

To a department: the chat goes back to that queue (keeping its arrival
time) and routing picks the next agent there. To an agent: straight to that
agent, if online, accepting and below `max_chats`, as an offer it answers
like one routing made.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from chat import events
from chat.access import access_conversation_for_agent
from chat.actions.routing import publish_queue_changed_to_agents
from chat.actions.scheduling import (
    publish_queue_changed,
    route_after_commit,
    route_agent_departments_after_commit,
)
from chat.errors import ChatError, Conflict, Forbidden, NotFound
from chat.log import Appended, Kind, agent_author, append_event
from chat.models import Conversation
from chat.queue import active_chat_counts
from foundation.realtime import publish_on_commit
from queues.agent_scope import AgentScope, agent_scope
from queues.models import AgentProfile, Department
from queues.presence import agent_states

State = Conversation.State


def check_transfer(
    user,
    conversation_id: str,
    *,
    department: str | None = None,
    agent: str | None = None,
    scope: AgentScope | None = None,
) -> Appended:
    """Hand a conversation to another department or agent; history stays with it.

    Only the assigned agent or a supervisor moves an active chat (a colleague
    cannot pull it away); a queued one any agent of its department may move.
    `scope`: the agent's, when the caller (a socket) already knows it.
    """
    if (department is None) == (agent is None):
        raise ChatError("name either a department or an agent to transfer to")
    scope = scope or agent_scope(user)
    conversation = access_conversation_for_agent(user, conversation_id, scope=scope)
    if conversation.state == State.CLOSED:
        raise Conflict("the conversation is closed")
    if (
        conversation.state == State.ACTIVE
        and conversation.assigned_agent_id != user.pk
        and not (scope is not None and scope.is_supervisor)
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


def transfer_to_department(conversation: Conversation, target: Department, *, by) -> Appended:
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
            outcome=Conversation.Outcome.TRANSFERRED,
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
        if source.pk != target.pk:
            publish_queue_changed(source)
        # The routing pass gives the target queue's waiting visitors their places.
        publish_queue_changed_to_agents(target)
        route_after_commit([target.pk])
    return appended


def transfer_to_agent(conversation: Conversation, target, *, by) -> Appended:
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
            outcome=Conversation.Outcome.TRANSFERRED,
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
