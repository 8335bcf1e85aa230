"""Prometheus metrics: what a worker is doing, scraped at `/metrics`.

One daphne worker is one process (its sync thread and thread pool share the
process' memory), so each worker keeps its own counters in prometheus_client's
default registry and Prometheus scrapes every worker on its own address
(`web1:8000`, `web2:8000` in Compose); no multiprocess mode is needed.
Counters start at 0 when a worker restarts, which `rate()` handles.

The counters are incremented by one-line calls on the real code paths
(foundation/sockets.py, chat/consumers/widget.py, chat/consumers/agent.py,
tickets/portal/consumers.py, chat/actions/routing.py, foundation/realtime.py). Queue
lengths are not counted along the way but read from the database at scrape
time (chat/queue_metrics.py, registered in this process' registry when the
chat app is ready), so they are the truth even across workers.

Access (`metrics_view`): with `CHATPORTAL_METRICS_TOKEN` set, a request needs
`Authorization: Bearer <token>`. Without it, only a direct request from the
loopback interface is served: no `X-Forwarded-For` header (nginx always sets
one, and daphne trusts its first value, which a client can forge), and the
peer address 127.0.0.1 or ::1. nginx also refuses `/metrics` itself.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

logger = logging.getLogger(__name__)

OPEN_CONNECTIONS = Gauge(
    "chatportal_open_connections", "WebSocket connections open on this worker", ["kind"]
)
for _kind in ("widget", "agent", "portal"):
    OPEN_CONNECTIONS.labels(_kind)
MESSAGES_POSTED = Counter(
    "chatportal_messages_posted", "Chat messages committed and acked, by author role", ["role"]
)
EVENTS_DELIVERED = Counter(
    "chatportal_events_delivered", "Conversation events sent to sockets (one per socket)"
)
ERRORS_SENT = Counter("chatportal_errors_sent", "Error frames sent to clients, by code", ["code"])
DOORBELLS_SENT = Counter(
    "chatportal_doorbells_sent", "Channel-layer group sends after a commit, by outcome", ["outcome"]
)
ROUTING_SECONDS = Histogram(
    "chatportal_routing_seconds",
    "Duration of one routing pass over a department's queue",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


def connection_opened(consumer: Any, kind: str) -> None:
    """Count an accepted socket once; `connection_closed` uncounts it once."""
    if getattr(consumer, "_metrics_kind", None) is None:
        consumer._metrics_kind = kind
        OPEN_CONNECTIONS.labels(kind).inc()


def connection_closed(consumer: Any) -> None:
    kind = getattr(consumer, "_metrics_kind", None)
    if kind is not None:
        consumer._metrics_kind = None
        OPEN_CONNECTIONS.labels(kind).dec()


def count_frame(frame: Any) -> None:
    """Called for every frame a chat socket sends: events and errors are counted."""
    kind = frame.get("type") if isinstance(frame, dict) else None
    if kind == "event":
        EVENTS_DELIVERED.inc()
    elif kind == "error":
        ERRORS_SENT.labels(str(frame.get("code", ""))).inc()


LOOPBACK = {"127.0.0.1", "::1"}


def metrics_allowed(request: HttpRequest) -> bool:
    token = getattr(settings, "CHATPORTAL_METRICS_TOKEN", "")
    if token:
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.encode()
        )
    return "X-Forwarded-For" not in request.headers and request.META.get("REMOTE_ADDR") in LOOPBACK


@never_cache
@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        return JsonResponse(
            {"error": {"code": "forbidden", "detail": "metrics need the metrics token"}}, status=403
        )
    try:
        body = generate_latest(REGISTRY)
    except Exception:
        logger.exception("metrics scrape failed")
        return JsonResponse(
            {"error": {"code": "server_error", "detail": "metrics are unavailable"}}, status=500
        )
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
