"""Claims on conversations: compare-and-set updates that cannot double-assign."""

from __future__ import annotations

import datetime

from django.contrib.auth.models import AbstractBaseUser

from chat.models import Conversation
from queues.models import AgentProfile


def claim_queued_conversation(
    conversation_pk: int, agent: AbstractBaseUser, *, now: datetime.datetime
) -> bool:
    """Make `agent` the owner of a queued conversation; False if someone was faster.

    The state condition in the UPDATE is the lock: of two agents accepting at
    once, exactly one update matches the row (on PostgreSQL the second waits
    for the first to commit and then sees `active`; on SQLite writers are
    serialized by BEGIN IMMEDIATE).
    """
    return (
        Conversation.objects.filter(pk=conversation_pk, state=Conversation.State.QUEUED).update(
            state=Conversation.State.ACTIVE, assigned_agent=agent, assigned_at=now, updated_at=now
        )
        == 1
    )


def lock_agent_profile(agent: AbstractBaseUser) -> AgentProfile:
    """Serializes one agent's claims so that a capacity check cannot be raced."""
    return AgentProfile.objects.select_for_update().get(user=agent)
