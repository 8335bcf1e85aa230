"""Linking an unidentified ticket to a contact: the action, the console, the API, the portal."""

from __future__ import annotations

import pytest
from django.test import Client

from crm.models import Contact
from queues.tokens import issue_agent_token
from tickets import events
from tickets.access import access_ticket_for_customer
from tickets.actions.contacts import check_link_ticket, link_ticket_to_contact
from tickets.actions.messages import create_ticket
from tickets.errors import TicketError, TicketNotFound
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def unknown_ticket(department, *, email="ion@example.com", name="Ion Popescu") -> Ticket:
    return create_ticket(
        subject="Meter is dark",
        body="Since yesterday.",
        contact=None,
        channel=Ticket.Channel.EMAIL,
        department=department,
        author_role=TicketEvent.Role.SYSTEM,
        requester_name=name,
        requester_email=email,
        as_received=True,
    )


def test_linking_makes_the_ticket_the_contacts_with_an_internal_event(
    support, support_agent, customer, published_events
):
    ticket = unknown_ticket(support)
    list(published_events)
    published_events.clear()
    event = link_ticket_to_contact(ticket, customer, by=support_agent)
    ticket.refresh_from_db()
    assert (ticket.contact, ticket.organization) == (customer, customer.organization)
    assert (event.kind, event.internal, event.author_user) == ("contact", True, support_agent)
    assert event.payload["contact"] == {"id": str(customer.public_id), "name": customer.name}
    doorbell = {"type": "ticket.changed", "ticket": ticket.number, "seq": event.seq}
    # The customer's portal and their organization's admins hear of it, with the agents.
    assert {g for g, e in published_events if e == doorbell} == {
        events.ticket_group(ticket.public_id),
        events.customer_group(customer),
        events.organization_group(customer.organization),
        events.department_tickets_group(ticket.department.slug),
    }
    assert access_ticket_for_customer(customer.portal_user, ticket.number) == ticket


def test_linking_again_to_the_same_contact_changes_nothing(support, support_agent, customer):
    ticket = unknown_ticket(support)
    link_ticket_to_contact(ticket, customer, by=support_agent)
    assert link_ticket_to_contact(ticket, customer, by=support_agent) is None
    assert ticket.events.filter(kind="contact").count() == 1


def test_relinking_names_the_previous_contact(support, support_agent, customer, other_customer):
    ticket = unknown_ticket(support)
    link_ticket_to_contact(ticket, customer, by=support_agent)
    event = link_ticket_to_contact(ticket, other_customer, by=support_agent)
    assert event.payload["old"]["name"] == customer.name
    assert event.payload["contact"]["name"] == other_customer.name


def test_a_contact_is_created_from_the_requester(support, support_agent):
    ticket = unknown_ticket(support)
    _ticket, event, contact, created = check_link_ticket(support_agent, ticket.number, prefill={})
    assert created and event is not None
    assert contact.name == "Ion Popescu"
    assert list(contact.emails.values_list("email", flat=True)) == ["ion@example.com"]


def test_the_requesters_email_finds_the_existing_contact_instead_of_a_copy(
    support, support_agent, customer
):
    ticket = unknown_ticket(support, email="MARIA@example.com")
    _ticket, _event, contact, created = check_link_ticket(support_agent, ticket.number)
    assert (contact, created) == (customer, False)
    assert Contact.objects.filter(name="Ion Popescu").count() == 0


def test_a_bad_typed_email_is_refused_and_nothing_is_written(support, support_agent):
    ticket = unknown_ticket(support, email="")
    with pytest.raises(TicketError):
        check_link_ticket(support_agent, ticket.number, prefill={"email": "nope"})
    ticket.refresh_from_db()
    assert ticket.contact is None and Contact.objects.count() == 0


def test_an_agent_of_another_department_cannot_link(support, sales_agent, customer):
    ticket = unknown_ticket(support)
    with pytest.raises(TicketNotFound):
        check_link_ticket(sales_agent, ticket.number, contact=customer)
    ticket.refresh_from_db()
    assert ticket.contact is None


# --- the console -----------------------------------------------------------------------


def test_the_console_page_of_an_unknown_sender_offers_both_controls(client, support, support_agent):
    ticket = unknown_ticket(support)
    client.force_login(support_agent)
    page = client.get(f"/console/tickets/{ticket.number}/").content.decode()
    assert "Link to customer" in page
    assert "Create contact from this ticket" in page
    assert 'value="ion@example.com"' in page


