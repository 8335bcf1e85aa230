"""The acknowledgement: one mail per new ticket, whatever opened it, in the requester's words.

It says the number, the subject, when to expect an answer (in the contact's
zone and language) and carries the signed portal link; it is the root of the
ticket's mail thread. Mail goes through the outbox (the locmem backend here).
"""

from __future__ import annotations

import uuid
import zoneinfo

import pytest
from django.core import mail
from django.test import Client, TestCase
from django.utils import translation
from django.utils.translation import gettext

from chat.actions.conversations import post_message, start_conversation
from chat.actions.visitors import create_visitor
from chat.log import visitor_author
from chat.models import Conversation
from crm.models import SlaPlan
from tests.factories import make_agent, make_contact, make_department
from tickets.actions.conversion import convert_conversation
from tickets.actions.messages import add_reply, create_ticket
from tickets.email.inbound import ingest_message
from tickets.email.sending import deliver_due_emails
from tickets.models import OutboundEmail, Ticket
from tickets.notifications.outbound import thread_message_id

pytestmark = pytest.mark.django_db

ACK = OutboundEmail.Kind.ACKNOWLEDGEMENT


@pytest.fixture(autouse=True)
def _setup(settings):
    settings.CHATPORTAL_TICKET_ACKNOWLEDGEMENTS = True
    settings.DEFAULT_FROM_EMAIL = "Support <support@chatportal.example>"
    settings.CHATPORTAL_PUBLIC_URL = "https://help.example.com"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    SlaPlan.objects.get_or_create(
        name="Standard", defaults={"first_response_minutes": 240, "resolution_minutes": 1440}
    )


@pytest.fixture
def support():
    return make_department("support")


@pytest.fixture
def maria():
    contact = make_contact("Maria Popescu", email="maria@electrica.example")
    contact.locale = "ro"
    contact.time_zone = "Europe/Bucharest"
    contact.save()
    return contact


def _ticket(support, contact, *, channel=Ticket.Channel.WEB, **kwargs):
    return create_ticket(
        subject="Contorul nu pornește",
        body="Contorul arată E42.",
        contact=contact,
        channel=channel,
        department=support,
        author_role="customer",
        author_contact=contact,
        **kwargs,
    )


def _sent():
    deliver_due_emails()
    return list(mail.outbox)


def _acks(ticket):
    return OutboundEmail.objects.filter(ticket=ticket, kind=ACK).count()


# --- every channel, exactly one ---------------------------------------------------------


@pytest.mark.parametrize(
    "channel", [Ticket.Channel.WEB, Ticket.Channel.PHONE, Ticket.Channel.PORTAL]
)
def test_a_ticket_opened_by_any_form_is_acknowledged_once(support, maria, channel):
    ticket = _ticket(support, maria, channel=channel)
    add_reply(ticket, body="Mulțumesc", author_role="customer", author_contact=maria)
    assert _acks(ticket) == 1
    assert OutboundEmail.objects.filter(ticket=ticket).count() == 1


def test_a_ticket_opened_in_the_portal_is_acknowledged_once(support, maria):
    from django.contrib.auth import get_user_model

    maria.portal_user = get_user_model().objects.create_user("maria", password="x-pass-123")
    maria.save()
    client = Client()
    client.force_login(maria.portal_user)
    response = client.post(
        "/portal/tickets/new/",
        {"subject": "Contorul", "body": "Nu pornește.", "department": support.slug},
    )
    assert response.status_code == 302, response.content[:500]
    ticket = Ticket.objects.get()
    assert ticket.channel == Ticket.Channel.PORTAL
    assert _acks(ticket) == 1


def test_a_ticket_opened_by_e_mail_is_acknowledged_once_threaded_to_the_customers_mail(
    support, maria
):
    from email.message import EmailMessage
    from email.utils import make_msgid

    msg = EmailMessage()
    msg["From"] = "Maria Popescu <maria@electrica.example>"
    msg["To"] = "support@chatportal.example"
    msg["Subject"] = "Contorul nu pornește"
    msg["Message-ID"] = make_msgid(domain="mail.example")
    msg.set_content("Bună ziua, contorul nu pornește.")
    ticket = ingest_message(msg.as_bytes()).ticket
    assert _acks(ticket) == 1
    [sent] = _sent()
    assert sent.subject == f"[{ticket.number}] Contorul nu pornește"
    assert sent.reply_to == [f"support+{ticket.reply_token}@chatportal.example"]


