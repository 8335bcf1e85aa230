"""Liveness (`/healthz`) and readiness (`/readyz`) for load balancers and Compose.

`/healthz` answers as long as the process runs its event loop: no database,
no channel layer, so a slow database never gets a healthy worker restarted.
`/readyz` says whether this worker can do its job right now: a cheap query on
the database and a send/receive round trip through the channel layer on a
private channel, each bounded by a short timeout. It answers 503 while the
worker drains for a shutdown (foundation/shutdown.py), so a balancer stops
sending it new clients. Failures name the check and a short reason of our
own; exception text goes to the log, never to the client.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from foundation import shutdown

logger = logging.getLogger(__name__)


def _query_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


async def check_database() -> None:
    await database_sync_to_async(_query_database)()


async def check_channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    channel = await layer.new_channel("readyz.")
    try:
        nonce = uuid.uuid4().hex
        await layer.send(channel, {"type": "readyz.probe", "nonce": nonce})
        message = await layer.receive(channel)
    finally:
        # The pub/sub layer would keep the probe's subscription forever.
        discard_channel = getattr(layer, "discard_channel", None)
        if discard_channel is not None:
            await discard_channel(channel)
    if message.get("nonce") != nonce:
        raise RuntimeError("the channel layer returned someone else's message")


async def run_check(name: str, check, timeout_s: float) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(), timeout=timeout_s)
    except TimeoutError:
        logger.warning("readiness check %s timed out after %.1f s", name, timeout_s)
        return {"ok": False, "error": "timeout", "timeout_s": timeout_s}
    except Exception:
        logger.warning("readiness check %s failed", name, exc_info=True)
        return {"ok": False, "error": "unavailable"}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


READINESS_CHECKS = {"database": check_database, "channel_layer": check_channel_layer}


async def readiness(timeout_s: float | None = None) -> tuple[bool, dict[str, Any]]:
    timeout = (
        float(getattr(settings, "CHATPORTAL_READY_TIMEOUT_S", 2.0))
        if timeout_s is None
        else timeout_s
    )
    names = list(READINESS_CHECKS)
    results = await asyncio.gather(*(run_check(n, READINESS_CHECKS[n], timeout) for n in names))
    checks = dict(zip(names, results, strict=True))
    draining = shutdown.is_draining()
    ready = all(result["ok"] for result in checks.values()) and not draining
    body: dict[str, Any] = {"status": "ready" if ready else "unavailable", "checks": checks}
    if draining:
        body["status"] = "draining"
    failed = [name for name, result in checks.items() if not result["ok"]]
    if failed:
        body["failed"] = failed
    return ready, body


@never_cache
@require_safe
async def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
async def readyz(request: HttpRequest) -> JsonResponse:
    ready, body = await readiness()
    return JsonResponse(body, status=200 if ready else 503)
