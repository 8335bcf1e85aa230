"""A doorbell lost without any error (a full channel, an expired message) costs one period.

channels-redis drops group messages past a channel's capacity and logs it
at INFO at best (docs/decisions/pitfalls.md#silent-drops-at-capacity). A
client that never pings (an integration, a
load generator) must still get the event: maintenance compares the followed
conversations with the log every few ticks, even while the layer is healthy.
"""

from __future__ import annotations

import asyncio

import pytest

from chat import queries
from chat.delivery import ChatSocket
from foundation import realtime
from tests.chat.conftest import open_agent, open_widget, say

pytestmark = pytest.mark.django_db(transaction=True)


async def test_an_event_whose_doorbell_vanished_arrives_without_a_ping(
    support, support_agent, monkeypatch
):
    monkeypatch.setattr(ChatSocket, "maintenance_interval_s", 0.3)
    visitor, _ = await open_widget(profile={"name": "Ana"})
    conversation = (await say(visitor, "My relay blinks"))["conversation"]
    agent, _ = await open_agent(support_agent)
    await agent.send({"type": "accept", "conversation": conversation})
    await agent.expect("assigned")

    async def vanish(doorbells):
        return None

    monkeypatch.setattr(realtime, "ring", vanish)
    lost = await say(visitor, "Are you there?")
    got = await agent.expect("event", timeout=3, kind="message", seq=lost["seq"])
    assert got["body"] == "Are you there?"
    assert [e for e in agent.received if e.get("seq") == lost["seq"]] == [got]
    await visitor.close()
    await agent.close()


async def test_a_widget_socket_without_a_chat_reads_nothing_on_its_ticks(support, monkeypatch):
    # Most widget sockets sit on a page nobody chats from: their periodic
    # comparison with the log has nothing to compare, so it makes no hop.
    monkeypatch.setattr(ChatSocket, "maintenance_interval_s", 0.1)
    reads: list[list[int]] = []
    real = queries.last_seqs

    def counted(pks):
        reads.append(list(pks))
        return real(pks)

    monkeypatch.setattr(queries, "last_seqs", counted)
    visitor, _ = await open_widget(profile={"name": "Ana"})
    await asyncio.sleep(1.0)  # ten ticks, five periodic comparisons
    assert reads == []
    # Once it follows a chat, the comparison runs again.
    await say(visitor, "Hello")
    await asyncio.sleep(1.0)
    assert reads and all(len(pks) == 1 for pks in reads)
    await visitor.close()