def test_a_chat_that_becomes_a_ticket_is_acknowledged_once_to_the_address_the_visitor_typed(
    support,
):
    visitor, _token = create_visitor(name="Dan", email="dan@example.com", locale="ru")
    conversation, _ = start_conversation(visitor, support)
    post_message(
        conversation.pk,
        conversation.public_id,
        author=visitor_author(visitor),
        client_id=uuid.uuid4(),
        body="Реле щёлкает.",
    )
    conversation = Conversation.objects.get(pk=conversation.pk)
    ticket = convert_conversation(conversation, reason="agent")
    convert_conversation(conversation, reason="agent")  # again: the same ticket, no new mail
    assert _acks(ticket) == 1
    [sent] = _sent()
    assert sent.to == ["dan@example.com"]
    # Nobody's contact yet: the link asks to confirm the address first.
    assert f"https://help.example.com/portal/t/{ticket.number}/" in sent.body
    # In the visitor's language (the widget's hello said ru).
    with translation.override("ru"):
        assert (
            gettext("Confirm your e-mail address to follow your ticket in the portal:") in sent.body
        )


def test_no_address_no_acknowledgement(support):
    ticket = _ticket(support, None, requester_name="Caller")
    assert _acks(ticket) == 0


def test_a_rolled_back_ticket_mails_nobody(support, maria):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        _ticket(support, maria)
        raise RuntimeError
    assert not OutboundEmail.objects.exists()


# --- what it says ------------------------------------------------------------------------


def test_it_is_multipart_in_the_contacts_language_and_zone_with_the_signed_link(support, maria):
    with TestCase.captureOnCommitCallbacks(execute=True):
        ticket = _ticket(support, maria)
    [sent] = _sent()
    assert sent.to == ["maria@electrica.example"]
    html = sent.alternatives[0][0]
    assert sent.alternatives[0][1] == "text/html"
    due = ticket.first_response_due.astimezone(zoneinfo.ZoneInfo("Europe/Bucharest"))
    for body in (sent.body, html):
        assert ticket.number in body
        assert "Contorul nu pornește" in body
        assert f"https://help.example.com/portal/t/{ticket.number}/" in body
        assert due.strftime("%H:%M") in body and "(Europe/Bucharest)" in body
    # Romanian month names: the date is formatted in the contact's language.
    months = ["ianuarie", "februarie", "martie", "aprilie", "mai", "iunie", "iulie",
              "august", "septembrie", "octombrie", "noiembrie", "decembrie"]  # fmt: skip
    assert months[due.month - 1] in sent.body.lower()
    assert sent.body.startswith("Bună ziua, Maria,")


def test_it_speaks_russian_in_vladivostok_time(support):
    contact = make_contact("Ivan Petrov", email="ivan@example.com")
    contact.locale = "ru"
    contact.time_zone = "Asia/Vladivostok"
    contact.save()
    ticket = _ticket(support, contact)
    [sent] = _sent()
    due = ticket.first_response_due.astimezone(zoneinfo.ZoneInfo("Asia/Vladivostok"))
    assert due.strftime("%-H:%M") in sent.body
    assert "(Asia/Vladivostok)" in sent.body
    months = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
              "сентября", "октября", "ноября", "декабря"]  # fmt: skip
    assert months[due.month - 1] in sent.body.lower()


def test_it_is_the_root_of_the_tickets_mail_thread(support, maria):
    agent = make_agent("ana", [support], first_name="Ana")
    ticket = _ticket(support, maria)
    add_reply(ticket, body="Am înlocuit releul.", author_role="agent", author_user=agent)
    acknowledgement, reply = _sent()
    root = thread_message_id(ticket)
    assert acknowledgement.extra_headers["Message-ID"] == root
    assert "In-Reply-To" not in acknowledgement.extra_headers
    assert reply.extra_headers["In-Reply-To"] == root
    assert reply.extra_headers["References"] == root
    assert reply.subject == acknowledgement.subject


def test_it_is_marked_automatic(support, maria):
    _ticket(support, maria)
    [sent] = _sent()
    assert sent.extra_headers["Auto-Submitted"] == "auto-generated"


def test_a_ticket_opened_through_the_api_is_acknowledged_once(support, maria):
    import json

    from queues.tokens import issue_agent_token

    agent = make_agent("boris", [support], first_name="Boris")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_agent_token(agent)}")
    response = client.post(
        "/api/v1/tickets",
        data=json.dumps(
            {
                "subject": "Relay trips",
                "body": "Trips on inrush.",
                "department": "support",
                "contact": str(maria.public_id),
                "assignee": "boris",
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(number=response.json()["number"])
    # Created, then assigned: still one mail.
    assert _acks(ticket) == 1
    assert OutboundEmail.objects.filter(ticket=ticket).count() == 1
