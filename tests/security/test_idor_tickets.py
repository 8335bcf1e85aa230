"""IDOR on tickets: portal pages, the portal socket, the tickets API, list filters.

Covered elsewhere, not repeated here:
- another customer's ticket page and reply POST by URL (404, nothing written),
  and the portal search by number/subject/name:
  tests/tickets/test_portal_views.py::test_customer_a_never_sees_customer_b_ticket_by_url
  and ::test_customer_a_never_sees_customer_b_ticket_in_the_list_or_search;
- organization admins vs ordinary colleagues: the same file;
- the portal socket of another customer, `?ticket=` naming someone else's
  ticket, and the catch-up: tests/tickets/test_portal_consumer.py;
- the API's GET/PATCH/replies of another department's ticket and `?contact=`:
  tests/tickets/test_api.py::test_it_answers_404_for_other_departments_tickets_like_missing_ones.
"""

from __future__ import annotations

import json

import pytest
from channels.layers import get_channel_layer
from django.test import Client
from django.urls import reverse

from queues.tokens import issue_agent_token
from tests.api.conftest import assert_error
from tests.security.conftest import open_ticket, portal_socket, signed_in
from tickets import events
from tickets.actions.assignment import assign_ticket
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def api_for(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {issue_agent_token(user)}")


@pytest.fixture
def support_ticket(customer, support):
    return open_ticket(customer[1], subject="Maria's relay", department=support)


@pytest.fixture
def sales_ticket(customer, sales):
    return open_ticket(customer[1], subject="Quote for Maria", department=sales)


# --- the portal --------------------------------------------------------------------


def test_an_htmx_reply_to_someone_elses_ticket_is_not_found(
    customer, other_customer, support_ticket
):
    ivan = signed_in(other_customer[0])
    response = ivan.post(
        reverse("portal_reply", args=[support_ticket.number]),
        {"body": "hijack"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 404
    assert "Maria" not in response.content.decode()
    assert support_ticket.events.count() == 1


@pytest.mark.parametrize("spelling", ["{n}", "{lower}", " {n} ", "{n}/", "{n}%20"])
def test_other_spellings_of_someone_elses_number_are_not_found(
    customer, other_customer, support_ticket, spelling
):
    ivan = signed_in(other_customer[0])
    number = spelling.format(n=support_ticket.number, lower=support_ticket.number.lower())
    response = ivan.get(f"/portal/tickets/{number}/")
    assert response.status_code == 404
    assert "Maria" not in response.content.decode()


def test_the_portal_search_never_matches_someone_elses_tickets_by_any_filter(
    customer, other_customer, support_ticket
):
    ivan = signed_in(other_customer[0])
    for query in (
        "Maria",
        "relay",
        "%",
        "_",
        "' OR 1=1 --",
        "T-",
        support_ticket.number.lower(),
        "*",
    ):
        html = ivan.get(reverse("portal"), {"q": query}).content.decode()
        assert support_ticket.number not in html, query
        assert "Maria&#x27;s relay" not in html and "Maria's relay" not in html


def test_an_agent_session_cannot_read_or_reply_through_the_portal(
    customer, support_agent, support_ticket
):
    # The agent may read this ticket through the API; the portal is for customers only.
    boris = signed_in(support_agent)
    page = boris.get(reverse("portal_ticket", args=[support_ticket.number]))
    reply = boris.post(
        reverse("portal_reply", args=[support_ticket.number]), {"body": "via portal"}
    )
    assert page.status_code == reply.status_code == 302
    assert support_ticket.events.count() == 1


@pytest.mark.django_db(transaction=True)
async def test_the_portal_socket_renders_a_doorbell_for_someone_elses_ticket_as_nothing(
    customer, other_customer, support_ticket
):
    # Even if a doorbell for Maria's ticket reached Ivan's group (a bug
    # elsewhere, a crafted group message), his socket re-reads through the
    # customer's access rule and sends nothing.
    socket = await portal_socket(other_customer[0])
    layer = get_channel_layer()
    await layer.group_send(
        events.customer_group(other_customer[1]), events.ticket_changed(support_ticket.number, 99)
    )
    for malformed in (
        {"type": "ticket.changed", "ticket": {"$ne": 1}, "seq": 100},
        {"type": "ticket.changed", "ticket": "T-1001' OR '1'='1", "seq": 101},
        {"type": "ticket.changed", "ticket": "T-1001", "seq": "1"},
    ):
        await layer.group_send(events.customer_group(other_customer[1]), malformed)
    assert await socket.receive_nothing(0.5)
    await socket.disconnect()


# --- the tickets API ---------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "department=support",
        "status=new",
        "channel=portal",
        "assignee=none",
        "assignee=boris",
        "ordering=-created_at&offset=0&limit=200",
        "department=support&status=new,open,pending,on_hold,solved,closed",
    ],
)
def test_no_list_filter_reveals_another_departments_tickets(
    sales_agent, support_agent, support_ticket, sales_ticket, query
):
    assign_ticket(support_ticket, support_agent, by=support_agent)
    data = api_for(sales_agent).get(f"/api/v1/tickets?{query}").json()
    numbers = [item["number"] for item in data["items"]]
    assert support_ticket.number not in numbers
    # Not even the count: a total that includes hidden tickets is an oracle.
    assert data["total"] == len([n for n in numbers if n == sales_ticket.number]) <= 1


def test_an_agent_cannot_open_a_ticket_in_another_department(sales_agent, customer):
    response = api_for(sales_agent).post(
        "/api/v1/tickets",
        data=json.dumps(
            {
                "subject": "x",
                "body": "y",
                "department": "support",
                "contact": str(customer[1].public_id),
            }
        ),
        content_type="application/json",
    )
    assert_error(response, 400, "invalid")
    assert not Ticket.objects.exists()


def test_an_agent_cannot_hand_a_ticket_to_someone_outside_its_department(
    support_agent, sales_agent, support_ticket
):
    response = api_for(support_agent).patch(
        f"/api/v1/tickets/{support_ticket.number}",
        data=json.dumps({"assignee": "sara"}),
        content_type="application/json",
    )
    assert_error(response, 400, "invalid")
    support_ticket.refresh_from_db()
    assert support_ticket.assignee is None


def test_a_ticket_assigned_to_an_agent_stays_readable_to_it_but_not_to_its_colleagues(
    support, sales, customer, sales_agent
):
    from tests.factories import make_agent

    sales_colleague = make_agent("sven", [sales])
    ticket = open_ticket(customer[1], department=support)
    # Assigned while helping out in support, then back to sales only.
    sales_agent.agent_profile.departments.add(support)
    assign_ticket(ticket, sales_agent, by=sales_agent)
    sales_agent.agent_profile.departments.remove(support)
    assert api_for(sales_agent).get(f"/api/v1/tickets/{ticket.number}").status_code == 200
    assert_error(api_for(sales_colleague).get(f"/api/v1/tickets/{ticket.number}"), 404, "not_found")
    assert api_for(sales_colleague).get("/api/v1/tickets").json()["total"] == 0


@pytest.mark.parametrize("role", ["customer", "anonymous"])
def test_customer_sessions_and_anonymous_callers_get_no_ticket_from_the_api(
    customer, support_ticket, role
):
    client = signed_in(customer[0]) if role == "customer" else Client()
    for response in (
        client.get(f"/api/v1/tickets/{support_ticket.number}"),
        client.patch(
            f"/api/v1/tickets/{support_ticket.number}", data="{}", content_type="application/json"
        ),
        client.post(
            f"/api/v1/tickets/{support_ticket.number}/replies",
            data=json.dumps({"body": "x"}),
            content_type="application/json",
        ),
    ):
        assert_error(response, 401, "unauthorized")
    assert support_ticket.events.count() == 1
