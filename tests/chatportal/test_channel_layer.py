"""The pipelined Redis layer keeps channels-redis's semantics with fewer round trips."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from channels_redis.core import RedisChannelLayer

from chatportal.channel_layer import PipelinedRedisChannelLayer

pytestmark = pytest.mark.services

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def make_layer(cls=PipelinedRedisChannelLayer, **config):
    prefix = config.pop("prefix", f"test-layer-{uuid.uuid4().hex[:8]}")
    return cls(hosts=[{"address": REDIS_URL}], prefix=prefix, **config)


async def test_group_send_reaches_every_member_once_across_processes_kinds():
    sender = make_layer()
    # A stock channels-redis layer on the same prefix stands for another worker.
    receiver = make_layer(RedisChannelLayer, prefix=sender.prefix)
    ours = await sender.new_channel()
    theirs = await receiver.new_channel()
    await sender.group_add("conv.x", ours)
    await receiver.group_add("conv.x", theirs)

    await sender.group_send("conv.x", {"type": "conversation.event_appended", "seq": 1})

    got_ours = await asyncio.wait_for(sender.receive(ours), 2)
    got_theirs = await asyncio.wait_for(receiver.receive(theirs), 2)
    assert got_ours == got_theirs == {"type": "conversation.event_appended", "seq": 1}
    await sender.flush()
    await receiver.flush()


async def test_a_discarded_channel_hears_nothing_and_an_empty_group_is_a_no_op():
    layer = make_layer()
    kept, gone = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("g", kept)
    await layer.group_add("g", gone)
    await layer.group_discard("g", gone)
    await layer.group_send("g", {"type": "t", "n": 1})
    await layer.group_send("empty", {"type": "t", "n": 2})

    assert await asyncio.wait_for(layer.receive(kept), 2) == {"type": "t", "n": 1}
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(gone), 0.3)
    await layer.flush()


async def test_capacity_drops_extra_messages_like_the_library():
    layer = make_layer(capacity=2)
    channel = await layer.new_channel()
    await layer.group_add("g", channel)
    for n in range(4):
        await layer.group_send("g", {"type": "t", "n": n})

    received = [await asyncio.wait_for(layer.receive(channel), 2) for _ in range(2)]
    assert [m["n"] for m in received] == [0, 1]
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(channel), 0.3)
    await layer.flush()


async def test_group_add_sets_the_group_expiry():
    layer = make_layer(group_expiry=123)
    channel = await layer.new_channel()
    await layer.group_add("g", channel)
    connection = layer.connection(layer.consistent_hash("g"))
    ttl = await connection.ttl(layer._group_key("g"))
    assert 0 < ttl <= 123
    await layer.flush()


async def test_sends_survive_a_script_cache_flush():
    # After a Redis restart the script cache is empty; EVALSHA must reload it.
    layer = make_layer()
    channel = await layer.new_channel()
    await layer.group_add("g", channel)
    await layer.group_send("g", {"type": "t", "n": 1})
    await layer.connection(0).script_flush()
    await layer.group_send("g", {"type": "t", "n": 2})

    received = [await asyncio.wait_for(layer.receive(channel), 2) for _ in range(2)]
    assert [m["n"] for m in received] == [1, 2]
    await layer.flush()


async def test_a_backlog_is_received_in_order_exactly_once_in_batches():
    sender = make_layer(RedisChannelLayer, capacity=1000)
    receiver = make_layer(prefix=sender.prefix, capacity=1000)
    channels = [await receiver.new_channel() for _ in range(3)]
    for channel in channels:
        await sender.group_add("g", channel)
    for n in range(250):  # more than one batch
        await sender.group_send("g", {"type": "t", "n": n})

    for channel in channels:
        got = [(await asyncio.wait_for(receiver.receive(channel), 2))["n"] for _ in range(250)]
        assert got == list(range(250))
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(receiver.receive(channels[0]), 0.3)
    await sender.flush()
    await receiver.flush()


async def test_a_batch_whose_reply_was_cancelled_is_received_again():
    layer = make_layer()
    channel = await layer.new_channel()
    await layer.group_add("g", channel)
    for n in range(3):
        await layer.group_send("g", {"type": "t", "n": n})
    real = layer._receive_batch_script

    def cancelled_after_redis_ran(connection):
        script = real(connection)

        async def run(**kwargs):
            await script(**kwargs)
            raise asyncio.CancelledError

        return run

    layer._receive_batch_script = cancelled_after_redis_ran
    with pytest.raises(asyncio.CancelledError):
        await layer.receive(channel)
    layer._receive_batch_script = real

    got = [(await asyncio.wait_for(layer.receive(channel), 2))["n"] for _ in range(3)]
    assert got == [0, 1, 2]
    await layer.flush()


async def test_a_stock_worker_receives_what_the_pipelined_one_sends():
    sender = make_layer()
    receiver = make_layer(RedisChannelLayer, prefix=sender.prefix)
    channel = await receiver.new_channel()
    await sender.group_add("g", channel)
    for n in range(5):
        await sender.group_send("g", {"type": "t", "n": n})
    got = [(await asyncio.wait_for(receiver.receive(channel), 2))["n"] for _ in range(5)]
    assert got == list(range(5))
    await sender.flush()
    await receiver.flush()
