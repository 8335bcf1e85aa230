from __future__ import annotations

import pytest

from crm.models import CallRecord
from tests.api.conftest import assert_error

CALLS = "/api/v1/calls"


def post(client, body):
    return client.post(CALLS, body, content_type="application/json")


def test_it_records_a_known_callers_call_and_answers_201_with_the_contact(api):
    response = post(
        api,
        {
            "phone": "+40 721 234 567",
            "direction": "inbound",
            "started_at": "2026-11-30T08:15:00+02:00",
            "duration_s": 125,
            "agent": "boris",
            "note": "RZA-500 alarm after firmware update",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["call"]["phone"] == "+40721234567"
    assert body["call"]["direction"] == "inbound"
    assert body["call"]["duration_s"] == 125
    assert body["call"]["agent"] == "boris"
    assert body["call"]["started_at"].startswith("2026-11-30T06:15:00")
    assert body["contact"]["name"] == "Maria Popescu"
    call = CallRecord.objects.get(public_id=body["call"]["id"])
    assert call.contact.external_id == "crm-1"
    assert call.note == "RZA-500 alarm after firmware update"


def test_it_keeps_an_unknown_caller_with_a_null_contact(api):
    response = post(api, {"phone": "0722 000 111", "direction": "outbound"})
    assert response.status_code == 201
    body = response.json()
    assert body["contact"] is None
    assert body["call"]["phone"] == "+40722000111"
    assert CallRecord.objects.get(public_id=body["call"]["id"]).contact is None


def test_it_answers_400_for_an_unknown_agent(api):
    before = CallRecord.objects.count()
    error = assert_error(
        post(api, {"phone": "0721 234 567", "direction": "inbound", "agent": "mallory"}),
        400,
        "invalid",
    )
    assert "agent" in error["detail"]
    assert CallRecord.objects.count() == before


@pytest.mark.parametrize(
    "body",
    [
        {"phone": "0721 234 567", "direction": "sideways"},
        {"phone": "0721 234 567"},
        {"direction": "inbound"},
        {"phone": 40721234567, "direction": "inbound"},
        {"phone": "0721 234 567", "direction": "inbound", "duration_s": "125"},
        {"phone": "0721 234 567", "direction": "inbound", "duration_s": True},
        {"phone": "0721 234 567", "direction": "inbound", "duration_s": -5},
        {"phone": "0721 234 567", "direction": "inbound", "started_at": "yesterday"},
        {"phone": "0721 234 567", "direction": "inbound", "started_at": "2026-11-30T08:15:00"},
        {"phone": "0721 234 567", "direction": "inbound", "agent": 7},
        {"phone": "0721 234 567", "direction": "inbound", "surprise": 1},
        {"phone": "", "direction": "inbound"},
    ],
)
def test_it_refuses_invalid_bodies_with_the_error_shape(api, body):
    error = assert_error(post(api, body), 422, "invalid")
    assert error["fields"]


def test_it_refuses_a_body_that_is_not_json(api):
    assert_error(api.post(CALLS, "{not json", content_type="application/json"), 400, "invalid")


def test_it_needs_no_csrf_token_with_a_bearer_token(api):
    # `api` enforces CSRF checks like a browser; the call still goes through.
    assert post(api, {"phone": "0721 234 567", "direction": "inbound"}).status_code == 201


def test_it_answers_json_for_a_wrong_method(api):
    response = api.get(CALLS)
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response["Allow"]


def test_it_records_a_call_in_a_bounded_number_of_queries(api, django_assert_max_num_queries):
    # The answer carries the contact's whole record, open tickets included (one query);
    # the call's lifecycle adds a savepoint (the action that rings nests crm's), and the
    # webhook outbox looks up the endpoints subscribed to call.ended (one query).
    with django_assert_max_num_queries(17):
        response = post(api, {"phone": "0721 234 567", "direction": "inbound", "agent": "boris"})
    assert response.status_code == 201
