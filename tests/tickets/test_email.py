"""Inbound e-mail with real MIME messages: encodings, parts, threading, the MTA endpoint.

Outbound mail: test_email_out.py (composing, the outbox) and test_email_relay.py (a real SMTP relay).
"""

from __future__ import annotations

import base64
import io
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.factories import make_agent, make_contact, make_department
from tickets.actions.lifecycle import change_status
from tickets.email.inbound import ingest_message
from tickets.email.parsing import parse_message
from tickets.email.text import html_to_text, strip_quoted
from tickets.models import Ticket
from tickets.notifications.outbound import reply_address

pytestmark = pytest.mark.django_db

SECRET = "s3cret-inbound-key"


@pytest.fixture(autouse=True)
def _setup(settings):
    settings.CHATPORTAL_INBOUND_EMAIL_SECRET = SECRET
    settings.DEFAULT_FROM_EMAIL = "Support <support@chatportal.example>"
    settings.CHATPORTAL_PUBLIC_URL = "https://help.example.com"
    make_department("support")


@pytest.fixture
def maria():
    contact = make_contact("Maria Popescu", email="maria@electrica.example")
    contact.locale = "ro"
    contact.save()
    return contact


@pytest.fixture
def agent():
    return make_agent("ana", ["support"], first_name="Ana")