def test_the_console_lookup_finds_contacts_and_links_in_one_click(
    client, support, support_agent, customer
):
    ticket = unknown_ticket(support)
    client.force_login(support_agent)
    found = client.get("/console/link/contacts/", {"q": "maria@", "ticket": ticket.number})
    assert found.status_code == 200
    assert str(customer.public_id) in found.content.decode()
    answer = client.post(
        f"/console/tickets/{ticket.number}/contact/",
        {"contact": str(customer.public_id)},
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 200
    html = answer.content.decode()
    assert 'id="ticket-crm"' in html and f'data-contact="{customer.public_id}"' in html
    ticket.refresh_from_db()
    assert ticket.contact == customer


def test_the_console_creates_a_contact_from_the_form(client, support, support_agent):
    ticket = unknown_ticket(support)
    client.force_login(support_agent)
    answer = client.post(
        f"/console/tickets/{ticket.number}/contact/",
        {"new_contact": "1", "name": "Ion P.", "email": "ion@example.com", "phone": ""},
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 200
    ticket.refresh_from_db()
    assert ticket.contact.name == "Ion P."


def test_the_console_shows_a_refusal_in_the_card(client, support, support_agent):
    ticket = unknown_ticket(support)
    client.force_login(support_agent)
    answer = client.post(
        f"/console/tickets/{ticket.number}/contact/",
        {"new_contact": "1", "name": "Ion", "email": "<b>bad</b>"},
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 400
    html = answer.content.decode()
    assert 'role="alert"' in html and "<b>bad</b>" not in html


def test_another_departments_agent_finds_neither_lookup_nor_link(
    client, support, sales_agent, customer
):
    ticket = unknown_ticket(support)
    client.force_login(sales_agent)
    assert (
        client.get("/console/link/contacts/", {"q": "maria", "ticket": ticket.number}).status_code
        == 404
    )
    answer = client.post(
        f"/console/tickets/{ticket.number}/contact/", {"contact": str(customer.public_id)}
    )
    assert answer.status_code == 404
    ticket.refresh_from_db()
    assert ticket.contact is None


def test_the_timeline_says_who_was_linked(client, support, support_agent, customer):
    ticket = unknown_ticket(support)
    link_ticket_to_contact(ticket, customer, by=support_agent)
    client.force_login(support_agent)
    page = client.get(f"/console/tickets/{ticket.number}/").content.decode()
    assert f"Linked to contact {customer.name}" in page


# --- the API ---------------------------------------------------------------------------


def api_client(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {issue_agent_token(user)}")


def test_the_api_links_to_an_existing_contact(support, support_agent, customer):
    ticket = unknown_ticket(support)
    response = api_client(support_agent).post(
        f"/api/v1/tickets/{ticket.number}/contact",
        {"contact": str(customer.public_id)},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "contact": {"id": str(customer.public_id), "name": customer.name},
        "created": False,
        "changed": True,
    }


def test_the_api_creates_from_the_requester_with_overrides(support, support_agent):
    ticket = unknown_ticket(support)
    response = api_client(support_agent).post(
        f"/api/v1/tickets/{ticket.number}/contact",
        {"new_contact": {"phone": "+40 721 234 567"}},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["created"] and body["contact"]["name"] == "Ion Popescu"
    contact = Contact.objects.get(public_id=body["contact"]["id"])
    assert list(contact.phones.values_list("number", flat=True)) == ["+40721234567"]


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({}, 400, "invalid"),
        ({"contact": "x", "new_contact": {}}, 400, "invalid"),
        ({"contact": "00000000-0000-0000-0000-000000000000"}, 400, "invalid"),
        ({"new_contact": {"email": "nope"}}, 400, "invalid"),
        ({"new_contact": {"shoe": "42"}}, 422, "invalid"),
    ],
)
def test_the_api_refuses_bad_requests_in_the_shared_shape(
    support, support_agent, payload, status, code
):
    ticket = unknown_ticket(support)
    response = api_client(support_agent).post(
        f"/api/v1/tickets/{ticket.number}/contact", payload, content_type="application/json"
    )
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code


def test_the_api_answers_404_to_another_department(support, sales_agent, customer):
    ticket = unknown_ticket(support)
    response = api_client(sales_agent).post(
        f"/api/v1/tickets/{ticket.number}/contact",
        {"contact": str(customer.public_id)},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
