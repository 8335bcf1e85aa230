"""The Redis channel layer: channels-redis's pub/sub layer, with outages counted.

Why pub/sub. Every chat message rings its conversation's group. The
list-based `channels_redis.core` layer spends two to four Redis round trips
on a `group_send` and several more on every receive (a socket's process
channel is polled with BZPOPMIN, an in-flight backup and its cleanup), and
it drops messages silently at a channel's capacity
(docs/decisions/pitfalls.md#silent-drops-at-capacity). The pub/sub
layer publishes once per group; each worker subscribes once per group it has
members in and fans out in-process, so a receive is a local queue. Measured
at 400 messages/s (docs/benchmarks.md): 3.6 ms of worker CPU per message
with our pipelined list layer, 2.5 ms with this one.

What pub/sub does not give is any memory: a worker that is not subscribed
at the moment of a publish (Redis restarting, the subscriber connection
re-established) never hears it. That is fine for a doorbell — the log is
the truth — provided sockets know when to look: `reconnects()` counts each
time a worker's subscriber connection is established again (it has
re-subscribed by then), and sockets compare it on their maintenance tick
and catch up from the database.

Two smaller changes: a publish does not wait for the previous publish of
the worker (the library holds a per-connection lock around every publish
though the client has a pool), and `discard_channel` lets a probe channel
(readiness) go without leaving a subscription behind.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
)
from channels_redis.utils import _wrap_close
from redis.asyncio.client import PubSub

logger = logging.getLogger(__name__)

_reconnects = 0


def reconnects() -> int:
    """How many times a subscriber connection of this process came back."""
    return _reconnects


def note_reconnect() -> None:
    global _reconnects
    _reconnects += 1


class _CountingPubSub(PubSub):
    """A subscriber connection that counts its reconnects."""

    async def on_connect(self, connection: Any) -> None:
        # redis-py calls this when the connection comes back (the pool hands
        # it over already connected, before the callback is registered); by
        # the time it returns the channels are subscribed again.
        await super().on_connect(connection)
        logger.warning("channel layer subscriber reconnected; sockets catch up from the log")
        note_reconnect()


class _Shard(RedisSingleShardConnection):
    def _ensure_redis(self) -> None:
        if self._redis is None:
            super()._ensure_redis()
            self._pubsub = _CountingPubSub(
                self._redis.connection_pool,
                event_dispatcher=getattr(self._redis, "_event_dispatcher", None),
            )

    async def publish(self, channel: str, message: bytes) -> None:
        self._ensure_redis()
        await self._redis.publish(channel, message)


class _LoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shards = [_Shard(shard.host, self) for shard in self._shards]

    async def discard_channel(self, channel: str) -> None:
        if self.channels.pop(channel, None) is not None:
            await self._get_shard(channel).unsubscribe(channel)


class DoorbellChannelLayer(RedisPubSubChannelLayer):
    def _get_layer(self) -> _LoopLayer:
        # The library keeps one layer per event loop; ours uses the shard above.
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = self._layers[loop] = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            _wrap_close(self, loop)
        return layer
