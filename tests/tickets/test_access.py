"""Isolation: a customer sees their own tickets (an organization admin the organization's);
agents their departments'. Another's ticket looks exactly like a missing one."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from crm.lookup import open_tickets
from crm.timeline import contact_timeline
from tests.factories import make_contact
from tickets.access import (
    access_ticket_for_agent,
    access_ticket_for_customer,
    tickets_for_customer,
)
from tickets.actions.assignment import assign_ticket
from tickets.actions.lifecycle import change_status
from tickets.actions.messages import create_ticket
from tickets.errors import TicketNotFound

pytestmark = pytest.mark.django_db


def _ticket(contact, department, subject="Relay"):
    return create_ticket(
        subject=subject,
        body="Body",
        contact=contact,
        channel="portal",
        department=department,
        author_role="customer",
        author_contact=contact,
    )


@pytest.fixture
def colleague(customer):
    # Same organization as Maria, not an admin.
    contact = make_contact("Andrei Dumitrescu", email="andrei@example.com")
    contact.organization = customer.organization
    contact.portal_user = get_user_model().objects.create_user("andrei", password="x-pass-123")
    contact.save()
    return contact


def test_a_customer_sees_only_their_own_tickets(customer, other_customer, support):
    mine = _ticket(customer, support)
    theirs = _ticket(other_customer, support)
    assert list(tickets_for_customer(customer.portal_user)) == [mine]
    assert access_ticket_for_customer(customer.portal_user, mine.number) == mine
    with pytest.raises(TicketNotFound) as by_number:
        access_ticket_for_customer(customer.portal_user, theirs.number)
    with pytest.raises(TicketNotFound) as missing:
        access_ticket_for_customer(customer.portal_user, "T-99999")
    assert str(by_number.value) == str(missing.value)


def test_an_organization_admin_sees_the_organizations_tickets(
    customer, colleague, other_customer, support
):
    customer.is_organization_admin = True
    customer.save()
    colleagues = _ticket(colleague, support)
    _ticket(other_customer, support)
    assert access_ticket_for_customer(customer.portal_user, colleagues.number) == colleagues
    assert tickets_for_customer(customer.portal_user).count() == 1
    # The colleague is no admin: Maria's tickets stay hers.
    maria = _ticket(customer, support)
    with pytest.raises(TicketNotFound):
        access_ticket_for_customer(colleague.portal_user, maria.number)


@pytest.mark.parametrize(
    "number", ["", None, "1001", "T-", "T-10a1", "X-1001", "T-1" * 20, "T-1001'--"]
)
def test_malformed_numbers_are_not_found(customer, support, number):
    _ticket(customer, support)
    with pytest.raises(TicketNotFound):
        access_ticket_for_customer(customer.portal_user, number)


def test_anonymous_users_agents_and_inactive_customers_see_nothing(
    customer, support, support_agent
):
    from django.contrib.auth.models import AnonymousUser

    ticket = _ticket(customer, support)
    assert not tickets_for_customer(AnonymousUser()).exists()
    assert not tickets_for_customer(support_agent).exists()
    customer.portal_user.is_active = False
    customer.portal_user.save()
    with pytest.raises(TicketNotFound):
        access_ticket_for_customer(customer.portal_user, ticket.number)


def test_agents_see_their_departments_and_assigned_tickets(
    customer, support, sales, support_agent, sales_agent, supervisor
):
    ticket = _ticket(customer, support)
    assert access_ticket_for_agent(support_agent, ticket.number) == ticket
    assert access_ticket_for_agent(supervisor, ticket.number) == ticket
    with pytest.raises(TicketNotFound):
        access_ticket_for_agent(sales_agent, ticket.number)
    with pytest.raises(TicketNotFound):
        access_ticket_for_agent(customer.portal_user, ticket.number)
    # Assigned while helping out in support, then back to sales only.
    sales_agent.agent_profile.departments.add(support)
    assign_ticket(ticket, sales_agent, by=supervisor)
    sales_agent.agent_profile.departments.remove(support)
    assert access_ticket_for_agent(sales_agent, ticket.number) == ticket


def test_the_crm_lookup_and_timeline_include_tickets(customer, support, support_agent):
    open_one = _ticket(customer, support, "Open one")
    done = _ticket(customer, support, "Done one")
    change_status(done, "solved", by=support_agent)
    assert [t.number for t in open_tickets(customer)] == [open_one.number]
    entries = [e for e in contact_timeline(customer) if e.kind == "ticket"]
    assert {e.ref for e in entries} == {open_one.number, done.number}
    assert any(e.title == f"{done.number} Done one" for e in entries)


def test_the_lookup_api_lists_open_tickets(customer, support, support_agent):
    from django.test import Client

    from queues.tokens import issue_agent_token

    ticket = _ticket(customer, support)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_agent_token(support_agent)}")
    data = client.get("/api/v1/crm/lookup?email=maria@example.com").json()
    assert [t["number"] for t in data["open_tickets"]] == [ticket.number]
