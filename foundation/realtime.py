"""The one publish primitive.

Actions call `publish_on_commit(group, event)` inside their transaction; the
event goes to the channel layer only after the commit, and a channel-layer
failure is logged, never turned into an error for a request that already
committed. The layer is a doorbell: consumers re-read the database.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

from foundation import metrics

logger = logging.getLogger(__name__)

# Tests set this to True (see tests/conftest.py) so that payloads are
# round-tripped through msgpack exactly as channels-redis would.
CHECK_SERIALIZABLE = False

Doorbell = tuple[str, dict[str, Any]]
_collecting = threading.local()


def _check_serializable(event: dict[str, Any]) -> None:
    import msgpack

    packed = msgpack.packb(event, use_bin_type=True)
    if msgpack.unpackb(packed, raw=False) != event:
        raise TypeError(f"event does not survive msgpack: {event!r}")


def send_now(group: str, event: dict[str, Any]) -> None:
    # Sent synchronously from the thread that committed, unless that thread
    # runs a socket's database hop (`collecting_doorbells`): then the socket
    # awaits the sends on its event loop right after the hop, in order.
    # Fire-and-forget from the thread was measured (docs/benchmarks.md): 15x
    # the median latency at 200 msg/s, an exhausted Redis pool in a burst,
    # and final doorbells that never arrived. Waiting throttles the burst and
    # keeps one conversation's doorbells in order.
    if CHECK_SERIALIZABLE or getattr(settings, "CHATPORTAL_CHECK_EVENTS", False):
        _check_serializable(event)
    collected = getattr(_collecting, "doorbells", None)
    if collected is not None:
        collected.append((group, event))
        return
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, event)
        metrics.DOORBELLS_SENT.labels("sent").inc()
    except Exception:
        metrics.DOORBELLS_SENT.labels("failed").inc()
        # The database already holds the truth; consumers catch up from it.
        logger.exception("channel layer publish to %s failed", group)


def publish_on_commit(group: str, event: dict[str, Any]) -> None:
    if CHECK_SERIALIZABLE:
        _check_serializable(event)
    transaction.on_commit(lambda: send_now(group, event), robust=True)


def collecting_doorbells(fn: Callable[..., Any]) -> Callable[..., tuple[Any, list[Doorbell]]]:
    """Wrap a sync function so that the doorbells its commits ring are returned, not sent.

    For a consumer's database hop: the thread need not wait for Redis (an
    `async_to_sync` round trip per doorbell), and the consumer sends them
    with `ring` once the hop returns. If the function fails after a commit,
    what it committed is rung from the thread before the error propagates.
    """

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> tuple[Any, list[Doorbell]]:
        doorbells: list[Doorbell] = []
        outer = getattr(_collecting, "doorbells", None)
        _collecting.doorbells = doorbells
        try:
            result = fn(*args, **kwargs)
        except BaseException:
            _collecting.doorbells = outer
            for group, event in doorbells:
                send_now(group, event)
            raise
        _collecting.doorbells = outer
        return result, doorbells

    return run


async def ring(doorbells: list[Doorbell]) -> None:
    """Send collected doorbells in order; shielded, so a closing socket still sends them."""
    if not doorbells:
        return
    layer = get_channel_layer()
    if layer is None:
        return

    async def send_all() -> None:
        for group, event in doorbells:
            try:
                await layer.group_send(group, event)
                metrics.DOORBELLS_SENT.labels("sent").inc()
            except Exception:
                metrics.DOORBELLS_SENT.labels("failed").inc()
                logger.exception("channel layer publish to %s failed", group)

    await asyncio.shield(send_all())
