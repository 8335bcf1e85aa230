"""Rate limits: a token bucket per socket and a window per visitor across sockets.

The bucket itself is foundation/token_bucket.py; the numbers are chat's.

Numbers come from settings (with these defaults) so a deployment or a load
test can tune them without code changes:

- CHATPORTAL_WS_RATE_PER_S / CHATPORTAL_WS_BURST: frames per socket
  (every frame counts, pings included);
- CHATPORTAL_AGENT_WS_RATE_PER_S / CHATPORTAL_AGENT_WS_BURST: the same for
  agent sockets, which serve several chats at once;
- CHATPORTAL_VISITOR_MESSAGES_PER_MINUTE: messages per visitor over all of
  its sockets, counted in the cache (local memory or Redis);
- CHATPORTAL_WS_MAX_VIOLATIONS: refused frames in a row before close 4029.
"""

from __future__ import annotations

import functools
import logging
import math
import time

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from foundation.token_bucket import TokenBucket

logger = logging.getLogger(__name__)


def setting(name: str, default: float) -> float:
    return getattr(settings, name, default)


def socket_bucket(*, agent: bool) -> TokenBucket:
    if agent:
        return TokenBucket(
            setting("CHATPORTAL_AGENT_WS_RATE_PER_S", 30), setting("CHATPORTAL_AGENT_WS_BURST", 60)
        )
    return TokenBucket(setting("CHATPORTAL_WS_RATE_PER_S", 10), setting("CHATPORTAL_WS_BURST", 20))


def max_violations() -> int:
    return int(setting("CHATPORTAL_WS_MAX_VIOLATIONS", 10))


VISITOR_WINDOW_S = 60


def visitor_message_retry_after(visitor_pk: int, *, now: float | None = None) -> int:
    """Counts one message; 0 if allowed, else seconds until the window resets.

    A fixed one-minute window keyed by visitor, shared by all its sockets on
    every worker through the cache.
    """
    return visitor_messages_retry_after([visitor_pk], now=now)[0]


def visitor_messages_retry_after(visitor_pks: list[int], *, now: float | None = None) -> list[int]:
    """`visitor_message_retry_after` for several messages, in one round trip to Redis.

    A visitor named twice counts twice (two messages of one batch).
    """
    limit = int(setting("CHATPORTAL_VISITOR_MESSAGES_PER_MINUTE", 120))
    now = time.time() if now is None else now
    window = int(now // VISITOR_WINDOW_S)
    try:
        counts = _count_in_window(
            [f"chat:visitor-msgs:{pk}:{window}" for pk in visitor_pks], VISITOR_WINDOW_S * 2
        )
    except Exception:
        # The counter lives in Redis; while Redis restarts, refusing (or
        # failing) every visitor message would lose them. The per-socket
        # bucket still holds, so let the message through.
        logger.warning("visitor message window unavailable; not counting", exc_info=True)
        return [0] * len(visitor_pks)
    retry_after = max(1, math.ceil((window + 1) * VISITOR_WINDOW_S - now))
    return [0 if count <= limit else retry_after for count in counts]


@functools.cache
def _window_client(pool: redis.ConnectionPool) -> redis.Redis:
    # Django's cache builds a new client object on every call: on the message path, once.
    return redis.Redis(connection_pool=pool)


def _count_in_window(keys: list[str], ttl_s: int) -> list[int]:
    """Add one to each key (a key named twice, twice); the counts after."""
    # The backend itself: `django.core.cache.cache` is a proxy, never a RedisCache.
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        # On the message path: one round trip (INCR + EXPIRE NX pipelined)
        # instead of Django's EXISTS + INCR, plus ADD at each window start.
        client = _window_client(cache._cache._get_connection_pool(write=True))
        with client.pipeline(transaction=False) as pipe:
            for key in keys:
                full_key = cache.make_and_validate_key(key)
                pipe.incr(full_key)
                pipe.expire(full_key, ttl_s, nx=True)
            replies = pipe.execute()
        return [int(count) for count in replies[::2]]
    return [_count_one_in_cache(cache, key, ttl_s) for key in keys]


def _count_one_in_cache(cache, key: str, ttl_s: int) -> int:
    try:
        return cache.incr(key)
    except ValueError:
        # First message of the window (or the key expired): start at 1.
        return 1 if cache.add(key, 1, timeout=ttl_s) else cache.incr(key)
