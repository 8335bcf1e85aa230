"""The safety net: dead sockets, missed offers, and a routing pass.

Everything that matters also happens on the event that causes it (a close,
a disconnect, an agent coming online); this loop catches what no event
announces: a socket that died without a close frame, an offer nobody
answered, a notification the channel layer dropped. Every worker runs it;
each step is idempotent and race-free, so running it twice is harmless.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Callable

from channels.db import database_sync_to_async
from django.conf import settings

from chat.assignment import expire_offers, requeue_agent_conversations, route_waiting
from chat.coalescer import ensure_coalescer_running
from queues.actions import sweep_presence

logger = logging.getLogger(__name__)

_task: asyncio.Task | None = None

# Sweeps of higher apps (tickets' SLA clocks), registered from their
# AppConfig.ready(): chat must not import them. Each is `fn(now) -> dict`.
_extra_sweeps: list[Callable[[datetime.datetime | None], dict[str, int]]] = []


def register_sweep(fn: Callable[[datetime.datetime | None], dict[str, int]]) -> None:
    if fn not in _extra_sweeps:
        _extra_sweeps.append(fn)


def sweep_interval_s() -> float:
    return max(1.0, min(5.0, settings.CHATPORTAL_PRESENCE_TTL_S / 3))


def run_sweeps(*, now: datetime.datetime | None = None) -> dict[str, int]:
    gone = sweep_presence(now=now)
    requeued = sum(requeue_agent_conversations(user_id, reason="agent_offline") for user_id in gone)
    expired = expire_offers(now=now)
    routed = len(route_waiting(now=now))
    counts = {"gone": len(gone), "requeued": requeued, "expired": expired, "routed": routed}
    for sweep in _extra_sweeps:
        try:
            counts.update(sweep(now))
        except Exception:
            # One app's failing sweep must not stop routing's.
            logger.exception("sweep %s failed", getattr(sweep, "__name__", sweep))
    return counts


async def _loop() -> None:
    while True:
        await asyncio.sleep(sweep_interval_s())
        try:
            await database_sync_to_async(run_sweeps)()
        except Exception:
            logger.exception("sweep failed")


def ensure_sweeper_running() -> None:
    """Start this process's sweep loop (once) on the running event loop."""
    global _task
    ensure_coalescer_running()
    loop = asyncio.get_running_loop()
    if _task is not None and not _task.done() and _task.get_loop() is loop:
        return
    _task = loop.create_task(_loop(), name="chatportal-sweeper")
