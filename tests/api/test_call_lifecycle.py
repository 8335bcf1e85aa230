"""A call's life over the API: call_id, forward-only states, departments, call → ticket, units."""

from __future__ import annotations

import pytest

from crm.models import CallRecord
from tests.api.conftest import assert_error
from tickets.models import Ticket, TicketEvent

CALLS = "/api/v1/calls"
MARIA = "+40 721 234 567"


def post(client, path, body=None):
    return client.post(path, body or {}, content_type="application/json")


def ring(api, call_id="pbx-1", **extra):
    body = {"phone": MARIA, "direction": "inbound", "call_id": call_id, "state": "ringing"}
    return post(api, CALLS, {**body, **extra})


def test_a_ringing_call_is_created_then_moves_forward_on_the_same_row(api):
    first = ring(api)
    assert first.status_code == 201, first.content
    assert first.json()["call"]["state"] == "ringing"
    assert first.json()["call"]["external_id"] == "pbx-1"
    assert first.json()["call"]["answered_at"] is None
    answered = post(
        api,
        CALLS,
        {
            "phone": MARIA,
            "direction": "inbound",
            "call_id": "pbx-1",
            "state": "answered",
            "agent": "boris",
        },
    )
    assert answered.status_code == 200, answered.content
    assert answered.json()["call"]["id"] == first.json()["call"]["id"]
    assert answered.json()["call"]["answered_at"] is not None
    assert answered.json()["call"]["agent"] == "boris"
    ended = post(
        api,
        CALLS,
        {
            "phone": MARIA,
            "direction": "inbound",
            "call_id": "pbx-1",
            "state": "ended",
            "note": "Alarm after the firmware update",
        },
    )
    assert ended.status_code == 200
    call = CallRecord.objects.get(external_id="pbx-1")
    assert call.state == "ended" and call.ended_at is not None
    assert call.duration_s is not None and call.duration_s >= 0
    assert call.note == "Alarm after the firmware update"
    assert CallRecord.objects.filter(external_id="pbx-1").count() == 1


def test_a_late_ringing_never_moves_a_call_back(api):
    ring(api)
    post(
        api,
        CALLS,
        {
            "phone": MARIA,
            "direction": "inbound",
            "call_id": "pbx-1",
            "state": "ended",
            "duration_s": 42,
        },
    )
    late = ring(api)
    assert late.status_code == 200
    assert late.json()["call"]["state"] == "ended"
    assert late.json()["call"]["duration_s"] == 42


def test_a_retried_post_is_idempotent(api):
    assert ring(api).status_code == 201
    assert ring(api).status_code == 200
    assert CallRecord.objects.filter(external_id="pbx-1").count() == 1


def test_a_post_without_state_is_a_finished_call_as_before(api):
    response = post(api, CALLS, {"phone": MARIA, "direction": "inbound"})
    assert response.status_code == 201
    assert response.json()["call"]["state"] == "ended"


def test_it_refuses_an_unknown_department_and_an_unknown_state(api):
    assert_error(ring(api, department="nowhere"), 400, "invalid")
    assert not CallRecord.objects.filter(external_id="pbx-1").exists()
    assert_error(ring(api, state="on_hold"), 422, "invalid")


def test_a_call_becomes_one_ticket_naming_the_callers_unit(api):
    call_id = ring(api, department="support").json()["call"]["id"]
    made = post(api, f"{CALLS}/{call_id}/ticket", {"asset": "RZA-2024-0001"})
    assert made.status_code == 201, made.content
    ticket = made.json()
    assert ticket["channel"] == "phone"
    assert ticket["call"] == call_id
    assert ticket["contact"]["name"] == "Maria Popescu"
    assert ticket["asset"] == {
        "serial_number": "RZA-2024-0001",
        "product": "RZA-500",
        "product_line": ticket["asset"]["product_line"],
    }
    assert ticket["events"][0]["kind"] == "created"
    again = post(api, f"{CALLS}/{call_id}/ticket", {"asset": "RZA-2024-0001"})
    assert again.status_code == 200
    assert again.json()["number"] == ticket["number"]
    assert Ticket.objects.filter(call__public_id=call_id).count() == 1
    created = TicketEvent.objects.get(ticket__number=ticket["number"], kind="created")
    assert created.payload["call"]["id"] == call_id
    assert created.payload["asset"]["serial_number"] == "RZA-2024-0001"


