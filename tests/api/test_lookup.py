from __future__ import annotations

import uuid

import pytest

from crm.models import Contact
from tests.api.conftest import assert_error

LOOKUP = "/api/v1/crm/lookup"


@pytest.mark.parametrize("phone", ["+40 721 234 567", "+40721234567", "0721 234 567"])
def test_it_identifies_maria_by_phone_with_her_whole_record(api, phone):
    response = api.get(LOOKUP, {"phone": phone})
    assert response.status_code == 200
    body = response.json()
    maria = Contact.objects.get(external_id="crm-1")
    assert body["id"] == str(maria.public_id)
    assert body["name"] == "Maria Popescu"
    assert body["external_id"] == "crm-1"
    assert body["account_owner"] == "boris"
    assert body["organization"]["name"] == "Electrica Nord SRL"
    uuid.UUID(body["organization"]["id"])
    assert "customer1@example.com" in [e["email"] for e in body["emails"]]
    assert "+40721234567" in [p["number"] for p in body["phones"]]
    [asset] = [a for a in body["assets"] if a["serial_number"] == "RZA-2024-0001"]
    assert asset["in_warranty"] is True
    assert asset["warranty_end"] == "2034-06-30"
    assert asset["product"]["name"] == "RZA-500"
    [contract] = body["contracts"]
    assert contract["plan"] == "Gold 24x7"
    assert contract["first_response_minutes"] == 60
    assert contract["resolution_minutes"] == 480
    assert contract["is_24x7"] is True
    assert contract["renewal_date"] == "2027-06-30"
    assert contract["active"] is True
    assert isinstance(contract["days_to_renewal"], int)
    assert contract["price"] == "18000.00"  # a decimal string, never a float
    assert body["open_tickets"] == []
    assert body["recent_calls"][0]["agent"] == "boris"


def test_it_identifies_by_email_whatever_the_case(api):
    response = api.get(LOOKUP, {"email": "Customer1@EXAMPLE.com"})
    assert response.status_code == 200
    assert response.json()["name"] == "Maria Popescu"


def test_it_never_exposes_integer_keys(api):
    body = api.get(LOOKUP, {"phone": "0721 234 567"}).json()
    maria = Contact.objects.get(external_id="crm-1")
    assert body["id"] != str(maria.pk) and len(body["id"]) == 36


def test_it_answers_404_for_an_unknown_caller(api):
    assert_error(api.get(LOOKUP, {"phone": "+40 722 000 111"}), 404, "not_found")
    assert_error(api.get(LOOKUP, {"email": "nobody@example.com"}), 404, "not_found")


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"phone": "0721 234 567", "email": "customer1@example.com"},
        {"phone": "not a number"},
        {"phone": ""},
        {"email": "not-an-address"},
    ],
)
def test_it_answers_400_unless_given_exactly_one_valid_phone_or_email(api, params):
    assert_error(api.get(LOOKUP, params), 400, "invalid")


def test_it_refuses_an_overlong_query_with_the_error_shape(api):
    assert_error(api.get(LOOKUP, {"phone": "1" * 500}), 422, "invalid")


def test_it_serves_the_timeline_of_a_contact_by_public_id(api):
    maria_id = api.get(LOOKUP, {"phone": "0721 234 567"}).json()["id"]
    response = api.get(f"/api/v1/crm/contacts/{maria_id}/timeline")
    assert response.status_code == 200
    # Other apps add their own kinds; the seeded call is crm's.
    [entry] = [e for e in response.json() if e["kind"] == "call"]
    assert entry["title"] == "Inbound call"
    assert entry["at"] == "2026-11-20T08:12:00Z"
    assert_error(api.get(f"/api/v1/crm/contacts/{uuid.uuid4()}/timeline"), 404, "not_found")
    assert_error(api.get("/api/v1/crm/contacts/1/timeline"), 404, "not_found")
    assert_error(api.get(f"/api/v1/crm/contacts/{maria_id}/timeline?limit=0"), 400, "invalid")


def test_it_looks_up_in_a_bounded_number_of_queries(api, django_assert_max_num_queries):
    # token (+ last-use write), phone, contact, e-mails, phones, assets, contracts,
    # open tickets, calls
    with django_assert_max_num_queries(10):
        assert api.get(LOOKUP, {"phone": "0721 234 567"}).status_code == 200
    with django_assert_max_num_queries(9):
        assert api.get(LOOKUP, {"email": "customer1@example.com"}).status_code == 200
