from __future__ import annotations

import json

import pytest
from django.test import Client

from queues.tokens import issue_agent_token
from tests.api.conftest import assert_error
from tickets.actions.assignment import assign_ticket
from tickets.actions.lifecycle import change_status
from tickets.actions.messages import add_reply, create_ticket
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    return Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {issue_agent_token(user)}")


@pytest.fixture
def boris_api(support_agent) -> Client:
    return client_for(support_agent)


@pytest.fixture
def sara_api(sales_agent) -> Client:
    return client_for(sales_agent)


def _ticket(contact, department, **kwargs) -> Ticket:
    fields = {
        "subject": "Relay clicks",
        "body": "It clicks.",
        "contact": contact,
        "channel": "email",
        "department": department,
        "author_role": "customer",
        "author_contact": contact,
    }
    fields.update(kwargs)
    return create_ticket(**fields)


def post(client, path, body):
    return client.post(path, data=json.dumps(body), content_type="application/json")


def patch(client, path, body):
    return client.patch(path, data=json.dumps(body), content_type="application/json")


def test_it_creates_a_ticket_for_a_contact(boris_api, customer, support, standard_plan):
    response = post(
        boris_api,
        "/api/v1/tickets",
        {
            "subject": "Relay trips",
            "body": "Trips on inrush.",
            "department": "support",
            "contact": str(customer.public_id),
            "priority": "high",
            "assignee": "boris",
        },
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["number"] == "T-1001"
    assert data["status"] == "new" and data["priority"] == "high" and data["channel"] == "phone"
    assert data["contact"] == {"id": str(customer.public_id), "name": "Maria Popescu"}
    assert data["assignee"] == "boris" and data["department"] == "support"
    assert data["sla_plan"] == "Standard" and data["first_response_due"]
    assert [e["kind"] for e in data["events"]] == ["created", "assignee"]
    assert data["events"][0]["payload"]["body"] == "Trips on inrush."


def test_it_validates_new_tickets_strictly(boris_api, customer, support, sales):
    base = {
        "subject": "S",
        "body": "B",
        "department": "support",
        "contact": str(customer.public_id),
    }
    assert_error(post(boris_api, "/api/v1/tickets", {**base, "color": "red"}), 422, "invalid")
    assert_error(post(boris_api, "/api/v1/tickets", {**base, "priority": "asap"}), 422, "invalid")
    assert_error(post(boris_api, "/api/v1/tickets", {**base, "body": ""}), 422, "invalid")
    assert_error(post(boris_api, "/api/v1/tickets", {**base, "subject": 5}), 422, "invalid")
    assert_error(post(boris_api, "/api/v1/tickets", {**base, "contact": "nope"}), 400, "invalid")
    # Sales is not boris's department: it does not exist for him.
    assert_error(
        post(boris_api, "/api/v1/tickets", {**base, "department": "sales"}), 400, "invalid"
    )
    no_contact = {k: v for k, v in base.items() if k != "contact"}
    assert_error(post(boris_api, "/api/v1/tickets", no_contact), 400, "invalid")
    assert_error(post(boris_api, "/api/v1/tickets", {**base, "assignee": "nobody"}), 400, "invalid")
    response = boris_api.post("/api/v1/tickets", data="{not json", content_type="application/json")
    assert response.status_code in (400, 422)
    assert Ticket.objects.count() == 0


def test_it_keeps_an_unknown_requester_as_typed(boris_api, support):
    response = post(
        boris_api,
        "/api/v1/tickets",
        {
            "subject": "Call back",
            "body": "Wants a call back.",
            "department": "support",
            "requester_name": "Ștefan Ionescu",
            "requester_email": "stefan@example.com",
        },
    )
    assert response.status_code == 201
    assert response.json()["contact"] is None
    assert response.json()["requester"] == {"name": "Ștefan Ionescu", "email": "stefan@example.com"}


def test_it_reads_one_ticket_with_internal_notes_for_agents(
    boris_api, customer, support, support_agent
):
    ticket = _ticket(customer, support)
    add_reply(ticket, body="secret", internal=True, author_role="agent", author_user=support_agent)
    data = boris_api.get(f"/api/v1/tickets/{ticket.number}").json()
    assert data["number"] == ticket.number
    assert [(e["kind"], e["internal"]) for e in data["events"]] == [
        ("created", False),
        ("note", True),
    ]
    assert data["events"][1]["author"] == "Boris"
    assert boris_api.get("/api/v1/tickets/t-1001").status_code == 200


def test_it_answers_404_for_other_departments_tickets_like_missing_ones(
    sara_api, boris_api, customer, support, sales
):
    ticket = _ticket(customer, support)
    mine = _ticket(customer, sales, subject="Quote")
    assert_error(sara_api.get(f"/api/v1/tickets/{ticket.number}"), 404, "not_found")
    assert_error(sara_api.get("/api/v1/tickets/T-9999"), 404, "not_found")
    assert_error(sara_api.get("/api/v1/tickets/1001;drop"), 404, "not_found")
    assert_error(
        patch(sara_api, f"/api/v1/tickets/{ticket.number}", {"status": "open"}), 404, "not_found"
    )
    assert_error(
        post(sara_api, f"/api/v1/tickets/{ticket.number}/replies", {"body": "hi"}), 404, "not_found"
    )
    listed = sara_api.get("/api/v1/tickets").json()
    assert [t["number"] for t in listed["items"]] == [mine.number] and listed["total"] == 1
    assert sara_api.get(f"/api/v1/tickets?contact={customer.public_id}").json()["total"] == 1
    ticket.refresh_from_db()
    assert ticket.status == "new" and ticket.last_seq == 1


def test_supervisors_see_every_department(supervisor, customer, support, sales):
    _ticket(customer, support)
    _ticket(customer, sales)
    assert client_for(supervisor).get("/api/v1/tickets").json()["total"] == 2


def test_customers_and_anonymous_callers_are_refused(customer, support):
    _ticket(customer, support)
    assert_error(Client().get("/api/v1/tickets"), 401, "unauthorized")
    client = Client()
    client.force_login(customer.portal_user)
    assert_error(client.get("/api/v1/tickets"), 401, "unauthorized")


def test_it_filters_orders_and_paginates(
    boris_api, customer, other_customer, support, support_agent
):
    a = _ticket(customer, support, subject="A", priority="low", channel="email")
    b = _ticket(
        other_customer,
        support,
        subject="B",
        priority="urgent",
        channel="phone",
        author_contact=other_customer,
    )
    c = _ticket(customer, support, subject="C", priority="high", channel="chat")
    assign_ticket(b, support_agent, by=support_agent)
    change_status(c, "pending", by=support_agent)

    def numbers(query: str) -> list[str]:
        response = boris_api.get(f"/api/v1/tickets?{query}")
        assert response.status_code == 200, response.content
        return [t["number"] for t in response.json()["items"]]

    assert numbers("ordering=priority") == [a.number, c.number, b.number]
    assert numbers("ordering=-priority") == [b.number, c.number, a.number]
    assert numbers("ordering=created_at") == [a.number, b.number, c.number]
    assert numbers("status=pending") == [c.number]
    assert numbers("status=new,pending&ordering=created_at") == [a.number, b.number, c.number]
    assert numbers("assignee=boris") == [b.number]
    assert numbers("assignee=none&ordering=created_at") == [a.number, c.number]
    assert numbers(f"contact={other_customer.public_id}") == [b.number]
    assert numbers("channel=chat,phone&ordering=created_at") == [b.number, c.number]
    assert numbers("department=sales") == []
    page = boris_api.get("/api/v1/tickets?ordering=created_at&limit=2&offset=1").json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 1)
    assert [t["number"] for t in page["items"]] == [b.number, c.number]