def test_a_call_ticket_refuses_a_unit_that_is_not_the_callers(api):
    call_id = ring(api).json()["call"]["id"]
    # GW4-2025-0310 is Elena Volkova's (another organization).
    error = assert_error(
        post(api, f"{CALLS}/{call_id}/ticket", {"asset": "GW4-2025-0310"}), 400, "invalid"
    )
    assert "GW4-2025-0310" in error["detail"]
    assert not Ticket.objects.filter(call__public_id=call_id).exists()


def test_a_ticket_for_an_unknown_call_is_404(api):
    assert_error(
        post(api, f"{CALLS}/00000000-0000-0000-0000-000000000000/ticket"), 404, "not_found"
    )
    assert_error(post(api, f"{CALLS}/not-a-uuid/ticket"), 404, "not_found")


@pytest.fixture
def maria_id(demo):
    from crm.models import Contact

    return str(Contact.objects.get(external_id="crm-1").public_id)


def test_a_ticket_names_a_unit_on_create_and_update(api, maria_id):
    body = {
        "subject": "Relay alarm",
        "body": "Since 08:10",
        "department": "support",
        "contact": maria_id,
        "asset": "RZA-2024-0001",
    }
    created = post(api, "/api/v1/tickets", body)
    assert created.status_code == 201, created.content
    number = created.json()["number"]
    assert created.json()["asset"]["serial_number"] == "RZA-2024-0001"
    refused = api.patch(
        f"/api/v1/tickets/{number}", {"asset": "GW4-2025-0310"}, content_type="application/json"
    )
    assert_error(refused, 400, "invalid")
    cleared = api.patch(
        f"/api/v1/tickets/{number}", {"asset": None}, content_type="application/json"
    )
    assert cleared.status_code == 200 and cleared.json()["asset"] is None
    assert cleared.json()["events"][-1]["kind"] == "asset"


def test_a_ticket_create_refuses_a_unit_that_is_not_the_contacts(api, maria_id):
    body = {
        "subject": "Relay alarm",
        "body": "Since 08:10",
        "department": "support",
        "contact": maria_id,
        "asset": "BMRZ-2021-0107",
    }
    assert_error(post(api, "/api/v1/tickets", body), 400, "invalid")
    assert not Ticket.objects.filter(subject="Relay alarm").exists()


def test_a_call_ticket_stores_no_words_of_ours_and_reads_as_a_phone_call(api):
    call_id = ring(api, department="support").json()["call"]["id"]
    ticket = post(api, f"{CALLS}/{call_id}/ticket").json()
    assert ticket["subject"] == ""
    stored = Ticket.objects.get(number=ticket["number"])
    assert stored.display_subject == "Phone call from Maria Popescu"
    assert stored.requester_name == "Maria Popescu"


def test_another_departments_agent_cannot_turn_its_call_into_a_ticket(api, demo):
    from django.contrib.auth import get_user_model
    from django.test import Client

    from queues.tokens import issue_agent_token
    from tests.factories import make_agent, make_department

    call_id = ring(api, department="support").json()["call"]["id"]
    make_department("billing-x", name="Billing X")
    outsider = make_agent("outsider", ["billing-x"])
    assert get_user_model().objects.filter(username="outsider").exists()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_agent_token(outsider)}")
    assert_error(post(client, f"{CALLS}/{call_id}/ticket"), 404, "not_found")
    assert not Ticket.objects.filter(call__public_id=call_id).exists()
