"""Queue lengths on /metrics: waiting chats per department and the oldest wait.

Not counted along the way but read from the database at scrape time (one
grouped query over the departments and their queued conversations), so the
numbers are the truth even across workers. The collector joins the process'
default registry when this module is imported (chat's AppConfig.ready), beside
the counters of foundation/metrics.py, and `/metrics` serves them together.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.db.models import Count, Min, Q
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from queues.models import Department

logger = logging.getLogger(__name__)


class QueueCollector(Collector):
    """Waiting chats per department and the oldest wait, read at scrape time."""

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Without describe(), registering the collector would call collect():
        # a database query at import time.
        yield GaugeMetricFamily("chatportal_queue_waiting", "", labels=["department"])
        yield GaugeMetricFamily("chatportal_queue_oldest_wait_seconds", "", labels=["department"])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        waiting = GaugeMetricFamily(
            "chatportal_queue_waiting",
            "Chats waiting in a department's queue",
            labels=["department"],
        )
        oldest = GaugeMetricFamily(
            "chatportal_queue_oldest_wait_seconds",
            "How long the longest-waiting chat of a department has waited",
            labels=["department"],
        )
        queued = Q(conversations__state="queued")
        try:
            rows = list(
                Department.objects.annotate(
                    waiting=Count("conversations", filter=queued),
                    oldest=Min("conversations__queued_at", filter=queued),
                ).values_list("slug", "waiting", "oldest")
            )
        except Exception:
            # The process' own counters are still worth a scrape.
            logger.warning("queue metrics unavailable", exc_info=True)
            return
        now = timezone.now()
        for slug, count, since in rows:
            waiting.add_metric([slug], count)
            oldest.add_metric([slug], max(0.0, (now - since).total_seconds()) if since else 0.0)
        yield waiting
        yield oldest


QUEUE_COLLECTOR = QueueCollector()
REGISTRY.register(QUEUE_COLLECTOR)
