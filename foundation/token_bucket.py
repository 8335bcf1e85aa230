"""A token bucket: the per-socket frame limit (rate and burst), in memory."""

from __future__ import annotations

import time


class TokenBucket:
    """In-memory, per socket: no shared state needed for a per-socket limit."""

    def __init__(self, rate_per_s: float, burst: float, *, clock=time.monotonic):
        self.rate = rate_per_s
        self.capacity = burst
        self.tokens = burst
        self.clock = clock
        self.stamp = clock()

    def take(self) -> float:
        """0 when a token was taken; otherwise seconds until one is available."""
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate
