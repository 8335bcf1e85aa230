"""Tickets store data, not words: each reader sees the missing parts in their own language.

An e-mail without a subject or text, files an e-mail brought that were not
accepted, a chat whose visitor wrote nothing: the ticket keeps an empty
subject or body and a structured `refused_attachments` list; the console,
the portal and the e-mail notifications name them in the reader's language,
and the API returns the data as stored.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from chat.actions.conversations import start_conversation
from chat.actions.visitors import create_visitor
from queues.tokens import issue_agent_token
from tests import attachment_files as files
from tests.tickets.test_email import message
from tickets.actions.conversion import convert_conversation
from tickets.actions.messages import add_reply
from tickets.email.inbound import ingest_message
from tickets.models import Ticket
from tickets.notifications.outbound import build_notification, reply_address

pytestmark = pytest.mark.django_db

ENGLISH_WE_USED_TO_STORE = ("(no subject)", "(no text)", "Attachments not accepted", "visitor")


@pytest.fixture(autouse=True)
def _mail_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DEFAULT_FROM_EMAIL = "Support <support@chatportal.example>"


def from_maria(**kwargs) -> bytes:
    return message(sender="Maria Popescu <maria@example.com>", **kwargs)


def page(user, path: str, lang: str) -> str:
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def stored_text(ticket: Ticket) -> str:
    ticket.refresh_from_db()
    events = [e.payload for e in ticket.events.order_by("seq")]
    return json.dumps([ticket.subject, events], ensure_ascii=False)


def test_an_email_without_subject_or_text_is_stored_empty_and_named_by_each_reader(
    customer, support_agent
):
    ticket = ingest_message(from_maria(subject="", text="")).ticket
    created = ticket.events.get(kind="created")
    assert ticket.subject == "" and created.payload["body"] == ""
    assert not any(word in stored_text(ticket) for word in ENGLISH_WE_USED_TO_STORE)

    portal_ro = page(customer.portal_user, f"/portal/tickets/{ticket.number}/", "ro")
    assert "(fără subiect)" in portal_ro and "(fără text)" in portal_ro
    assert "(fără subiect)" in page(customer.portal_user, "/portal/", "ro")
    console_ru = page(support_agent, f"/console/tickets/{ticket.number}/", "ru")
    assert "(без темы)" in console_ru and "(без текста)" in console_ru
    assert "(без темы)" in page(support_agent, "/console/tickets/", "ru")
    console_en = page(support_agent, f"/console/tickets/{ticket.number}/", "en")
    assert "(no subject)" in console_en and "(no text)" in console_en

    api = Client().get(
        f"/api/v1/tickets/{ticket.number}",
        HTTP_AUTHORIZATION=f"Bearer {issue_agent_token(support_agent)}",
        HTTP_ACCEPT_LANGUAGE="ro",
    )
    assert api.status_code == 200
    assert api.json()["subject"] == ""


def test_refused_email_files_are_listed_as_data_and_told_in_the_readers_language(
    customer, support_agent
):
    raw = from_maria(
        text="Vedeți fișierele.", attachments=[("pagina.html", "text/html", files.HTML)]
    )
    ticket = ingest_message(raw).ticket
    created = ticket.events.get(kind="created")
    assert created.payload["body"] == "Vedeți fișierele."
    assert created.payload["refused_attachments"] == [
        {"filename": "pagina.html", "content_type": "text/html", "size": len(files.HTML)}
    ]
    assert not any(word in stored_text(ticket) for word in ENGLISH_WE_USED_TO_STORE)

    portal_ro = page(customer.portal_user, f"/portal/tickets/{ticket.number}/", "ro")
    assert "Atașamente neacceptate (tip sau dimensiune):" in portal_ro
    assert "pagina.html (text/html" in portal_ro
    # Files that say why the text is empty need no "(no text)".
    assert "(fără text)" not in portal_ro
    console_ru = page(support_agent, f"/console/tickets/{ticket.number}/", "ru")
    assert "Вложения не приняты (тип или размер):" in console_ru
    assert "pagina.html (text/html" in console_ru


def test_an_email_reply_with_nothing_in_it_is_an_empty_reply_named_by_the_reader(
    customer, support_agent
):
    ticket = ingest_message(from_maria()).ticket
    raw = from_maria(to=reply_address(ticket), subject="Re: Contorul", text="")
    result = ingest_message(raw)
    assert result.outcome == "replied"
    reply = ticket.events.get(kind="reply")
    assert reply.payload["body"] == "" and "refused_attachments" not in reply.payload
    assert "(без текста)" in page(customer.portal_user, f"/portal/tickets/{ticket.number}/", "ru")


def test_a_chat_without_a_visitor_message_becomes_a_ticket_with_no_words_of_ours(
    support, support_agent
):
    visitor, _token = create_visitor(name="Олег")
    conversation, _ = start_conversation(visitor, support)
    ticket = convert_conversation(conversation, by=support_agent, reason="agent")
    created = ticket.events.get(kind="created")
    assert ticket.subject == "" and created.payload["body"] == ""

    console_ro = page(support_agent, f"/console/tickets/{ticket.number}/", "ro")
    assert "Chat cu Олег" in console_ro
    assert "(Vizitatorul nu a trimis niciun mesaj în chat.)" in console_ro
    assert "Чат: Олег" in page(support_agent, "/console/tickets/", "ru")


def test_the_notification_names_a_missing_subject_in_the_customers_language(
    customer, support_agent
):
    customer.locale = "ro"
    customer.save()
    ticket = ingest_message(from_maria(subject="")).ticket
    event = add_reply(
        ticket, body="Vă ajutăm imediat.", author_role="agent", author_user=support_agent
    )
    sent = build_notification(ticket, event)
    # One subject for every mail of the ticket (clients thread by it), in the customer's language.
    assert sent.subject == f"[{ticket.number}] (fără subiect)"
    assert "(fără subiect)" in sent.body


def test_an_erased_ticket_reads_erased_in_the_readers_language(customer, support_agent):
    from crm.gdpr import erase_contact

    ticket = ingest_message(from_maria()).ticket
    erase_contact(customer, by="dpo")
    console_ro = page(support_agent, f"/console/tickets/{ticket.number}/", "ro")
    assert "[șters]" in console_ro and "[erased]" not in console_ro
    assert "[удалено]" in page(support_agent, "/console/tickets/", "ru")
