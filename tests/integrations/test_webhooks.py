from __future__ import annotations

import datetime
import hashlib
import hmac
import json

import pytest
from django.db import transaction
from django.utils import timezone

from chat.actions import conversations, visitors
from crm.actions import record_call
from foundation.webhooks import enqueue_webhook
from integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from integrations.sending import deliver_due_webhooks, retry_delay_s
from tests.factories import make_agent, make_contact, make_department
from tickets.actions.lifecycle import change_status
from tickets.actions.messages import create_ticket
from tickets.models import Ticket

State = WebhookDelivery.State


def new_ticket(contact=None) -> Ticket:
    return create_ticket(
        subject="Alarm after firmware update",
        body="The RZA-500 beeps.",
        contact=contact,
        channel=Ticket.Channel.EMAIL,
        department=make_department("support"),
        author_role="customer",
        author_contact=contact,
    )


def verify(secret: str, header: str, body: bytes) -> bool:
    """What a receiver does, written from the docs, not from integrations.signing."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    expected = hmac.new(
        secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def test_a_new_ticket_is_delivered_signed_with_hmac_sha256_over_timestamp_and_body(
    endpoint, receiver
):
    contact = make_contact("Maria Popescu", external_id="crm-1", email="maria@example.com")
    ticket = new_ticket(contact)
    assert deliver_due_webhooks().delivered == 1

    [request] = receiver.received
    header = request.headers["X-Chatportal-Signature"]
    assert verify("s3cret-for-tests", header, request.body)
    assert not verify("another-secret", header, request.body)
    assert not verify("s3cret-for-tests", header, request.body + b" ")
    timestamp = int(dict(item.split("=", 1) for item in header.split(","))["t"])
    assert abs(timestamp - timezone.now().timestamp()) < 60
    assert request.headers["X-Chatportal-Event"] == "ticket.created"
    body = json.loads(request.body)
    assert body["type"] == "ticket.created"
    assert request.headers["X-Chatportal-Event-Id"] == body["id"]
    assert body["data"]["ticket"]["number"] == ticket.number
    assert body["data"]["ticket"]["contact"]["external_id"] == "crm-1"
    assert body["data"]["change"]["kind"] == "created"
    assert "The RZA-500 beeps." not in request.body.decode()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == (
        State.DELIVERED,
        1,
        200,
    )


def test_a_ticket_change_is_a_ticket_updated_event(endpoint, receiver):
    ticket = new_ticket()
    agent = make_agent("boris", ["support"])
    change_status(ticket, "solved", by=agent)
    events = list(WebhookDelivery.objects.order_by("pk").values_list("event_type", flat=True))
    assert events == ["ticket.created", "ticket.updated"]
    update = json.loads(WebhookDelivery.objects.order_by("pk").last().body)
    assert update["data"]["ticket"]["status"] == "solved"
    assert update["data"]["change"]["kind"] == "status"


def test_a_failing_receiver_is_retried_with_doubling_delays_until_it_answers(endpoint, receiver):
    receiver.script = [500, 503]
    new_ticket()
    t0 = timezone.now()
    assert deliver_due_webhooks(now=t0).retrying == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == State.PENDING and delivery.last_status_code == 500
    assert delivery.next_attempt_at == t0 + datetime.timedelta(seconds=30)

    # Not due yet: nothing is sent.
    assert deliver_due_webhooks(now=t0 + datetime.timedelta(seconds=29)).retrying == 0
    assert len(receiver.received) == 1

    t1 = t0 + datetime.timedelta(seconds=31)
    assert deliver_due_webhooks(now=t1).retrying == 1
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == t1 + datetime.timedelta(seconds=60)

    t2 = t1 + datetime.timedelta(seconds=61)
    assert deliver_due_webhooks(now=t2).delivered == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (State.DELIVERED, 3)
    log = list(delivery.attempt_log.values_list("number", "status_code", "response_excerpt"))
    assert log == [(1, 500, "answer 500"), (2, 503, "answer 503"), (3, 200, "answer 200")]
    # The same bytes every time; receivers drop repeats by the event id.
    assert len({r.body for r in receiver.received}) == 1


def test_retry_delays_double_and_are_capped(settings):
    settings.CHATPORTAL_WEBHOOK_RETRY_BASE_S = 30
    assert [retry_delay_s(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_delay_s(40) == 6 * 3600


def test_a_delivery_is_given_up_after_the_last_attempt(endpoint, receiver):
    receiver.script = [500] * 10
    new_ticket()
    now = timezone.now()
    for _ in range(4):
        deliver_due_webhooks(now=now)
        now += datetime.timedelta(hours=7)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts) == (State.FAILED, 4)
    assert deliver_due_webhooks(now=now).retrying == 0


def test_an_unreachable_receiver_keeps_the_row_for_the_next_attempt(endpoint):
    endpoint.url = "http://127.0.0.1:9/closed"  # discard port: nothing listens
    endpoint.save()
    new_ticket()
    assert deliver_due_webhooks().retrying == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == State.PENDING and delivery.last_status_code is None
    assert delivery.last_error
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None and attempt.error == delivery.last_error


def test_a_rolled_back_change_writes_no_delivery(endpoint):
    department = make_department("support")
    with pytest.raises(RuntimeError), transaction.atomic():
        create_ticket(
            subject="never",
            body="never",
            contact=None,
            channel=Ticket.Channel.EMAIL,
            department=department,
            author_role="customer",
        )
        assert WebhookDelivery.objects.count() == 1
        raise RuntimeError("the request failed after the action")
    assert WebhookDelivery.objects.count() == 0


def test_only_active_endpoints_subscribed_to_the_event_get_it(endpoint, receiver):
    WebhookEndpoint.objects.create(name="calls only", url=receiver.url, event_types=["call.ended"])
    WebhookEndpoint.objects.create(
        name="off", url=receiver.url, event_types=["ticket.created"], is_active=False
    )
    new_ticket()
    assert list(WebhookDelivery.objects.values_list("endpoint__name", flat=True)) == ["Company CRM"]


def test_no_endpoint_means_no_row_and_no_payload_built(db, webhooks_by_hand):
    def payload():
        raise AssertionError("built for nobody")

    enqueue_webhook("contact.linked", payload)
    assert WebhookDelivery.objects.count() == 0


def test_an_unknown_event_is_a_programming_error(db):
    with pytest.raises(ValueError, match="unknown webhook event"):
        enqueue_webhook("ticket.exploded", {})


def test_closing_a_conversation_sends_conversation_closed(endpoint):
    department = make_department("support")
    visitor = visitors.create_visitor()[0]
    conversation = conversations.start_conversation(visitor, department)[0]
    conversations.close_conversation(conversation, by="visitor", reason="done")
    delivery = WebhookDelivery.objects.get(event_type="conversation.closed")
    data = json.loads(delivery.body)["data"]
    assert data["conversation"]["id"] == str(conversation.public_id)
    assert data["conversation"]["department"] == "support"
    assert data["conversation"]["closed_at"] is not None
    assert (data["closed_by"], data["reason"]) == ("visitor", "done")


def test_a_reported_call_sends_call_ended(endpoint):
    contact = make_contact("Maria Popescu", external_id="crm-1")
    contact.phones.create(number="+40721234567", is_primary=True)
    make_agent("boris", ["support"])
    record_call(phone="0721 234 567", direction="inbound", duration_s=125, agent="boris")
    data = json.loads(WebhookDelivery.objects.get(event_type="call.ended").body)["data"]
    assert data["call"]["phone"] == "+40721234567"
    assert data["call"]["duration_s"] == 125
    assert data["call"]["agent"] == "boris"
    assert data["call"]["contact"]["external_id"] == "crm-1"


def test_contact_linked_goes_through_the_foundation_entry_point(endpoint, receiver):
    with transaction.atomic():
        enqueue_webhook(
            "contact.linked",
            lambda: {
                "contact": {"id": "c", "external_id": "crm-1", "name": "Maria"},
                "linked": {"kind": "ticket", "id": "T-1"},
            },
        )
    deliver_due_webhooks()
    assert json.loads(receiver.received[0].body)["data"]["linked"] == {
        "kind": "ticket",
        "id": "T-1",
    }


def test_gdpr_erasure_deletes_the_log_entries_that_name_the_contact(endpoint):
    from crm.gdpr import erase_contact, export_contact

    maria = make_contact("Maria Popescu", external_id="crm-1")
    new_ticket(maria)
    new_ticket(None)
    assert [d["type"] for d in export_contact(maria)["webhooks"]] == ["ticket.created"]
    with transaction.atomic():
        erase_contact(maria, by="test")
    assert WebhookDelivery.objects.count() == 1
    assert "Maria" not in WebhookDelivery.objects.get().body


def linked_payloads() -> list[dict]:
    return [
        json.loads(delivery.body)["data"]
        for delivery in WebhookDelivery.objects.filter(event_type="contact.linked").order_by("pk")
    ]


def test_linking_a_ticket_a_chat_and_a_caller_sends_contact_linked_once_each(endpoint):
    from chat.actions.contacts import link_conversation_to_contact
    from crm.actions import attach_call_to_contact
    from tickets.actions.contacts import link_ticket_to_contact

    agent = make_agent("boris", ["support"])
    maria = make_contact("Maria Popescu", external_id="crm-1")
    ticket = new_ticket()
    conversation = conversations.start_conversation(
        visitors.create_visitor()[0], make_department("support")
    )[0]
    call = record_call(phone="+40 799 000 111", direction="inbound").call

    link_ticket_to_contact(ticket, maria, by=agent)
    link_conversation_to_contact(conversation, maria, by=agent)
    attach_call_to_contact(call, maria)
    # Linking again to the same contact changes nothing and says nothing.
    link_ticket_to_contact(ticket, maria, by=agent)
    attach_call_to_contact(call, maria)

    payloads = linked_payloads()
    assert [p["linked"] for p in payloads] == [
        {"kind": "ticket", "id": ticket.number},
        {"kind": "conversation", "id": str(conversation.public_id)},
        {"kind": "call", "id": str(call.public_id)},
    ]
    assert {p["contact"]["external_id"] for p in payloads} == {"crm-1"}


def test_a_call_sends_call_ended_once_when_it_ends_not_while_it_rings(endpoint):
    record_call(phone="+40 799 000 222", direction="inbound", call_id="pbx-1", state="ringing")
    record_call(phone="+40 799 000 222", direction="inbound", call_id="pbx-1", state="answered")
    assert not WebhookDelivery.objects.filter(event_type="call.ended").exists()
    record_call(phone="+40 799 000 222", direction="inbound", call_id="pbx-1", state="ended")
    record_call(phone="+40 799 000 222", direction="inbound", call_id="pbx-1", state="ended")
    assert WebhookDelivery.objects.filter(event_type="call.ended").count() == 1
