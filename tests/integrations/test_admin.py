from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from foundation.webhooks import enqueue_webhook
from integrations.models import WebhookDelivery, WebhookEndpoint
from integrations.sending import deliver_due_webhooks

State = WebhookDelivery.State


@pytest.fixture
def admin_client(client, db):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "x-pass-123")
    client.force_login(admin)
    return client


def linked() -> None:
    enqueue_webhook("contact.linked", {"contact": None, "linked": {"kind": "call", "id": "c1"}})


def test_an_endpoint_is_configured_with_url_event_types_and_active(admin_client, receiver):
    response = admin_client.post(
        reverse("admin:integrations_webhookendpoint_add"),
        {
            "name": "ERP",
            "url": receiver.url,
            "secret": "shared-secret",
            "event_types": ["ticket.created", "call.ended"],
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    endpoint = WebhookEndpoint.objects.get(name="ERP")
    assert endpoint.event_types == ["ticket.created", "call.ended"]
    assert endpoint.subscribes_to("call.ended") and not endpoint.subscribes_to("contact.linked")


def test_an_endpoint_url_must_be_http_or_https_and_events_known(admin_client):
    response = admin_client.post(
        reverse("admin:integrations_webhookendpoint_add"),
        {"name": "x", "url": "ftp://files.example.com/", "secret": "s", "event_types": ["nope"]},
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "url" in errors and "event_types" in errors
    assert not WebhookEndpoint.objects.exists()


def test_the_delivery_log_shows_each_attempt_with_status_and_response(
    admin_client, endpoint, receiver
):
    receiver.script = [502]
    linked()
    deliver_due_webhooks()
    delivery = WebhookDelivery.objects.get()
    changelist = admin_client.get(reverse("admin:integrations_webhookdelivery_changelist"))
    assert changelist.status_code == 200
    assert [d.pk for d in changelist.context["cl"].result_list] == [delivery.pk]
    page = admin_client.get(
        reverse("admin:integrations_webhookdelivery_change", args=[delivery.pk])
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert "502" in html and "answer 502" in html and "contact.linked" in html
    # A log, not a form: nothing to edit or add.
    assert not page.context["has_change_permission"]
    add = admin_client.get(reverse("admin:integrations_webhookdelivery_add"))
    assert add.status_code == 403


def test_retry_now_queues_a_given_up_delivery_again(admin_client, endpoint, receiver, settings):
    settings.CHATPORTAL_WEBHOOK_MAX_ATTEMPTS = 1
    receiver.script = [500]
    linked()
    deliver_due_webhooks()
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == State.FAILED
    response = admin_client.post(
        reverse("admin:integrations_webhookdelivery_changelist"),
        {"action": "retry_now", "_selected_action": [delivery.pk]},
    )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.state == State.PENDING and delivery.next_attempt_at <= timezone.now()
    assert deliver_due_webhooks().delivered == 1
    assert delivery.attempt_log.count() == 2
