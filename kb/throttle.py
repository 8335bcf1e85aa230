"""How often an anonymous client may search the knowledge base over the API.

A fixed one-minute window per client address, counted in the cache (local
memory, or Redis shared by every worker): CHATPORTAL_KB_SEARCH_PER_MINUTE
searches (default 60), then 429 until the window ends. Agents with a token
are not counted: the token already says who they are.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

WINDOW_S = 60


def anonymous_search_retry_after(client: str, *, now: float | None = None) -> int:
    """Counts one search; 0 if allowed, else seconds until the window resets."""
    limit = int(getattr(settings, "CHATPORTAL_KB_SEARCH_PER_MINUTE", 60))
    now = time.time() if now is None else now
    window = int(now // WINDOW_S)
    digest = hashlib.sha256(client.encode()).hexdigest()[:32]
    key = f"kb-search:{digest}:{window}"
    try:
        count = 1 if cache.add(key, 1, timeout=WINDOW_S * 2) else cache.incr(key)
    except ValueError:  # expired between add() and incr()
        count = 1 if cache.add(key, 1, timeout=WINDOW_S * 2) else 1
    except Exception:
        # While the cache (Redis) restarts, searching stays open rather than failing.
        logger.warning("kb search window unavailable; not counting", exc_info=True)
        return 0
    if count <= limit:
        return 0
    return max(1, math.ceil((window + 1) * WINDOW_S - now))
