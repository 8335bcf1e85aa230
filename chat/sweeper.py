"""The safety net: dead sockets, missed offers, and a routing pass.

Everything that matters also happens on the event that causes it (a close,
a disconnect, an agent coming online); this loop catches what no event
announces: a socket that died without a close frame, an offer nobody
answered, a notification the channel layer dropped. Every worker runs it;
each step is idempotent and race-free, so running it twice is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
from collections.abc import Callable

from channels.db import database_sync_to_async
from django.conf import settings

from chat.actions.presence import expire_offers, requeue_agent_conversations
from chat.actions.scheduling import ensure_coalescer_running, route_now
from queues.actions import sweep_presence

logger = logging.getLogger(__name__)

_task: asyncio.Task | None = None
_stop: asyncio.Event | None = None

# Sweeps of higher apps (tickets' SLA clocks), registered from their
# AppConfig.ready(): chat must not import them. Each is `fn(now) -> dict`.
_extra_sweeps: list[Callable[[datetime.datetime | None], dict[str, int]]] = []


def register_sweep(fn: Callable[[datetime.datetime | None], dict[str, int]]) -> None:
    if fn not in _extra_sweeps:
        _extra_sweeps.append(fn)


def sweep_interval_s() -> float:
    configured = settings.CHATPORTAL_SWEEP_INTERVAL_S
    if configured > 0:
        return configured
    return max(1.0, min(5.0, settings.CHATPORTAL_PRESENCE_TTL_S / 3))


def run_sweeps(*, now: datetime.datetime | None = None) -> dict[str, int]:
    gone = sweep_presence(now=now)
    requeued = sum(requeue_agent_conversations(user_id, reason="agent_offline") for user_id in gone)
    expired = expire_offers(now=now)
    routed = len(route_now(now=now))
    counts = {"gone": len(gone), "requeued": requeued, "expired": expired, "routed": routed}
    for sweep in _extra_sweeps:
        try:
            counts.update(sweep(now))
        except Exception:
            # One app's failing sweep must not stop routing's.
            logger.exception("sweep %s failed", getattr(sweep, "__name__", sweep))
    return counts


async def _loop(stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), sweep_interval_s())
            return
        try:
            await database_sync_to_async(run_sweeps)()
        except Exception:
            logger.exception("sweep failed")


def ensure_sweeper_running() -> None:
    """Start this process's sweep loop (once) on the running event loop.

    `chatportal serve` calls it when the worker starts, so SLA clocks, automatic
    tickets, offers and presence run with no socket connected; consumers call it
    too, for servers started some other way (tests, `runserver`).
    """
    global _task, _stop
    ensure_coalescer_running()
    loop = asyncio.get_running_loop()
    if _task is not None and not _task.done() and _task.get_loop() is loop:
        return
    _stop = asyncio.Event()
    _task = loop.create_task(_loop(_stop), name="chatportal-sweeper")


async def stop_sweeper(timeout_s: float = 10) -> None:
    """Let a sweep in flight commit, then end the loop (a worker shutting down).

    Cancelling mid-sweep would only abandon the thread doing it; waiting keeps
    the shutdown log free of half-done passes.
    """
    global _task
    task, stop = _task, _stop
    _task = None
    if task is None or task.done() or stop is None:
        return
    stop.set()
    try:
        await asyncio.wait_for(task, timeout_s)
    except TimeoutError:
        logger.warning("sweep still running after %.0f s at shutdown", timeout_s)