@pytest.mark.parametrize(
    "query",
    [
        "status=bogus",
        "channel=fax",
        "ordering=subject",
        "ordering=--created_at",
        "limit=0",
        "limit=201",
        "limit=ten",
        "offset=-1",
        "contact=123",
        "colour=red",
        "status=new&status=open",
    ],
)
def test_it_refuses_bad_list_parameters(boris_api, query):
    assert_error(boris_api.get(f"/api/v1/tickets?{query}"), 400, "invalid")


def test_patch_changes_status_priority_and_assignee_and_answers_200(
    boris_api, customer, support, support_agent
):
    ticket = _ticket(customer, support)
    response = patch(
        boris_api,
        f"/api/v1/tickets/{ticket.number}",
        {"status": "pending", "priority": "urgent", "assignee": "boris"},
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["status"], data["priority"], data["assignee"]) == ("pending", "urgent", "boris")
    assert [e["kind"] for e in data["events"]][-3:] == ["priority", "assignee", "status"]
    response = patch(boris_api, f"/api/v1/tickets/{ticket.number}", {"assignee": None})
    assert response.status_code == 200 and response.json()["assignee"] is None


def test_patch_validates(boris_api, customer, support, sales_agent):
    ticket = _ticket(customer, support)
    url = f"/api/v1/tickets/{ticket.number}"
    assert_error(patch(boris_api, url, {}), 400, "invalid")
    assert_error(patch(boris_api, url, {"status": "done"}), 422, "invalid")
    assert_error(patch(boris_api, url, {"status": None}), 400, "invalid")
    assert_error(patch(boris_api, url, {"subject": "x"}), 422, "invalid")
    assert_error(patch(boris_api, url, {"assignee": "sara"}), 400, "invalid")
    patch(boris_api, url, {"status": "closed"})
    assert_error(patch(boris_api, url, {"status": "open"}), 409, "conflict")


def test_replies_and_notes(boris_api, customer, support):
    ticket = _ticket(customer, support)
    url = f"/api/v1/tickets/{ticket.number}/replies"
    response = post(boris_api, url, {"body": "Which firmware?"})
    assert response.status_code == 201
    assert response.json()["kind"] == "reply" and response.json()["internal"] is False
    note = post(boris_api, url, {"body": "Probably 3.1", "internal": True}).json()
    assert note["kind"] == "note" and note["internal"] is True
    assert_error(post(boris_api, url, {"body": ""}), 422, "invalid")
    assert_error(post(boris_api, url, {"body": "x" * 10_001}), 422, "invalid")
    assert_error(post(boris_api, url, {"body": "x", "internal": "yes"}), 422, "invalid")
    ticket.refresh_from_db()
    assert ticket.status == "open" and ticket.first_responded_at is not None


def test_the_list_costs_a_fixed_number_of_queries(
    boris_api, customer, support, support_agent, django_assert_max_num_queries
):
    for n in range(12):
        t = _ticket(customer, support, subject=f"T{n}")
        assign_ticket(t, support_agent, by=support_agent)
    # auth (token, user), agent scope (profile, departments), count, page.
    with django_assert_max_num_queries(8):
        response = boris_api.get("/api/v1/tickets?limit=50")
    assert response.json()["total"] == 12


def test_the_openapi_document_lists_the_ticket_endpoints(boris_api):
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    assert {
        "/api/v1/tickets",
        "/api/v1/tickets/{number}",
        "/api/v1/tickets/{number}/replies",
    } <= set(paths)
