"""The one publish primitive.

Actions call `publish_on_commit(group, event)` inside their transaction; the
event goes to the channel layer only after the commit, and a channel-layer
failure is logged, never turned into an error for a request that already
committed. The layer is a doorbell: consumers re-read the database.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

# Tests set this to True (see tests/conftest.py) so that payloads are
# round-tripped through msgpack exactly as channels-redis would.
CHECK_SERIALIZABLE = False


def _check_serializable(event: dict[str, Any]) -> None:
    import msgpack

    packed = msgpack.packb(event, use_bin_type=True)
    if msgpack.unpackb(packed, raw=False) != event:
        raise TypeError(f"event does not survive msgpack: {event!r}")


# The worker's event loop, once a socket consumer has registered it. With it,
# a doorbell is handed to the loop and the database thread moves on at once:
# waiting for the Redis round trip there was half of the write path's time
# (docs/benchmarks.md). Order across doorbells does not matter: sockets read
# the log in seq order and use a payload only when it is the next seq.
_loop: asyncio.AbstractEventLoop | None = None


def remember_event_loop(loop: asyncio.AbstractEventLoop) -> None:
    global _loop, _send_slots
    if loop is not _loop:
        _send_slots = None  # a semaphore belongs to one loop
    _loop = loop


# Doorbells in flight at once per worker. Unbounded, a burst of commits opens
# more Redis connections than the pool allows (PITFALLS 1) and the sockets'
# own group joins fail; bounded, they queue on the loop for microseconds.
MAX_SENDS_IN_FLIGHT = 64
_send_slots: asyncio.Semaphore | None = None


async def _bounded_group_send(layer: Any, group: str, event: dict[str, Any]) -> None:
    global _send_slots
    if _send_slots is None:
        _send_slots = asyncio.Semaphore(MAX_SENDS_IN_FLIGHT)
    async with _send_slots:
        await layer.group_send(group, event)


def _log_failure(group: str, future: concurrent.futures.Future) -> None:
    exc = future.exception()
    if exc is not None:
        logger.error("channel layer publish to %s failed", group, exc_info=exc)


def send_now(group: str, event: dict[str, Any]) -> None:
    if CHECK_SERIALIZABLE or getattr(settings, "CHATPORTAL_CHECK_EVENTS", False):
        _check_serializable(event)
    layer = get_channel_layer()
    if layer is None:
        return
    loop = _loop
    try:
        if loop is not None and loop.is_running() and not _on_loop_thread(loop):
            future = asyncio.run_coroutine_threadsafe(_bounded_group_send(layer, group, event), loop)
            future.add_done_callback(lambda f: _log_failure(group, f))
        else:
            async_to_sync(layer.group_send)(group, event)
    except Exception:
        # The database already holds the truth; consumers catch up from it.
        logger.exception("channel layer publish to %s failed", group)


def _on_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def publish_on_commit(group: str, event: dict[str, Any]) -> None:
    if CHECK_SERIALIZABLE:
        _check_serializable(event)
    transaction.on_commit(lambda: send_now(group, event), robust=True)