def message(
    *,
    sender: str = "Maria Popescu <maria@electrica.example>",
    to: str = "support@chatportal.example",
    subject: str = "Contorul nu pornește",
    text: str | None = "Bună ziua, contorul nu pornește.",
    html: str | None = None,
    attachments: list[tuple[str, str, bytes]] = (),
    **headers: str,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    # Each mail its own id, as real ones have (a repeated id is a repeated delivery).
    msg["Message-ID"] = headers.pop("Message_ID", None) or make_msgid(domain="mail.example")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    if text is not None:
        msg.set_content(text)
    if html is not None:
        if text is None:
            msg.set_content(html, subtype="html")
        else:
            msg.add_alternative(html, subtype="html")
    for filename, ctype, data in attachments:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


# --- parsing -------------------------------------------------------------------------


def test_it_decodes_encoded_word_subjects_and_base64_cyrillic_bodies():
    body = base64.b64encode("Счётчик не работает с понедельника.".encode()).decode()
    raw = (
        "From: =?utf-8?b?0JjQstCw0L0g0J/QtdGC0YDQvtCy?= <ivan@example.ru>\r\n"
        "To: support@chatportal.example\r\n"
        "Subject: =?utf-8?b?0KHRh9GR0YLRh9C40Log0L3QtSDRgNCw0LHQvtGC0LDQtdGC?=\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" + body + "\r\n"
    ).encode()
    parsed = parse_message(raw)
    assert parsed.sender == "ivan@example.ru"
    assert parsed.sender_name == "Иван Петров"
    assert parsed.subject == "Счётчик не работает"
    assert parsed.text.strip() == "Счётчик не работает с понедельника."


def test_it_decodes_quoted_printable_romanian_in_a_legacy_charset():
    raw = (
        b"From: maria@electrica.example\r\nTo: support@chatportal.example\r\n"
        b"Subject: =?iso-8859-2?q?Factur=E3_gre=BAit=E3?=\r\n"
        b"Content-Type: text/plain; charset=iso-8859-2\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"Factura din luna aceasta este gre=BAit=E3.\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.subject == "Factură greşită"
    assert parsed.text.strip() == "Factura din luna aceasta este greşită."


def test_it_prefers_the_plain_part_of_multipart_alternative_and_lists_attachments():
    raw = message(
        text="Textul simplu.",
        html="<p>Textul <b>HTML</b>.</p>",
        attachments=[
            ("jurnal-eroare.txt", "text/plain", b"x" * 1234),
            ("poză.png", "image/png", b"\x89PNG" + b"0" * 96),
        ],
    )
    parsed = parse_message(raw)
    assert parsed.text.strip() == "Textul simplu."
    assert [(a.filename, a.content_type, a.size) for a in parsed.attachments] == [
        ("jurnal-eroare.txt", "text/plain", 1234),
        ("poză.png", "image/png", 100),
    ]


def test_it_turns_an_html_only_message_into_text_without_scripts_or_quotes():
    text = html_to_text(
        "<html><head><style>p{}</style></head><body><p>Hello &amp; thanks</p>"
        "<script>alert(1)</script><blockquote>old quoted mail</blockquote><p>Line 2</p></body></html>"
    )
    assert text == "Hello & thanks\n\nLine 2"


def test_it_strips_quoted_history_and_signatures_in_three_languages():
    assert strip_quoted("New info.\n\nOn Tue, 1 Dec 2026, Support wrote:\n> old") == "New info."
    assert (
        strip_quoted("Informații noi.\nÎn mar., 1 dec. 2026, Support a scris:\n> vechi")
        == "Informații noi."
    )
    assert strip_quoted("Новое.\n1 дек. 2026 г., Support написал(а):\n> старое") == "Новое."
    assert strip_quoted("Thanks!\n-- \nMaria, Electrica Nord") == "Thanks!"
    assert strip_quoted("> quoted\nreal answer") == "real answer"


def test_it_refuses_messages_without_a_sender_or_body():
    from tickets.email.parsing import InboundError

    with pytest.raises(InboundError):
        parse_message(b"")
    with pytest.raises(InboundError):
        parse_message(b"Subject: hi\r\n\r\nno sender\r\n")


# --- ingestion -----------------------------------------------------------------------


def test_a_known_contact_mail_opens_an_email_ticket_for_them(maria):
    result = ingest_message(message())
    ticket = result.ticket
    assert result.outcome == "created"
    assert ticket.channel == "email" and ticket.contact == maria
    assert ticket.subject == "Contorul nu pornește"
    created = ticket.events.get(kind="created")
    assert created.payload["body"] == "Bună ziua, contorul nu pornește."
    assert created.author_role == "customer" and created.author_contact == maria


def test_an_unknown_sender_gets_a_ticket_without_a_contact_that_keeps_their_address():
    result = ingest_message(message(sender=formataddr(("Олег Смирнов", "oleg@unknown.example"))))
    ticket = result.ticket
    assert ticket.contact is None
    assert ticket.requester_email == "oleg@unknown.example"
    assert ticket.requester_name == "Олег Смирнов"


def test_a_reply_to_the_token_address_threads_onto_the_ticket_without_the_quote(maria, agent):
    ticket = ingest_message(message()).ticket
    change_status(ticket, Ticket.Status.PENDING, by=agent)
    raw = message(
        to=reply_address(ticket),
        subject=f"Re: [{ticket.number}] Contorul nu pornește",
        text="Am repornit, merge.\n\nÎn 1 dec. 2026, Support a scris:\n> Ați încercat?",
        attachments=[("foto.jpg", "image/jpeg", b"\xff\xd8" + b"1" * 2046)],
    )
    result = ingest_message(raw)
    assert result.outcome == "replied" and result.ticket.pk == ticket.pk
    reply = ticket.events.get(kind="reply")
    assert reply.payload["body"].startswith("Am repornit, merge.")
    assert "Ați încercat" not in reply.payload["body"]
    assert reply.payload["refused_attachments"] == [
        {"filename": "foto.jpg", "content_type": "image/jpeg", "size": 2048}
    ]
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN  # a customer reply reopens a pending ticket
    assert Ticket.objects.count() == 1


def test_a_subject_number_threads_only_for_the_ticket_contact(maria):
    ticket = ingest_message(message()).ticket
    ingest_message(message(subject=f"Re: [{ticket.number}] more", text="More details."))
    assert ticket.events.filter(kind="reply").count() == 1
    stranger = ingest_message(
        message(sender="mallory@evil.example", subject=f"Re: [{ticket.number}] hijack", text="x")
    )
    assert stranger.outcome == "created" and stranger.ticket.pk != ticket.pk
    assert ticket.events.filter(kind="reply").count() == 1


def test_a_reply_to_a_closed_ticket_opens_a_new_one(maria, agent):
    ticket = ingest_message(message()).ticket
    Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.CLOSED)
    result = ingest_message(
        message(to=reply_address(ticket), subject="Re: again", text="Back again.")
    )
    assert result.outcome == "created"
    assert ticket.number in result.ticket.subject


def test_auto_replies_are_ignored_so_they_never_loop(maria):
    result = ingest_message(message(Auto_Submitted="auto-replied", subject="Out of office"))
    assert result.outcome == "ignored"
    assert not Ticket.objects.exists()


def test_the_ingest_email_command_reads_a_file_and_stdin(tmp_path, maria, monkeypatch):
    path = tmp_path / "mail.eml"
    path.write_bytes(message())
    out = io.StringIO()
    call_command("ingest_email", str(path), stdout=out)
    assert out.getvalue().startswith("created T-")

    class Stdin:
        buffer = io.BytesIO(message(subject="Второе письмо", text="Текст."))

    monkeypatch.setattr("sys.stdin", Stdin)
    out = io.StringIO()
    call_command("ingest_email", stdout=out)
    assert Ticket.objects.filter(subject="Второе письмо").exists()
    with pytest.raises(CommandError):
        call_command("ingest_email", str(tmp_path / "missing.eml"))
    bad = tmp_path / "bad.eml"
    bad.write_bytes(b"Subject: x\r\n\r\n")
    with pytest.raises(CommandError):
        call_command("ingest_email", str(bad))


# --- the MTA endpoint ----------------------------------------------------------------


def post_raw(client, raw: bytes, secret: str | None = SECRET):
    headers = {"HTTP_X_CHATPORTAL_INBOUND_SECRET": secret} if secret is not None else {}
    return client.post("/api/v1/inbound-email", data=raw, content_type="message/rfc822", **headers)


def test_the_endpoint_ingests_a_raw_message_with_the_shared_secret(client, maria):
    response = post_raw(client, message())
    assert response.status_code == 201
    assert response.json()["outcome"] == "created"
    assert Ticket.objects.get().number == response.json()["ticket"]


def test_the_endpoint_refuses_a_missing_or_wrong_secret_with_a_json_401(client, maria):
    for secret in (None, "", "wrong"):
        response = post_raw(client, message(), secret)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
    assert not Ticket.objects.exists()


def test_the_endpoint_is_off_while_no_secret_is_configured(client, settings, maria):
    settings.CHATPORTAL_INBOUND_EMAIL_SECRET = ""
    assert post_raw(client, message(), "").status_code == 401


def test_the_endpoint_answers_400_for_an_unusable_message(client):
    response = post_raw(client, b"not a mail at all")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
