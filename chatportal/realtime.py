"""The one publish primitive.

Actions call `publish_on_commit(group, event)` inside their transaction; the
event goes to the channel layer only after the commit, and a channel-layer
failure is logged, never turned into an error for a request that already
committed. The layer is a doorbell: consumers re-read the database.
"""

from __future__ import annotations

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


def send_now(group: str, event: dict[str, Any]) -> None:
    # Sent synchronously from the thread that committed. Handing doorbells to
    # the event loop without waiting was measured (docs/benchmarks.md): more
    # throughput at saturation, but 15x the median latency at 200 msg/s, a
    # burst that exhausted the Redis pool, and final doorbells that never
    # arrived. Waiting here throttles the burst and keeps them in order.
    if CHECK_SERIALIZABLE or getattr(settings, "CHATPORTAL_CHECK_EVENTS", False):
        _check_serializable(event)
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, event)
    except Exception:
        # The database already holds the truth; consumers catch up from it.
        logger.exception("channel layer publish to %s failed", group)


def publish_on_commit(group: str, event: dict[str, Any]) -> None:
    if CHECK_SERIALIZABLE:
        _check_serializable(event)
    transaction.on_commit(lambda: send_now(group, event), robust=True)
