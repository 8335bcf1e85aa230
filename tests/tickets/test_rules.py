"""The ticket rules (`tickets.rules`) and the actions that enforce them."""

from __future__ import annotations

import pytest

from tickets import rules
from tickets.actions.assignment import assign_ticket, move_ticket
from tickets.actions.lifecycle import change_status
from tickets.actions.messages import create_ticket
from tickets.errors import TicketConflict, TicketError
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db


def _ticket(customer, department):
    return create_ticket(
        subject="Relay clicks",
        body="The relay clicks twice.",
        contact=customer,
        channel="portal",
        department=department,
        author_role="customer",
        author_contact=customer,
    )


def test_check_status_transition_allows_what_may_follow_and_staying():
    rules.check_status_transition("new", "open")
    rules.check_status_transition("solved", "open")
    rules.check_status_transition("closed", "closed")


def test_check_status_transition_refuses_reopening_a_closed_ticket_and_unknown_statuses():
    with pytest.raises(TicketConflict, match="a closed ticket cannot become open"):
        rules.check_status_transition("closed", "open")
    with pytest.raises(TicketConflict):
        rules.check_status_transition("solved", "pending")
    with pytest.raises(TicketError, match="unknown status"):
        rules.check_status_transition("open", "archived")


def test_check_assignee_accepts_nobody_an_agent_of_the_department_and_a_supervisor(
    support, support_agent, supervisor
):
    rules.check_assignee(None, support)
    rules.check_assignee(support_agent, support)
    rules.check_assignee(supervisor, support)


def test_check_assignee_refuses_an_agent_of_another_department(support, sales_agent):
    with pytest.raises(TicketError, match="Sara does not work in Support"):
        rules.check_assignee(sales_agent, support)


def test_check_assignee_refuses_a_user_who_is_not_an_agent(support, customer):
    with pytest.raises(TicketError, match="the assignee is not an agent"):
        rules.check_assignee(customer.portal_user, support)


def test_the_action_refuses_an_assignee_outside_the_department(
    customer, support, sales_agent, published_events
):
    ticket = _ticket(customer, support)
    before = list(published_events)
    with pytest.raises(TicketError, match="does not work in"):
        assign_ticket(ticket, sales_agent, by=sales_agent)
    ticket.refresh_from_db()
    assert ticket.assignee is None
    assert not ticket.events.filter(kind=TicketEvent.Kind.ASSIGNEE).exists()
    assert list(published_events) == before


def test_the_action_checks_the_department_the_ticket_is_in_now(
    customer, support, sales, sales_agent
):
    ticket = _ticket(customer, support)
    stale = type(ticket).objects.get(pk=ticket.pk)
    move_ticket(ticket, sales, by=sales_agent)
    # A copy loaded before the move still gets the rule of the new department.
    assign_ticket(stale, sales_agent, by=sales_agent)
    ticket.refresh_from_db()
    assert ticket.assignee == sales_agent


def test_the_action_refuses_a_forbidden_status_transition(customer, support, support_agent):
    ticket = _ticket(customer, support)
    change_status(ticket, "closed", by=support_agent)
    with pytest.raises(TicketConflict):
        change_status(ticket, "open", by=support_agent)
