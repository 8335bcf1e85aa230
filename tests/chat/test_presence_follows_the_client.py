"""An agent's presence lives on what its client sends, not on the socket being open.

A laptop with its lid shut keeps the TCP connection and sends nothing. The
agent must go offline one TTL after the client's last frame and lose its chats
after the grace, while an agent whose console keeps pinging stays online. The
real-process variant (a raw socket over daphne that goes silent) is
tests/multiprocess/test_presence_silent_client.py.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from channels.db import database_sync_to_async

from chat.models import Conversation, ConversationEvent
from chat.sweeper import stop_sweeper
from queues.models import AgentConnection, AgentPresence
from tests.chat.conftest import open_agent, open_widget, say

pytestmark = pytest.mark.django_db(transaction=True)

TTL_S = 2
GRACE_S = 1
SWEEP_S = 0.25


@pytest.fixture(autouse=True)
async def _short_presence(settings):
    settings.CHATPORTAL_PRESENCE_TTL_S = TTL_S
    settings.CHATPORTAL_PRESENCE_GRACE_S = GRACE_S
    settings.CHATPORTAL_SWEEP_INTERVAL_S = SWEEP_S
    yield
    # The sockets started this loop's sweep; no sweep may run into the table flush.
    await stop_sweeper()


async def agent_holding_a_chat(user):
    agent, _ = await open_agent(user)
    await agent.send({"type": "presence", "status": "online"})
    await agent.expect("presence", agent="boris", status="online")
    visitor, _ = await open_widget(profile={"name": "Ana"})
    conversation = (await say(visitor, "My relay blinks"))["conversation"]
    await agent.expect("assigned")
    await agent.send({"type": "accept", "conversation": conversation})
    await visitor.expect("event", kind="assigned")
    return agent, visitor, conversation


def presence_of(user) -> tuple[str, int, str | None]:
    """(visible status, connection rows, the agent holding the chat)."""
    status = AgentPresence.objects.get(user=user).published_status
    rows = AgentConnection.objects.filter(user=user).count()
    holder = Conversation.objects.filter(state="active").values_list(
        "assigned_agent__username", flat=True
    )
    return status, rows, next(iter(holder), None)


async def keep_pinging(agent, seconds: float) -> None:
    """What the console does (well inside the TTL)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await agent.send({"type": "ping"})
        await agent.expect("pong")
        await asyncio.sleep(0.5)


def times_queued(conversation: str) -> int:
    return ConversationEvent.objects.filter(
        conversation__public_id=conversation, kind="queued"
    ).count()


async def test_a_silent_agent_goes_offline_a_ttl_after_its_last_frame_and_its_chat_is_requeued(
    support_agent,
):
    agent, visitor, conversation = await agent_holding_a_chat(support_agent)
    last_frame = time.monotonic()

    # The socket stays open and the server keeps writing to it; the client sends nothing.
    queued = await visitor.expect("event", timeout=TTL_S + GRACE_S + 3, kind="queued")
    elapsed = time.monotonic() - last_frame
    assert queued["conversation"] == conversation
    assert elapsed >= TTL_S + GRACE_S - 0.5, elapsed
    await agent.expect("unassigned", timeout=2, conversation=conversation)
    status, rows, _holder = await database_sync_to_async(presence_of)(support_agent)
    assert (status, rows) == ("offline", 0)
    await agent.close()
    await visitor.close()


async def test_an_agent_whose_console_keeps_pinging_stays_online_and_keeps_its_chat(
    support_agent,
):
    agent, visitor, conversation = await agent_holding_a_chat(support_agent)
    await keep_pinging(agent, 2 * (TTL_S + GRACE_S) + 1)

    assert await database_sync_to_async(presence_of)(support_agent) == ("online", 1, "boris")
    assert await database_sync_to_async(times_queued)(conversation) == 1
    await agent.close()
    await visitor.close()


async def test_a_silent_agent_that_speaks_again_within_the_grace_is_back_and_keeps_its_chat(
    support_agent, settings
):
    settings.CHATPORTAL_PRESENCE_GRACE_S = 4
    agent, visitor, conversation = await agent_holding_a_chat(support_agent)
    # Silent past the TTL: the sweep drops the connection (the agent is still
    # shown online through the grace).
    await asyncio.sleep(TTL_S + 4 * SWEEP_S)
    _status, rows, _holder = await database_sync_to_async(presence_of)(support_agent)
    assert rows == 0
    # The lid opens: its next frame registers the connection again.
    await agent.send({"type": "ping"})
    await agent.expect("pong")
    assert await database_sync_to_async(presence_of)(support_agent) == ("online", 1, "boris")
    # It keeps pinging past the moment the grace would have ended.
    await keep_pinging(agent, 4)
    assert await database_sync_to_async(presence_of)(support_agent) == ("online", 1, "boris")
    assert await database_sync_to_async(times_queued)(conversation) == 1
    await agent.close()
    await visitor.close()
