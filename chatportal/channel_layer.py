"""channels-redis with fewer Redis round trips per doorbell.

Every chat message rings one group (`conv.<id>`, two or three sockets), so
`group_send` is on the hot path. channels-redis 4.3 spends four round trips
on it: ZREMRANGEBYSCORE and ZRANGE on the group, a pipeline expiring old
messages, and an EVAL that ships the whole Lua source each time. Here it is
two: one pipeline reads the membership, one EVALSHA expires, checks capacity
and queues for every member channel on a shard. `group_add` pipelines its
ZADD and EXPIRE. Keys, serialization and the receive side are the library's,
so workers running either class interoperate.
"""

from __future__ import annotations

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


class PipelinedRedisChannelLayer(RedisChannelLayer):
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
