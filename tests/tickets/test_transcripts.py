"""The chat transcript mail: what it holds, who gets it, in which language."""

from __future__ import annotations

import uuid

import pytest
from django.core import mail

from chat.actions.conversations import close_conversation, post_message, start_conversation
from chat.actions.visitors import create_visitor
from chat.log import agent_author, visitor_author
from chat.models import Conversation
from tests.factories import make_agent, make_contact, make_department
from tickets.actions.conversion import convert_conversation
from tickets.email.sending import deliver_due_emails
from tickets.models import OutboundEmail
from tickets.notifications.outbound import thread_message_id

pytestmark = pytest.mark.django_db

TRANSCRIPT = OutboundEmail.Kind.TRANSCRIPT


@pytest.fixture(autouse=True)
def _setup(settings):
    settings.DEFAULT_FROM_EMAIL = "Support <support@chatportal.example>"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def support():
    return make_department("support")


def _chat(department, *, email="ivan@example.com", locale="ru", requested=False):
    visitor, _token = create_visitor(name="Ivan", email=email, locale=locale)
    visitor.transcript_requested = requested
    visitor.save()
    conversation, _ = start_conversation(visitor, department)
    agent = make_agent("boris", [department], first_name="Boris")
    Conversation.objects.filter(pk=conversation.pk).update(state="active", assigned_agent=agent)

    def say(author, body, *, internal=False):
        post_message(
            conversation.pk,
            conversation.public_id,
            author=author,
            client_id=uuid.uuid4(),
            body=body,
            internal=internal,
        )

    say(visitor_author(visitor), "Реле щёлкает.")
    say(agent_author(agent), "Check the wiring, please.")
    say(agent_author(agent), "He sounds annoyed (internal)", internal=True)
    return Conversation.objects.get(pk=conversation.pk)


def test_a_department_that_always_sends_them_mails_the_visible_messages_only(support):
    support.send_transcripts = True
    support.save()
    conversation = _chat(support)
    close_conversation(conversation, by="agent")
    assert OutboundEmail.objects.filter(kind=TRANSCRIPT).count() == 1
    deliver_due_emails()
    [sent] = mail.outbox
    assert sent.to == ["ivan@example.com"]
    html, kind = sent.alternatives[0]
    assert kind == "text/html"
    for body in (sent.body, html):
        assert "Реле щёлкает." in body
        assert "Check the wiring, please." in body
        assert "Boris" in body
        assert "annoyed" not in body
    months = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
              "сентября", "октября", "ноября", "декабря"]  # fmt: skip
    assert months[conversation.created_at.month - 1] in sent.body.lower()
    assert sent.extra_headers["Auto-Submitted"] == "auto-generated"


def test_a_visitor_who_asked_gets_one(support):
    close_conversation(_chat(support, requested=True), by="visitor")
    assert OutboundEmail.objects.filter(kind=TRANSCRIPT).count() == 1


def test_nobody_asked_no_transcript(support):
    close_conversation(_chat(support), by="agent")
    assert not OutboundEmail.objects.filter(kind=TRANSCRIPT).exists()


def test_no_address_no_transcript(support):
    support.send_transcripts = True
    support.save()
    close_conversation(_chat(support, email=""), by="agent")
    assert not OutboundEmail.objects.filter(kind=TRANSCRIPT).exists()


def test_the_contacts_address_serves_when_the_visitor_typed_none(support):
    support.send_transcripts = True
    support.save()
    conversation = _chat(support, email="")
    contact = make_contact("Ivan Petrov", email="ivan.petrov@example.com")
    Conversation.objects.filter(pk=conversation.pk).update(contact=contact)
    conversation.refresh_from_db()
    close_conversation(conversation, by="agent")
    [row] = OutboundEmail.objects.filter(kind=TRANSCRIPT)
    assert row.to == ["ivan.petrov@example.com"]


def test_a_chat_that_became_a_ticket_threads_with_its_mails(support):
    conversation = _chat(support, requested=True)
    ticket = convert_conversation(conversation, reason="agent")
    close_conversation(conversation, by="agent")
    [row] = OutboundEmail.objects.filter(kind=TRANSCRIPT)
    assert row.ticket == ticket
    assert row.headers["In-Reply-To"] == thread_message_id(ticket)
    assert row.subject.startswith(f"[{ticket.number}]")
