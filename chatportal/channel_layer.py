"""channels-redis with fewer Redis round trips per doorbell.

Every chat message rings one group (`conv.<id>`, two or three sockets), so
`group_send` is on the hot path. channels-redis 4.3 spends four round trips
on it: ZREMRANGEBYSCORE and ZRANGE on the group, a pipeline expiring old
messages, and an EVAL that ships the whole Lua source each time. Here it is
two: one pipeline reads the membership, one EVALSHA expires, checks capacity
and queues for every member channel on a shard. `group_add` pipelines its
ZADD and EXPIRE. Keys, serialization and the receive side are the library's,
so workers running either class interoperate.

Receiving, the library spends four round trips per message on a worker's
channel (a cleanup EVAL, BZPOPMIN, a ZADD to the in-flight backup and the
cleaner's ZPOPMIN). Here one EVALSHA takes up to RECEIVE_BATCH waiting
messages at once and keeps them in the backup until they have been handed
out, so a cancelled receive still loses nothing; only an empty channel
falls back to the library's blocking receive.
"""

from __future__ import annotations

import collections
import logging
import time

from channels_redis.core import RedisChannelLayer

logger = logging.getLogger(__name__)

# KEYS: the member channels' message keys. ARGV: one serialized message per
# key, one capacity per key, then now, expiry and the expiry cutoff.
GROUP_SEND_LUA = """
local n = #KEYS
local now = ARGV[2 * n + 1]
local expiry = ARGV[2 * n + 2]
local cutoff = ARGV[2 * n + 3]
local over_capacity = 0
for i = 1, n do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, cutoff)
    if redis.call('ZCARD', KEYS[i]) < tonumber(ARGV[n + i]) then
        redis.call('ZADD', KEYS[i], now, ARGV[i])
        redis.call('EXPIRE', KEYS[i], expiry)
    else
        over_capacity = over_capacity + 1
    end
end
return over_capacity
"""


RECEIVE_BATCH = 100

# KEYS: a channel key and its in-flight backup. ARGV[1] is 1 when the last
# batch was handed out (drop the backup), else 0 (a receive was cancelled or
# the library's receive ran: put what the backup holds back in the queue).
RECEIVE_BATCH_LUA = """
if ARGV[1] == '1' then
    redis.call('DEL', KEYS[2])
else
    local backed_up = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
    for i = #backed_up, 1, -2 do
        redis.call('ZADD', KEYS[1], backed_up[i], backed_up[i - 1])
    end
    redis.call('DEL', KEYS[2])
end
local popped = redis.call('ZPOPMIN', KEYS[1], ARGV[2])
for i = 1, #popped, 2 do
    redis.call('ZADD', KEYS[2], popped[i + 1], popped[i])
end
return popped
"""


class PipelinedRedisChannelLayer(RedisChannelLayer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._prefetched: dict[str, collections.deque[bytes]] = {}
        self._handed_out: dict[str, bool] = {}

    async def group_add(self, group: str, channel: str) -> None:
        assert self.require_valid_group_name(group), "Group name not valid"
        assert self.require_valid_channel_name(channel), "Channel name not valid"
        key = self._group_key(group)
        connection = self.connection(self.consistent_hash(group))
        async with connection.pipeline(transaction=False) as pipe:
            pipe.zadd(key, {channel: time.time()})
            pipe.expire(key, self.group_expiry)
            await pipe.execute()

    async def group_send(self, group: str, message: dict) -> None:
        assert self.require_valid_group_name(group), "Group name not valid"
        key = self._group_key(group)
        connection = self.connection(self.consistent_hash(group))
        async with connection.pipeline(transaction=False) as pipe:
            pipe.zremrangebyscore(key, min=0, max=int(time.time()) - self.group_expiry)
            pipe.zrange(key, 0, -1)
            _, members = await pipe.execute()
        if not members:
            return
        channel_names = [member.decode("utf8") for member in members]
        by_connection, messages, capacities = self._map_channel_keys_to_connection(
            channel_names, message
        )
        now = time.time()
        tail = [now, self.expiry, int(now) - int(self.expiry)]
        for index, channel_keys in by_connection.items():
            args = [messages[k] for k in channel_keys] + [capacities[k] for k in channel_keys]
            shard = self.connection(index)
            over_capacity = await self._group_send_script(shard)(
                keys=channel_keys, args=args + tail, client=shard
            )
            if over_capacity > 0:
                # Dropped doorbells: sockets catch up from the log on their
                # next maintenance tick, but the workers are falling behind.
                logger.warning(
                    "%s of %s channels over capacity in group %s",
                    over_capacity,
                    len(channel_names),
                    group,
                )

    def _group_send_script(self, connection):
        # EVALSHA, with redis-py loading the script again after a Redis restart.
        script = getattr(self, "_group_send", None)
        if script is None:
            script = self._group_send = connection.register_script(GROUP_SEND_LUA)
        return script

    async def receive_single(self, channel: str):
        if "!" not in channel:
            return await super().receive_single(channel)
        key = self.prefix + channel
        waiting = self._prefetched.get(key)
        if waiting:
            content = waiting.popleft()
            if not waiting:
                self._handed_out[key] = True
            return self._unpack(channel, content)
        shard = self.connection(self.consistent_hash(channel))
        drop_backup = self._handed_out.get(key, True)
        # Until this batch has been handed out, a cancelled call restores it.
        self._handed_out[key] = False
        await self.receive_clean_locks.acquire(key)
        try:
            popped = await self._receive_batch_script(shard)(
                keys=[key, self._backup_channel_name(key)],
                args=[1 if drop_backup else 0, RECEIVE_BATCH],
                client=shard,
            )
        finally:
            self.receive_clean_locks.release(key)
        contents = popped[0::2]
        if not contents:
            # Nothing waiting: block the library's way (it keeps its own backup).
            return await super().receive_single(channel)
        if len(contents) > 1:
            self._prefetched[key] = collections.deque(contents[1:])
        else:
            self._handed_out[key] = True
        return self._unpack(channel, contents[0])

    def _unpack(self, channel: str, content: bytes):
        message = self.deserialize(content)
        if "__asgi_channel__" in message:
            channel = message.pop("__asgi_channel__")
        return channel, message

    def _receive_batch_script(self, connection):
        script = getattr(self, "_receive_batch", None)
        if script is None:
            script = self._receive_batch = connection.register_script(RECEIVE_BATCH_LUA)
        return script

    async def flush(self) -> None:
        self._prefetched.clear()
        self._handed_out.clear()
        await super().flush()
