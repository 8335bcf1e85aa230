"""The pub/sub channel layer: one publish per doorbell, and it says when it may have missed some."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from channels.layers import get_channel_layer

from chatportal import health
from foundation import channel_layer
from foundation.channel_layer import DoorbellChannelLayer

pytestmark = pytest.mark.services

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def make_layer(prefix: str | None = None) -> DoorbellChannelLayer:
    return DoorbellChannelLayer(
        hosts=[{"address": REDIS_URL}], prefix=prefix or f"test-layer-{uuid.uuid4().hex[:8]}"
    )


async def receive_all(layer, channel, count: int) -> list:
    return [await asyncio.wait_for(layer.receive(channel), 2) for _ in range(count)]


async def test_group_send_reaches_every_member_once_in_every_worker():
    worker_a = make_layer()
    worker_b = make_layer(prefix=worker_a._get_layer().prefix)
    visitor_tab_1, visitor_tab_2 = await worker_a.new_channel(), await worker_a.new_channel()
    agent = await worker_b.new_channel()
    for layer, channel in ((worker_a, visitor_tab_1), (worker_a, visitor_tab_2), (worker_b, agent)):
        await layer.group_add("conv.x", channel)

    await worker_b.group_send("conv.x", {"type": "conversation.event_appended", "seq": 1})

    for layer, channel in ((worker_a, visitor_tab_1), (worker_a, visitor_tab_2), (worker_b, agent)):
        assert await receive_all(layer, channel, 1) == [
            {"type": "conversation.event_appended", "seq": 1}
        ]
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(layer.receive(channel), 0.2)
    await worker_a.flush()
    await worker_b.flush()


async def test_a_discarded_channel_hears_nothing_and_an_empty_group_is_a_no_op():
    layer = make_layer()
    kept, gone = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("g", kept)
    await layer.group_add("g", gone)
    await layer.group_discard("g", gone)
    await layer.group_send("g", {"type": "t", "n": 1})
    await layer.group_send("empty", {"type": "t", "n": 2})

    assert await receive_all(layer, kept, 1) == [{"type": "t", "n": 1}]
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(gone), 0.3)
    await layer.flush()


async def test_one_publishers_doorbells_arrive_in_order_with_no_capacity_to_overflow():
    sender = make_layer()
    receiver = make_layer(prefix=sender._get_layer().prefix)
    channels = [await receiver.new_channel() for _ in range(3)]
    for channel in channels:
        await receiver.group_add("g", channel)
    # Concurrent publishes (no per-publish lock), awaited in order as `ring` does.
    for n in range(1000):
        await sender.group_send("g", {"type": "t", "n": n})

    for channel in channels:
        assert [m["n"] for m in await receive_all(receiver, channel, 1000)] == list(range(1000))
    await sender.flush()
    await receiver.flush()


async def test_a_dropped_subscriber_connection_is_counted_once_it_has_resubscribed():
    layer = make_layer()
    channel = await layer.new_channel()
    await layer.group_add("g", channel)
    await layer.group_send("g", {"type": "t", "n": 1})
    assert await receive_all(layer, channel, 1) == [{"type": "t", "n": 1}]
    before = channel_layer.reconnects()

    # What a Redis restart or a killed connection does to a worker, from the server side.
    (shard,) = layer._get_layer()._shards
    host, port = shard._pubsub.connection._writer.get_extra_info("sockname")[:2]
    await shard._redis.execute_command("CLIENT", "KILL", "ADDR", f"{host}:{port}")

    async def reconnected() -> None:
        while channel_layer.reconnects() == before:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(reconnected(), 5)
    assert channel_layer.reconnects() == before + 1
    # Counted after the subscriptions were made again: what is rung now arrives.
    await layer.group_send("g", {"type": "t", "n": 2})
    assert await receive_all(layer, channel, 1) == [{"type": "t", "n": 2}]
    await layer.flush()


async def test_the_readiness_probe_leaves_no_subscription_behind():
    layer = get_channel_layer()
    assert isinstance(layer, DoorbellChannelLayer)
    await health.check_channel_layer()
    await health.check_channel_layer()
    loop_layer = layer._get_layer()
    assert not [name for name in loop_layer.channels if "readyz." in name]
    assert not [name for name in loop_layer._shards[0]._subscribed_to if "readyz." in name]
    await layer.flush()
