"""A channel layer that goes away and comes back empty (a Redis restart).

Redis closing its connections makes the layer's receive raise; the restarted
Redis remembers no group. A socket must outlive the outage, join its groups
again on its own and send what the doorbells rung meanwhile announced (they
went nowhere), without the client doing anything.
"""

from __future__ import annotations

import asyncio

import pytest
from channels.layers import get_channel_layer

from tests.chat.conftest import open_agent, open_widget, say

pytestmark = pytest.mark.django_db(transaction=True)


class LayerOutage:
    """Makes the in-memory layer behave like channels-redis across a Redis restart."""

    def __init__(self, layer) -> None:
        self.layer = layer
        self.down = asyncio.Event()
        self.real_receive = layer.receive
        self.failed_receives = 0

    async def receive(self, channel: str):
        if self.down.is_set():
            self.failed_receives += 1
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        message = asyncio.ensure_future(self.real_receive(channel))
        outage = asyncio.ensure_future(self.down.wait())
        done, _ = await asyncio.wait({message, outage}, return_when=asyncio.FIRST_COMPLETED)
        if message in done:
            outage.cancel()
            return message.result()
        message.cancel()
        self.failed_receives += 1
        raise ConnectionError("Connection closed by server.")

    async def stop_redis(self) -> None:
        self.down.set()
        # Nothing survives: no group memberships, no queued doorbells.
        await self.layer.flush()

    def start_redis(self) -> None:
        self.down.clear()


@pytest.fixture
def outage(monkeypatch, settings):
    # Maintenance ticks every TTL/3 s, at least 1 s.
    settings.CHATPORTAL_PRESENCE_TTL_S = 3
    layer = get_channel_layer()
    outage = LayerOutage(layer)
    # Consumers bind the layer's receive when they start: patch before opening sockets.
    monkeypatch.setattr(layer, "receive", outage.receive)
    return outage


async def test_a_socket_outlives_a_layer_restart_and_gets_what_was_said_meanwhile(
    outage, support, support_agent
):
    visitor, _ = await open_widget(profile={"name": "Ana"})
    ack = await say(visitor, "My relay blinks")
    conversation = ack["conversation"]
    agent, _ = await open_agent(support_agent)
    await agent.send({"type": "accept", "conversation": conversation})
    await agent.expect("assigned")
    await visitor.expect("event", kind="assigned")

    await outage.stop_redis()
    await asyncio.sleep(0.3)
    assert outage.failed_receives >= 1
    # Said while Redis is down: committed, so acked, and its doorbell reaches nobody.
    during = await say(agent, "Checking your contract", conversation=conversation)
    outage.start_redis()
    # Said after the restart, before anyone joined again: the groups are empty.
    after = await say(agent, "Found it", conversation=conversation)

    # No ping: the visitor's socket re-joins and catches up by itself.
    first = await visitor.expect("event", timeout=6, kind="message", seq=during["seq"])
    second = await visitor.expect("event", timeout=3, kind="message", seq=after["seq"])
    assert (first["body"], second["body"]) == ("Checking your contract", "Found it")
    assert visitor.close_code is None

    # And live delivery works again: the next message arrives through its doorbell.
    live = await say(agent, "Fixed", conversation=conversation)
    got = await visitor.expect("event", timeout=3, kind="message", seq=live["seq"])
    assert got["body"] == "Fixed"
    seqs = [e["seq"] for e in visitor.events(conversation)]
    assert seqs == sorted(set(seqs)), seqs
    await visitor.close()
    await agent.close()


async def test_a_message_sent_while_the_layer_is_down_is_acked_not_refused(outage, support):
    visitor, _ = await open_widget(profile={"name": "Ana"})
    first = await say(visitor, "Hello")
    await outage.stop_redis()
    layer = outage.layer

    async def refused(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    real_group_send, real_group_add = layer.group_send, layer.group_add
    layer.group_send, layer.group_add = refused, refused
    try:
        ack = await say(visitor, "Anyone there?")
        assert ack["conversation"] == first["conversation"] and ack["seq"] > first["seq"]
        own = await visitor.expect("event", kind="message", seq=ack["seq"])
        assert own["body"] == "Anyone there?"
    finally:
        layer.group_send, layer.group_add = real_group_send, real_group_add
        outage.start_redis()
    await visitor.send({"type": "ping"})
    pong = await visitor.expect("pong")
    assert pong["last_seq"][ack["conversation"]] == ack["seq"]
    assert visitor.close_code is None
    await visitor.close()


async def test_a_visitor_message_goes_through_while_the_rate_limit_counter_is_unreachable(
    support, monkeypatch
):
    from chat import limits

    def unreachable(key, ttl_s):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    visitor, _ = await open_widget(profile={"name": "Ana"})
    monkeypatch.setattr(limits, "_count_in_window", unreachable)
    ack = await say(visitor, "Still there?")
    assert ack["type"] == "ack" and ack["seq"] >= 2
    await visitor.close()


async def test_an_agent_hello_resume_replays_before_any_live_event(support, support_agent):
    from channels.db import database_sync_to_async

    from queues.tokens import issue_agent_token
    from tests.chat.conftest import Socket

    visitor, _ = await open_widget(profile={"name": "Ana"})
    first = await say(visitor, "Hello")
    conversation = first["conversation"]
    agent, _ = await open_agent(support_agent)
    await agent.send({"type": "accept", "conversation": conversation})
    await agent.expect("assigned")
    seen = (await agent.expect("event", kind="assigned"))["seq"]
    await agent.close()
    for n in range(3):
        await say(visitor, f"while the console was away {n}")

    token = await database_sync_to_async(issue_agent_token)(support_agent)
    console = Socket("/ws/agent/")
    await console.connect()
    await console.send({"type": "hello", "token": token, "resume": {conversation: seen}})
    welcome = await console.expect("welcome")
    assert [c["id"] for c in welcome["conversations"]] == [conversation]
    replayed = [await console.expect("event") for _ in range(3)]
    assert [e["seq"] for e in replayed] == [seen + 1, seen + 2, seen + 3]
    assert [e["body"] for e in replayed] == [f"while the console was away {n}" for n in range(3)]
    await console.close()
    await visitor.close()
