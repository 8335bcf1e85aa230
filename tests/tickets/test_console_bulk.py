"""Bulk changes from the console list, and the department move they and the ticket page use."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import make_agent
from tickets import events
from tickets.actions.assignment import assign_ticket, move_ticket
from tickets.actions.lifecycle import change_status
from tickets.actions.messages import create_ticket
from tickets.console.forms import MAX_BULK_TICKETS
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def open_ticket(department, contact, subject="Relay trips") -> Ticket:
    return create_ticket(
        subject=subject,
        body="It trips.",
        contact=contact,
        channel=Ticket.Channel.PORTAL,
        department=department,
        author_role=TicketEvent.Role.CUSTOMER,
        author_contact=contact,
    )


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def bulk(client, numbers, *, htmx=True, **values):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post(
        reverse("console_tickets_bulk"),
        {"tickets": numbers, "filters": "status=new", **values},
        **headers,
    )


@pytest.fixture
def tickets(support, sales, customer, standard_plan):
    return {
        "a": open_ticket(support, customer, "First"),
        "b": open_ticket(support, customer, "Second"),
        "sales": open_ticket(sales, customer, "Quote"),
    }


def test_it_sets_status_and_priority_on_every_selected_ticket(tickets, support_agent):
    numbers = [tickets["a"].number, tickets["b"].number]
    response = bulk(signed_in(support_agent), numbers, status="pending", priority="high")
    assert response.status_code == 200
    body = response.content.decode()
    assert f"Updated 2 tickets: {numbers[0]}, {numbers[1]}." in body
    for key in ("a", "b"):
        ticket = Ticket.objects.get(pk=tickets[key].pk)
        assert (ticket.status, ticket.priority) == ("pending", "high")
        kinds = list(ticket.events.order_by("seq").values_list("kind", flat=True))
        assert kinds == ["created", "priority", "status"]


def test_a_ticket_of_another_department_in_the_selection_is_refused_alone(tickets, support_agent):
    numbers = [tickets["a"].number, tickets["sales"].number, "T-999999"]
    body = bulk(signed_in(support_agent), numbers, status="on_hold").content.decode()
    assert f"Updated 1 ticket: {tickets['a'].number}." in body
    assert f"{tickets['sales'].number} not changed: not found." in body
    assert "T-999999 not changed: not found." in body
    assert Ticket.objects.get(pk=tickets["sales"].pk).status == "new"
    assert Ticket.objects.get(pk=tickets["sales"].pk).last_seq == 1
    assert Ticket.objects.get(pk=tickets["a"].pk).status == "on_hold"


def test_assigning_to_me_and_to_unassigned(tickets, support_agent):
    client = signed_in(support_agent)
    numbers = [tickets["a"].number, tickets["b"].number]
    bulk(client, numbers, assignee="me")
    assert set(Ticket.objects.filter(number__in=numbers).values_list("assignee", flat=True)) == {
        support_agent.pk
    }
    bulk(client, numbers, assignee="unassigned")
    assert set(Ticket.objects.filter(number__in=numbers).values_list("assignee", flat=True)) == {
        None
    }


def test_an_assignee_who_does_not_serve_a_tickets_department_is_refused_for_that_ticket(
    tickets, support, sales, supervisor
):
    make_agent("dana", [sales], first_name="Dana")
    numbers = [tickets["a"].number, tickets["sales"].number]
    body = bulk(signed_in(supervisor), numbers, assignee="dana").content.decode()
    assert f"{tickets['a'].number} not changed: Dana does not work in Support." in body
    assert Ticket.objects.get(pk=tickets["a"].pk).assignee is None
    assert Ticket.objects.get(pk=tickets["sales"].pk).assignee.username == "dana"


def test_a_refused_transition_is_reported_and_the_ticket_keeps_all_its_fields(
    tickets, support_agent
):
    change_status(tickets["a"], "closed", by=support_agent)
    numbers = [tickets["a"].number, tickets["b"].number]
    body = bulk(
        signed_in(support_agent), numbers, status="open", priority="urgent"
    ).content.decode()
    assert f"{tickets['a'].number} not changed: a closed ticket cannot become open." in body
    # One transaction per ticket: the priority did not change without the status.
    closed = Ticket.objects.get(pk=tickets["a"].pk)
    assert (closed.status, closed.priority) == ("closed", "normal")
    assert Ticket.objects.get(pk=tickets["b"].pk).status == "open"


def test_unchanged_tickets_are_reported_as_such(tickets, support_agent):
    body = bulk(signed_in(support_agent), [tickets["a"].number], status="new").content.decode()
    assert f"Already so, nothing to change: {tickets['a'].number}." in body


def test_nothing_selected_or_nothing_to_set_answers_400(tickets, support_agent):
    client = signed_in(support_agent)
    response = bulk(client, [], status="open")
    assert response.status_code == 400
    assert "Select at least one ticket." in response.content.decode()
    response = bulk(client, [tickets["a"].number])
    assert response.status_code == 400
    assert "Choose a status, a priority or an assignee to set." in response.content.decode()
    assert Ticket.objects.get(pk=tickets["a"].pk).last_seq == 1


def test_too_many_tickets_at_once_answers_400(tickets, support_agent):
    numbers = [f"T-{n}" for n in range(1, MAX_BULK_TICKETS + 2)]
    response = bulk(signed_in(support_agent), numbers, status="open")
    assert response.status_code == 400
    assert f"Select at most {MAX_BULK_TICKETS} tickets at once." in response.content.decode()


def test_without_htmx_it_redirects_back_to_the_filtered_list(tickets, support_agent):
    client = signed_in(support_agent)
    response = bulk(client, [tickets["a"].number], htmx=False, priority="low")
    assert response.status_code == 302
    assert response["Location"] == reverse("console_tickets") + "?status=new"
    follow = client.get(response["Location"]).content.decode()
    assert f"Updated 1 ticket: {tickets['a'].number}." in follow


def test_a_customer_cannot_post_bulk_changes(tickets, customer):
    response = bulk(signed_in(customer.portal_user), [tickets["a"].number], status="solved")
    assert response.status_code == 302
    assert Ticket.objects.get(pk=tickets["a"].pk).status == "new"


# --- the department move ---------------------------------------------------------------


def test_moving_a_ticket_rings_its_groups_and_unassigns_who_does_not_serve_there(
    tickets, support_agent, sales, published_events
):
    ticket = tickets["a"]
    assign_ticket(ticket, support_agent, by=support_agent)
    published_events.flush()
    list.clear(published_events)
    event = move_ticket(ticket, sales, by=support_agent)
    assert event.kind == "department" and event.internal
    ticket.refresh_from_db()
    assert ticket.department == sales and ticket.assignee is None
    kinds = list(ticket.events.order_by("seq").values_list("kind", flat=True))
    assert kinds[-2:] == ["department", "assignee"]
    groups = {group for group, _event in published_events}
    assert events.ticket_group(ticket.public_id) in groups
    assert events.customer_group(ticket.contact) in groups


def test_moving_keeps_an_assignee_who_serves_the_new_department(tickets, support, sales):
    both = make_agent("ana", [support, sales], first_name="Ana")
    ticket = tickets["a"]
    assign_ticket(ticket, both, by=both)
    move_ticket(ticket, sales, by=both)
    ticket.refresh_from_db()
    assert ticket.assignee == both
    assert move_ticket(ticket, sales, by=both) is None
