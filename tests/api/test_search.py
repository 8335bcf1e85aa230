"""GET /api/v1/crm/search: bearer auth, validation with the shared error shape, results."""

from __future__ import annotations

import pytest
from django.test import Client

from crm.models import Contact
from queues.models import Department
from tests.api.conftest import assert_error
from tickets.actions.messages import create_ticket
from tickets.models import Ticket, TicketEvent

SEARCH = "/api/v1/crm/search"


def test_it_needs_a_bearer_token(demo):
    assert_error(Client().get(SEARCH, {"q": "maria"}), 401, "unauthorized")
    bad = Client(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert_error(bad.get(SEARCH, {"q": "maria"}), 401, "unauthorized")


@pytest.mark.parametrize("query", ["0721 234 567", "+40 721 234 567", "0040721234567"])
def test_it_finds_maria_by_phone(api, query):
    response = api.get(SEARCH, {"q": query})
    assert response.status_code == 200, response.content
    maria = Contact.objects.get(external_id="crm-1")
    first = response.json()["results"][0]
    assert first == {
        "kind": "contact",
        "id": str(maria.public_id),
        "title": "Maria Popescu",
        "detail": "+40 721 234 567 · Electrica Nord SRL",
        "matched": "phone",
        "exact": True,
        "contact_id": str(maria.public_id),
        "url": f"/console/contacts/{maria.public_id}/",
    }


def test_it_finds_a_ticket_by_number_and_the_serial(api):
    maria = Contact.objects.get(external_id="crm-1")
    ticket = create_ticket(
        subject="Relay trips",
        body="It trips.",
        contact=maria,
        channel=Ticket.Channel.PORTAL,
        department=Department.objects.get(slug="support"),
        priority="normal",
        author_role=TicketEvent.Role.CUSTOMER,
        author_contact=maria,
    )
    [hit] = [h for h in api.get(SEARCH, {"q": ticket.number}).json()["results"] if h["exact"]]
    assert (hit["kind"], hit["id"], hit["contact_id"]) == (
        "ticket",
        ticket.number,
        str(maria.public_id),
    )
    results = api.get(SEARCH, {"q": "rza-2024-0001"}).json()["results"]
    assert (results[0]["matched"], results[0]["id"]) == ("serial", str(maria.public_id))


def test_it_honours_the_limit(api):
    results = api.get(SEARCH, {"q": "customer", "limit": 2}).json()["results"]
    assert len(results) == 2
    assert all(hit["matched"] == "email" for hit in results)


def test_it_answers_an_empty_list_when_nothing_matches(api):
    assert api.get(SEARCH, {"q": "zzzz-nobody"}).json() == {"results": []}


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": "m"},
        {"q": "x" * 101},
        {"q": "maria", "limit": 0},
        {"q": "maria", "limit": 51},
        {"q": "maria", "limit": "many"},
    ],
)
def test_it_refuses_bad_queries_with_the_error_shape(api, params):
    assert_error(api.get(SEARCH, params), 422, "invalid")


def test_a_query_of_blanks_is_refused(api):
    assert_error(api.get(SEARCH, {"q": "     "}), 400, "invalid")


def test_it_searches_in_a_bounded_number_of_queries(api, django_assert_max_num_queries):
    # token (+ last-use write), e-mail, serial, name prefix and substring, organization prefix
    # and substring, organization people, contacts
    with django_assert_max_num_queries(11):
        assert api.get(SEARCH, {"q": "electrica"}).status_code == 200
