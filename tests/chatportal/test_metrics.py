"""/metrics: who may scrape it, and what it says (queue lengths read from the database)."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from chat.models import Conversation, Visitor
from tests.factories import make_department

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-for-tests-0123456789"


def new_visitor() -> Visitor:
    return Visitor.objects.create(token_hash=uuid.uuid4().hex)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_direct_loopback_scrape_is_served_without_a_token(client, settings):
    settings.CHATPORTAL_METRICS_TOKEN = ""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert "# TYPE chatportal_open_connections gauge" in text
    assert 'chatportal_open_connections{kind="portal"}' in text
    assert "chatportal_routing_seconds_bucket" in text
    assert "process_cpu_seconds_total" in text or "python_info" in text


def test_a_scrape_through_the_proxy_is_refused_without_a_token(client, settings):
    settings.CHATPORTAL_METRICS_TOKEN = ""
    # nginx always adds X-Forwarded-For, and daphne would trust its first (forgeable) value.
    response = client.get("/metrics", HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.7").status_code == 403


def test_with_a_token_only_the_bearer_may_scrape(client, settings):
    settings.CHATPORTAL_METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 403
    ok = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", REMOTE_ADDR="10.0.0.7")
    assert ok.status_code == 200


def test_metrics_refuse_writes(client):
    assert client.post("/metrics").status_code == 405


def test_queue_lengths_are_read_from_the_database_at_scrape_time(client, settings):
    settings.CHATPORTAL_METRICS_TOKEN = ""
    support = make_department("support")
    make_department("billing")
    for _ in range(3):
        Conversation.objects.create(
            department=support, visitor=new_visitor(), state="queued", queued_at=timezone.now()
        )
    Conversation.objects.create(department=support, visitor=new_visitor(), state="active")
    text = client.get("/metrics").content.decode()
    assert 'chatportal_queue_waiting{department="support"} 3.0' in text
    assert 'chatportal_queue_waiting{department="billing"} 0.0' in text
    assert 'chatportal_queue_oldest_wait_seconds{department="billing"} 0.0' in text


def test_queue_lengths_cost_one_query(client, settings, django_assert_num_queries):
    settings.CHATPORTAL_METRICS_TOKEN = ""
    make_department("support")
    make_department("billing")
    with django_assert_num_queries(1):
        assert client.get("/metrics").status_code == 200


def test_a_database_outage_leaves_the_process_counters_scrapable(client, settings, monkeypatch):
    settings.CHATPORTAL_METRICS_TOKEN = ""
    from queues.models import Department

    def broken(*args, **kwargs):
        raise RuntimeError("database down")

    monkeypatch.setattr(Department.objects, "annotate", broken)
    response = client.get("/metrics")
    assert response.status_code == 200
    text = response.content.decode()
    assert "chatportal_queue_waiting{" not in text
    assert "chatportal_messages_posted" in text
