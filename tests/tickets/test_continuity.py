"""Continuity for tickets: e-mail, portal and phone tickets go to the account owner.

When the owner does not serve the ticket's department, they are mailed an
agent alert and the ticket stays with the department. Products route a new
ticket to their department (`ProductRoute.department`).
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from crm.models import Asset, Product
from queues.models import ProductRoute
from queues.tokens import issue_agent_token
from tests.factories import make_agent, make_contact, make_department
from tests.tickets.test_email_inbound import mail
from tickets.actions.messages import create_ticket
from tickets.email.inbound import ingest_message
from tickets.models import OutboundEmail, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(support):
    user = make_agent("olga", [support], first_name="Olga")
    user.email = "olga@example.com"
    user.save()
    return user


@pytest.fixture
def maria(owner):
    contact = make_contact("Maria Popescu", email="maria@electrica.example")
    contact.account_owner = owner
    contact.portal_user = get_user_model().objects.create_user("maria", password="x-pass-123")
    contact.save()
    return contact


def phone_ticket(contact, department, **kwargs) -> Ticket:
    return create_ticket(
        subject="Called about the meter",
        body="Meter dark since Monday.",
        contact=contact,
        channel=Ticket.Channel.PHONE,
        department=department,
        author_role=TicketEvent.Role.SYSTEM,
        **kwargs,
    )


def test_an_email_ticket_goes_to_the_account_owner(settings, support, maria, owner):
    settings.DEFAULT_FROM_EMAIL = "Support <support@chatportal.example>"
    ticket = ingest_message(mail().as_bytes()).ticket
    ticket.refresh_from_db()
    assert ticket.contact == maria and ticket.assignee == owner
    assigned = ticket.events.get(kind="assignee")
    assert assigned.payload == {
        "old": None,
        "new": "olga",
        "cause": "account_owner",
        "author": None,
    }


def test_a_portal_ticket_goes_to_the_account_owner(client, support, maria, owner):
    client.force_login(maria.portal_user)
    response = client.post(
        reverse("portal_new_ticket"),
        {"subject": "Contor", "department": "support", "body": "Nu pornește"},
    )
    assert response.status_code == 302
    assert Ticket.objects.get().assignee == owner


def test_a_phone_ticket_goes_to_the_account_owner(support, maria, owner):
    assert phone_ticket(maria, support).assignee == owner


def test_a_phone_ticket_from_the_api_without_an_assignee_goes_to_the_owner(
    support, support_agent, maria, owner
):
    api = Client(HTTP_AUTHORIZATION=f"Bearer {issue_agent_token(support_agent)}")
    response = api.post(
        "/api/v1/tickets",
        {
            "subject": "Called",
            "body": "Meter dark",
            "department": "support",
            "channel": "phone",
            "contact": str(maria.public_id),
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["assignee"] == "olga"


def test_an_owner_of_another_department_is_mailed_and_the_ticket_waits(
    sales, support, maria, owner, published_events
):
    ticket = phone_ticket(maria, sales)
    list(published_events)  # commit
    ticket.refresh_from_db()
    assert ticket.assignee is None and ticket.department == sales
    notified = ticket.events.get(kind="owner_notified")
    assert notified.internal
    assert notified.payload["owner"] == "olga" and notified.payload["department"] == "sales"
    alert = OutboundEmail.objects.get(kind=OutboundEmail.Kind.AGENT_ALERT)
    assert alert.to == ["olga@example.com"] and ticket.number in alert.subject
    assert f"/console/tickets/{ticket.number}/" in alert.text_body


def test_an_explicit_assignee_and_chats_keep_their_own_routing(
    support, support_agent, maria, owner
):
    assert phone_ticket(maria, support, assignee=support_agent).assignee == support_agent
    chat_ticket = create_ticket(
        subject="From a chat",
        body="hi",
        contact=maria,
        channel=Ticket.Channel.CHAT,
        department=support,
        author_role=TicketEvent.Role.CUSTOMER,
    )
    assert chat_ticket.assignee is None


def test_a_contact_without_an_owner_leaves_the_ticket_unassigned(support):
    contact = make_contact("Ivan Petrov")
    ticket = phone_ticket(contact, support)
    assert ticket.assignee is None
    assert list(ticket.events.values_list("kind", flat=True)) == ["created"]


def test_the_contacts_product_routes_a_customers_ticket_to_its_department(support, maria):
    metering = make_department("metering", name="Metering")
    product = Product.objects.create(name="RZA Smart Meter")
    ProductRoute.objects.create(product=product, department=metering)
    Asset.objects.create(contact=maria, product=product, serial_number="RZA-2024-0001")
    ticket = phone_ticket(maria, support)
    assert ticket.department == metering
    # The owner does not serve metering: told, not assigned.
    assert ticket.assignee is None
    assert ticket.events.filter(kind="owner_notified").exists()


def test_an_agent_choosing_the_department_is_not_overridden(support, support_agent, maria):
    metering = make_department("metering", name="Metering")
    product = Product.objects.create(name="RZA Smart Meter")
    ProductRoute.objects.create(product=product, department=metering)
    Asset.objects.create(contact=maria, product=product, serial_number="RZA-2024-0001")
    ticket = create_ticket(
        subject="Agent opened it",
        body="x",
        contact=maria,
        channel=Ticket.Channel.PHONE,
        department=support,
        author_role=TicketEvent.Role.AGENT,
        author_user=support_agent,
    )
    assert ticket.department == support


def test_a_named_product_routes_before_the_owned_ones(support, maria):
    from queues.product_routes import department_for_contact

    metering, relays = make_department("metering"), make_department("relays")
    meter, relay = Product.objects.create(name="Meter"), Product.objects.create(name="Relay")
    ProductRoute.objects.create(product=meter, department=metering)
    ProductRoute.objects.create(product=relay, department=relays)
    Asset.objects.create(contact=maria, product=meter, serial_number="M-1")
    assert department_for_contact(support, maria.pk) == metering
    assert department_for_contact(support, maria.pk, product_id=relay.pk) == relays
    assert department_for_contact(support, None) == support
