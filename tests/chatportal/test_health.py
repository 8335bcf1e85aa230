"""/healthz and /readyz: liveness without the database, readiness with both checks."""

from __future__ import annotations

import asyncio
import json

import pytest
from django.db import OperationalError

from chatportal import health
from foundation import shutdown

SECRET_DETAIL = "password authentication failed for user chatportal at 10.1.2.3"


def test_healthz_answers_without_touching_the_database(client):
    # No django_db mark: any query would raise and turn this into a 500.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_refuses_writes(client):
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db(transaction=True)
def test_readyz_is_ready_when_the_database_and_the_channel_layer_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["channel_layer"]["ok"] is True
    assert body["checks"]["channel_layer"]["ms"] >= 0
    assert "failed" not in body


@pytest.mark.django_db(transaction=True)
def test_readyz_names_the_database_when_it_fails_and_hides_the_error(client, monkeypatch):
    def broken() -> None:
        raise OperationalError(SECRET_DETAIL)

    monkeypatch.setattr(health, "_query_database", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failed"] == ["database"]
    assert body["checks"]["database"] == {"ok": False, "error": "unavailable"}
    assert body["checks"]["channel_layer"]["ok"] is True
    assert SECRET_DETAIL not in response.content.decode()
    assert "Traceback" not in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_readyz_times_out_a_channel_layer_that_never_answers(client, monkeypatch, settings):
    settings.CHATPORTAL_READY_TIMEOUT_S = 0.2

    async def hangs() -> None:
        await asyncio.sleep(30)

    monkeypatch.setitem(health.READINESS_CHECKS, "channel_layer", hangs)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["channel_layer"]
    assert body["checks"]["channel_layer"] == {"ok": False, "error": "timeout", "timeout_s": 0.2}


@pytest.mark.both_passes  # the channel layer, Redis in pass 2
async def test_the_channel_layer_check_is_a_real_round_trip(monkeypatch):
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    lost: list[dict] = []

    async def drops(channel, message):
        lost.append(message)  # never delivered: the receive must time out

    monkeypatch.setattr(layer, "send", drops)
    result = await health.run_check("channel_layer", health.check_channel_layer, 0.2)
    assert lost and lost[0]["type"] == "readyz.probe"
    assert result["ok"] is False and result["error"] == "timeout"


@pytest.mark.django_db(transaction=True)
def test_readyz_says_draining_during_a_shutdown(client, monkeypatch):
    monkeypatch.setattr(shutdown, "_draining", True)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "draining"
    # Still alive: the process answers until its sockets are gone.
    assert client.get("/healthz").status_code == 200


def test_health_endpoints_answer_json_not_html(client):
    response = client.get("/healthz")
    assert response["Content-Type"] == "application/json"
    json.loads(response.content)
