"""Staff-only GDPR endpoints: supervisors export and erase, agents are refused."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from chatportal.demo_data import seed_demo
from crm.gdpr import find_contact
from crm.models import ContactErasure
from queues.tokens import issue_agent_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def maria(db):
    seed_demo()
    return find_contact("crm-1")


def client_for(username: str) -> Client:
    token = issue_agent_token(get_user_model().objects.get(username=username))
    return Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_a_supervisor_exports_a_contact(maria):
    response = client_for("sofia").get(f"/api/v1/gdpr/contacts/{maria.public_id}/export")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["contact"]["name"] == "Maria Popescu"
    assert "tickets" in body and "chats" in body


def test_an_agent_who_is_not_staff_is_refused(maria):
    boris = client_for("boris")
    response = boris.get(f"/api/v1/gdpr/contacts/{maria.public_id}/export")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    erase = boris.post(
        f"/api/v1/gdpr/contacts/{maria.public_id}/erase",
        {"confirm": True},
        content_type="application/json",
    )
    assert erase.status_code == 403
    assert not ContactErasure.objects.exists()


def test_without_a_token_nothing_is_said(maria):
    assert Client().get(f"/api/v1/gdpr/contacts/{maria.public_id}/export").status_code == 401


def test_unknown_or_malformed_ids_answer_404(maria):
    sofia = client_for("sofia")
    for contact_id in ["00000000-0000-0000-0000-000000000000", "../../etc/passwd", "' OR 1=1 --"]:
        response = sofia.get(f"/api/v1/gdpr/contacts/{contact_id}/export")
        assert response.status_code == 404, (contact_id, response.status_code)


def test_erasure_needs_confirmation_and_is_idempotent(maria):
    sofia = client_for("sofia")
    url = f"/api/v1/gdpr/contacts/{maria.public_id}/erase"
    refused = sofia.post(url, {}, content_type="application/json")
    assert refused.status_code == 400
    assert not ContactErasure.objects.exists()
    first = sofia.post(url, {"confirm": True}, content_type="application/json")
    assert first.status_code == 200, first.content
    assert first.json()["already_erased"] is False
    assert first.json()["erased_by"] == "api:sofia"
    again = sofia.post(url, {"confirm": True}, content_type="application/json")
    assert again.json()["already_erased"] is True
    exported = sofia.get(f"/api/v1/gdpr/contacts/{maria.public_id}/export").json()
    assert "Popescu" not in str(exported)
