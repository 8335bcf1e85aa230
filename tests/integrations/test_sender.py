"""The sender as it runs in production: after the commit, in a thread, in several workers."""

from __future__ import annotations

import datetime
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections, transaction
from django.utils import timezone

from foundation.webhooks import enqueue_webhook
from integrations.locks import claim_due_delivery
from integrations.models import WebhookDelivery
from integrations.sending import deliver_due_webhooks, sweep_webhooks, wait_for_sender
from tests.chat.test_concurrency import require_shared_database
from tests.factories import make_department
from tickets.actions.messages import create_ticket
from tickets.models import Ticket

State = WebhookDelivery.State


def linked(n: int) -> None:
    enqueue_webhook(
        "contact.linked",
        {"contact": {"id": str(n), "external_id": None, "name": ""}, "linked": {}},
    )


def test_two_claims_take_different_rows_and_a_lapsed_lease_is_taken_again(endpoint):
    linked(1)
    linked(2)
    now = timezone.now()
    lease = now + datetime.timedelta(minutes=1)
    first = claim_due_delivery(now=now, lease_until=lease)
    second = claim_due_delivery(now=now, lease_until=lease)
    assert first is not None and second is not None and first.pk != second.pk
    assert claim_due_delivery(now=now, lease_until=lease) is None
    # A worker that died mid-send: its row falls due when the lease ends.
    again = claim_due_delivery(now=lease, lease_until=lease + datetime.timedelta(minutes=1))
    assert again is not None and again.attempts == 2


def test_a_failed_send_leaves_the_row_for_the_sweep(endpoint, receiver):
    receiver.script = [500]
    linked(1)
    deliver_due_webhooks()
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == State.PENDING
    later = delivery.next_attempt_at + datetime.timedelta(seconds=1)
    assert sweep_webhooks(now=delivery.next_attempt_at - datetime.timedelta(seconds=1)) == {
        "webhooks_due": 0
    }
    assert sweep_webhooks(now=later) == {"webhooks_due": 1}


@pytest.mark.django_db(transaction=True)
def test_after_the_commit_the_sender_thread_delivers_at_once(endpoint, receiver, settings):
    require_shared_database()
    settings.CHATPORTAL_WEBHOOK_AFTER_COMMIT = "thread"
    with transaction.atomic():
        ticket = create_ticket(
            subject="Alarm",
            body="beeps",
            contact=None,
            channel=Ticket.Channel.EMAIL,
            department=make_department("support"),
            author_role="customer",
        )
        # Nothing leaves before the commit.
        assert receiver.received == []
    assert wait_for_sender()
    [request] = receiver.received
    assert json.loads(request.body)["data"]["ticket"]["number"] == ticket.number
    assert WebhookDelivery.objects.get().state == State.DELIVERED


@pytest.mark.django_db(transaction=True)
def test_several_workers_deliver_each_event_exactly_once(endpoint, receiver):
    require_shared_database()
    for n in range(30):
        linked(n)

    def worker(_: int) -> int:
        try:
            return deliver_due_webhooks().delivered
        finally:
            connections.close_all()

    with ThreadPoolExecutor(4) as pool:
        delivered = sum(pool.map(worker, range(4)))
    ids = [json.loads(r.body)["id"] for r in receiver.received]
    assert delivered == 30 and len(ids) == 30 and len(set(ids)) == 30
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {State.DELIVERED}
