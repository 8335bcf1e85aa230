"""Signed ticket links (tickets/links.py): in as that contact, on that ticket, and nowhere else."""

from __future__ import annotations

import time
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from crm.models import Contact, ContactEmail
from tests.factories import make_agent, make_contact, make_department
from tickets import links
from tickets.actions.messages import create_ticket
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def support():
    return make_department("support")


@pytest.fixture
def maria():
    return make_contact("Maria Popescu", email="maria@electrica.example")


@pytest.fixture
def ivan():
    contact = make_contact("Ivan Petrov", email="ivan@example.com")
    contact.portal_user = get_user_model().objects.create_user("ivan", password="x-pass-123")
    contact.save()
    return contact


def _ticket(support, contact=None, *, email="", subject="Meter E42"):
    return create_ticket(
        subject=subject,
        body="The meter shows E42.",
        contact=contact,
        channel=Ticket.Channel.WEB,
        department=support,
        author_role="customer",
        author_contact=contact,
        requester_email=email,
    )


def _link(ticket, purpose=links.TICKET, **kwargs):
    kwargs.setdefault("contact_id", ticket.contact_id or 0)
    return links.link_path(purpose, ticket.number, **kwargs)


def test_a_ticket_link_signs_the_contact_in_and_opens_that_ticket(support, maria):
    ticket = _ticket(support, maria)
    client = Client()
    response = client.get(_link(ticket))
    assert response.status_code == 302
    assert response["Location"] == f"/portal/tickets/{ticket.number}/"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Meter E42" in page.content.decode()


def test_the_link_makes_the_contacts_portal_user_when_they_have_none(support, maria):
    ticket = _ticket(support, maria)
    assert maria.portal_user is None
    Client().get(_link(ticket))
    maria.refresh_from_db()
    user = maria.portal_user
    assert user is not None and not user.has_usable_password()
    assert user.email == "maria@electrica.example"
    # The second click reuses the same user.
    Client().get(_link(ticket))
    maria.refresh_from_db()
    assert maria.portal_user == user


def test_an_expired_link_opens_nothing(support, maria, settings):
    settings.CHATPORTAL_TICKET_LINK_MAX_AGE_S = 3600
    ticket = _ticket(support, maria)
    path = _link(ticket)
    later = time.time() + 3601
    with mock.patch("django.core.signing.time.time", return_value=later):
        response = Client().get(path)
    assert response.status_code == 400
    assert b"This link no longer works" in response.content


def test_a_tampered_link_opens_nothing(support, maria, ivan):
    ticket = _ticket(support, maria)
    path = _link(ticket)
    token = path.rstrip("/").rsplit("/", 1)[1]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    response = Client().get(f"/portal/t/{ticket.number}/{forged}/")
    assert response.status_code == 400
    # A token signed for another purpose does not read as this one either.
    other = links._signer(links.WIDGET).sign_object(
        {"p": links.TICKET, "t": ticket.number, "c": ivan.pk}
    )
    assert Client().get(f"/portal/t/{ticket.number}/{other}/").status_code == 400


def test_a_link_for_one_ticket_opens_no_other(support, maria):
    mine = _ticket(support, maria)
    other = _ticket(support, maria, subject="Second")
    token = _link(mine).rstrip("/").rsplit("/", 1)[1]
    client = Client()
    response = client.get(f"/portal/t/{other.number}/{token}/")
    assert response.status_code == 400
    assert b"only for the ticket they were sent for" in response.content
    assert "_auth_user_id" not in client.session


def test_a_link_naming_a_contact_who_does_not_own_the_ticket_opens_nothing(support, maria, ivan):
    ticket = _ticket(support, maria)
    path = links.link_path(links.TICKET, ticket.number, contact_id=ivan.pk)
    client = Client()
    assert client.get(path).status_code == 400
    assert "_auth_user_id" not in client.session


def test_the_link_switches_a_browser_signed_in_as_someone_else(support, maria, ivan):
    ticket = _ticket(support, maria)
    ivans = _ticket(support, ivan, subject="Ivan's")
    client = Client()
    client.force_login(ivan.portal_user)
    assert client.get(f"/portal/tickets/{ivans.number}/").status_code == 200
    response = client.get(_link(ticket))
    assert response.status_code == 302
    assert client.get(f"/portal/tickets/{ticket.number}/").status_code == 200
    # Ivan's session is gone: his ticket is not Maria's to see.
    assert client.get(f"/portal/tickets/{ivans.number}/").status_code == 404


def test_a_link_never_signs_an_agent_in(support):
    agent = make_agent("ana", [support])
    contact = make_contact("Ana as customer", email="ana@example.com")
    contact.portal_user = agent
    contact.save()
    ticket = _ticket(support, contact)
    client = Client()
    assert client.get(_link(ticket)).status_code == 400
    assert "_auth_user_id" not in client.session


def test_a_confirm_link_gives_the_ticket_to_the_addresss_new_contact(support):
    ticket = _ticket(support, None, email="Dan@Example.com")
    assert ticket.contact is None
    client = Client()
    response = client.get(_link(ticket, links.CONFIRM, email="dan@example.com", contact_id=0))
    assert response.status_code == 302
    ticket.refresh_from_db()
    contact = ticket.contact
    assert contact is not None
    assert ContactEmail.objects.get(contact=contact).email == "dan@example.com"
    assert client.get(f"/portal/tickets/{ticket.number}/").status_code == 200
    assert ticket.events.filter(kind="contact", internal=True).count() == 1


def test_a_confirm_link_reuses_the_contact_that_has_the_address(support, maria):
    ticket = _ticket(support, None, email="maria@electrica.example")
    Client().get(_link(ticket, links.CONFIRM, email="maria@electrica.example", contact_id=0))
    ticket.refresh_from_db()
    assert ticket.contact == maria
    assert Contact.objects.count() == 1


def test_a_confirm_link_for_another_address_opens_nothing(support, maria):
    ticket = _ticket(support, None, email="dan@example.com")
    path = _link(ticket, links.CONFIRM, email="maria@electrica.example", contact_id=0)
    client = Client()
    assert client.get(path).status_code == 400
    ticket.refresh_from_db()
    assert ticket.contact is None


def test_a_confirm_link_for_a_ticket_an_agent_gave_to_someone_else_opens_nothing(support, ivan):
    ticket = _ticket(support, None, email="dan@example.com")
    Ticket.objects.filter(pk=ticket.pk).update(contact=ivan)
    path = _link(ticket, links.CONFIRM, email="dan@example.com", contact_id=0)
    assert Client().get(path).status_code == 400
    assert not ContactEmail.objects.filter(email="dan@example.com").exists()
