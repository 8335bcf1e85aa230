"""Inbound mail as real mail programs send it: identity, every MIME part, auto-replies, threading.

Real-world messages from public corpora live in `mail_corpus/` (origin and
licence in its README); the rest are built here with realistic headers.
"""

from __future__ import annotations

import base64
import logging
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

from tests import attachment_files as files
from tests.factories import make_agent, make_contact, make_department
from tickets.actions.lifecycle import change_status
from tickets.actions.messages import MAX_BODY_CHARS, add_reply
from tickets.email.inbound import ingest_message
from tickets.models import Ticket, TicketAttachment
from tickets.notifications.outbound import reply_address, thread_message_id

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).parent / "mail_corpus"


@pytest.fixture(autouse=True)
def _setup(settings):
    settings.DEFAULT_FROM_EMAIL = "Support <support@chatportal.example>"
    make_department("support")


@pytest.fixture
def maria():
    return make_contact("Maria Popescu", email="maria@electrica.example")


@pytest.fixture
def agent():
    return make_agent("ana", ["support"], first_name="Ana")


def mail(
    *,
    sender: str = "Maria Popescu <maria@electrica.example>",
    to: str = "support@chatportal.example",
    subject: str = "Contorul nu pornește",
    text: str = "Bună ziua, contorul nu pornește.",
    **headers: str,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="mail.example")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(text)
    return msg


def created_body(ticket: Ticket) -> str:
    return ticket.events.get(kind="created").payload["body"]


def solved_ticket(maria, agent) -> Ticket:
    ticket = ingest_message(mail().as_bytes()).ticket
    add_reply(ticket, body="Am înlocuit releul.", author_role="agent", author_user=agent)
    change_status(ticket, Ticket.Status.SOLVED, by=agent)
    ticket.refresh_from_db()
    return ticket


# --- the sender ------------------------------------------------------------------------


def test_the_requester_is_the_from_mailbox_never_an_address_in_its_display_name(maria):
    ticket = ingest_message(mail().as_bytes()).ticket
    forged = mail(
        sender="maria@electrica.example <attacker@evil.example>",
        subject=f"Re: [{ticket.number}] Contorul nu pornește",
        text="Send the invoice to me.",
    )
    result = ingest_message(forged.as_bytes())
    assert result.outcome == "created" and result.ticket.pk != ticket.pk
    assert result.ticket.contact is None
    assert result.ticket.requester_email == "attacker@evil.example"
    assert result.ticket.requester_name == ""  # an address as a name only misleads
    assert not ticket.events.filter(kind="reply").exists()


def test_a_quoted_or_commented_angle_bracket_is_part_of_the_name(maria):
    raw = mail(
        sender='"Popescu <maria@electrica.example>" (x <y@z>) <ion@other.example>'
    ).as_bytes()
    ticket = ingest_message(raw).ticket
    assert ticket.contact is None and ticket.requester_email == "ion@other.example"


# --- every part ------------------------------------------------------------------------


def test_nested_multipart_mixed_keeps_every_text_part_cpython_digest():
    ticket = ingest_message((CORPUS / "cpython-msg_02.txt").read_bytes()).ticket
    body = created_body(ticket)
    assert "Send Ppp mailing list submissions to" in body  # the masthead part
    assert "Today's Topics:" in body  # the second text part
    assert body.count("hello") == 5  # the five digest messages
    assert "Subject: [Ppp] testing #4" in body
    assert "Ppp mailing list\nPpp@zzz.org" in body  # the footer part


def test_a_forwarded_message_rfc822_is_kept_with_its_text_flanker_enclosed():
    ticket = ingest_message((CORPUS / "flanker-enclosed.eml").read_bytes()).ticket
    body = created_body(ticket)
    assert body.startswith("Hello")
    assert "From: Kirk Douglas <dan@example.com>" in body and "Subject: Thanks!" in body
    assert "чтобы я без вас делал" in body
    assert "0 bytes" not in body


def test_an_attached_picture_of_a_real_gmail_mail_becomes_an_attachment_flanker_pic():
    ticket = ingest_message((CORPUS / "flanker-mailgun-pic.eml").read_bytes()).ticket
    assert created_body(ticket).startswith("Мейлган! Хахах!")
    stored = TicketAttachment.objects.get(ticket=ticket)
    assert (stored.filename, stored.content_type, stored.size) == (
        "mailgun.png",
        "image/png",
        60168,
    )


def apple_mail_with_inline_image(plain: str) -> bytes:
    """alternative[plain, related[html, image]]: Apple Mail and Gmail with a pasted picture."""
    msg = mail(text=plain)
    msg.add_alternative("<p>Vedeți poza:</p><img src='cid:poza@x'><p>Mulțumesc</p>", subtype="html")
    html_part = msg.get_payload()[1]
    html_part.add_related(files.png(), maintype="image", subtype="png", cid="<poza@x>")
    return msg.as_bytes()


def test_an_inline_image_of_multipart_related_becomes_an_attachment():
    ticket = ingest_message(apple_mail_with_inline_image("Vedeți poza.\nMulțumesc")).ticket
    assert created_body(ticket) == "Vedeți poza.\nMulțumesc"
    stored = TicketAttachment.objects.get(ticket=ticket)
    assert stored.content_type == "image/png" and stored.filename.endswith(".png")


def test_an_empty_text_plain_never_hides_the_html_body():
    ticket = ingest_message(apple_mail_with_inline_image("")).ticket
    assert created_body(ticket) == "Vedeți poza:\n\nMulțumesc"
    assert TicketAttachment.objects.filter(ticket=ticket).count() == 1


def test_a_message_that_is_only_an_attachment_is_kept():
    raw = (
        "From: maria@electrica.example\r\nTo: support@chatportal.example\r\n"
        "Subject: scan\r\nMessage-ID: <scan-1@mail.example>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: application/pdf; name="scan.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n"
        'Content-Disposition: attachment; filename="scan.pdf"\r\n\r\n'
        + base64.encodebytes(files.PDF).decode()
    ).encode()
    ticket = ingest_message(raw).ticket
    stored = TicketAttachment.objects.get(ticket=ticket)
    assert (stored.filename, stored.size) == ("scan.pdf", len(files.PDF))


def test_nested_mixed_parts_keep_text_and_files_in_order():
    inner = EmailMessage()
    inner.set_content("Al doilea paragraf.")
    inner.add_attachment(files.PDF, maintype="application", subtype="pdf", filename="factura.pdf")
    outer = mail(text="Primul paragraf.")
    outer.make_mixed()
    outer.attach(inner)
    outer.add_attachment(
        b"MZ\x90\x00" * 300, maintype="application", subtype="octet-stream", filename="setup.exe"
    )
    ticket = ingest_message(outer.as_bytes()).ticket
    body = created_body(ticket)
    assert body.startswith("Primul paragraf.\n\nAl doilea paragraf.")
    assert [a.filename for a in TicketAttachment.objects.filter(ticket=ticket)] == ["factura.pdf"]
    # A refused file is named with its real decoded size (as data, rendered in the reader's language).
    first = ticket.events.order_by("seq").first()
    assert first.payload["refused_attachments"] == [
        {"filename": "setup.exe", "content_type": "application/octet-stream", "size": 1200}
    ]


def test_a_mail_longer_than_a_ticket_message_is_cut_not_refused():
    ticket = ingest_message(mail(text="lung " * 5000).as_bytes()).ticket
    assert len(created_body(ticket)) <= MAX_BODY_CHARS
    assert created_body(ticket).endswith("[… the rest of the mail was cut]")


# --- auto-replies, bounces and list mail -----------------------------------------------

EXCHANGE_OOF = """\
Received: from AM0PR02MB5411.eurprd02.prod.outlook.com (2603:10a6:208:15d::20)
 by AM0PR02MB5412.eurprd02.prod.outlook.com with HTTPS; Tue, 1 Dec 2026 09:12:03 +0000
From: Maria Popescu <maria@electrica.example>
To: Support <{to}>
Subject: Automatic reply: [{number}] New reply: Contorul nu pornește
Thread-Topic: [{number}] New reply: Contorul nu pornește
Thread-Index: AQHZq1z4c2zQ0x0Zk0mY9y0VbzJm7Q==
Date: Tue, 1 Dec 2026 09:12:03 +0000
Message-ID: <AM0PR02MB54115C2F0D2E4B3E8F1A2B3C9A2D0@AM0PR02MB5411.eurprd02.prod.outlook.com>
In-Reply-To: <{thread}>
References: <{thread}>
Content-Language: ro-RO
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
X-Auto-Response-Suppress: All
X-MS-Exchange-Inbox-Rules-Loop: maria@electrica.example
X-MS-Exchange-Organization-AuthAs: Internal
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: quoted-printable
MIME-Version: 1.0

Sunt =C3=AEn concediu p=C3=A2n=C4=83 pe 15 decembrie.
"""

GMAIL_VACATION = """\
Delivered-To: {to}
Return-Path: <maria@electrica.example>
MIME-Version: 1.0
From: Maria Popescu <maria@electrica.example>
Date: Tue, 1 Dec 2026 10:15:42 +0200
Message-ID: <CAF3xq=vacation9x7Q0ZpVb-Qx4@mail.gmail.com>
Subject: Re: [{number}] New reply: Contorul nu pornește
In-Reply-To: <{thread}>
References: <{thread}>
Auto-Submitted: auto-replied
To: {to}
Content-Type: multipart/alternative; boundary="000000000000a1b2c3d4e5f60718"

--000000000000a1b2c3d4e5f60718
Content-Type: text/plain; charset="UTF-8"

Sunt in concediu. Revin luni.

--000000000000a1b2c3d4e5f60718
Content-Type: text/html; charset="UTF-8"

<div dir="ltr">Sunt in concediu. Revin luni.</div>

--000000000000a1b2c3d4e5f60718--
"""


@pytest.mark.parametrize(
    "template", [EXCHANGE_OOF, GMAIL_VACATION], ids=["exchange-oof", "gmail-vacation"]
)
def test_an_out_of_office_reply_leaves_a_solved_ticket_as_it_was(maria, agent, template, caplog):
    ticket = solved_ticket(maria, agent)
    seq = ticket.last_seq
    raw = template.format(
        to=reply_address(ticket), number=ticket.number, thread=thread_message_id(ticket)[1:-1]
    )
    with caplog.at_level(logging.INFO, logger="tickets.email.inbound"):
        result = ingest_message(raw.replace("\n", "\r\n").encode())
    assert result.outcome == "ignored"
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.SOLVED and ticket.last_seq == seq
    assert Ticket.objects.count() == 1
    assert "ignored" in caplog.text and result.reason in caplog.text


@pytest.mark.parametrize(
    ("headers", "subject"),
    [
        ({"X_Auto_Response_Suppress": "All"}, "Re: contor"),
        ({"X_MS_Exchange_Inbox_Rules_Loop": "maria@electrica.example"}, "Re: contor"),
        ({}, "Automatic reply: contor"),
        ({}, "Autosvar: contor"),
        ({}, "Răspuns automat: contor"),
        ({}, "Автоответ: contor"),
        ({"Precedence": "auto_reply"}, "Re: contor"),
        ({"X_Autorespond": "Re: contor"}, "Re: contor"),
        ({"X_Autoreply": "yes"}, "Re: contor"),
        ({"Return_Path": "<>"}, "Re: contor"),
    ],
)
def test_auto_reply_signatures_are_ignored(maria, agent, headers, subject):
    ticket = solved_ticket(maria, agent)
    result = ingest_message(mail(to=reply_address(ticket), subject=subject, **headers).as_bytes())
    assert result.outcome == "ignored" and result.reason
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.SOLVED


def test_a_real_office365_bounce_is_ignored_flanker():
    result = ingest_message((CORPUS / "flanker-bounce-office365.eml").read_bytes())
    assert result.outcome == "ignored"
    assert not Ticket.objects.exists()


def test_a_mailer_daemon_report_without_auto_submitted_is_ignored():
    msg = mail(sender="Mail Delivery System <MAILER-DAEMON@mx.example>", subject="Undelivered Mail")
    assert ingest_message(msg.as_bytes()).outcome == "ignored"


def test_a_person_writing_through_a_list_or_group_opens_a_ticket(maria):
    msg = mail(
        sender="Ion Ionescu <ion@electrica.example>",
        subject="[clienti] Contor blocat",
        text="Al nostru e blocat din nou.",
        Precedence="list",
        List_Id="<clienti.electrica.example>",
        Sender="clienti@googlegroups.com",
    )
    result = ingest_message(msg.as_bytes())
    assert result.outcome == "created"
    bulk = mail(text="Și la noi.", Precedence="bulk")
    assert ingest_message(bulk.as_bytes()).outcome == "created"


# --- duplicates and threading ----------------------------------------------------------


def test_a_retried_delivery_never_opens_a_second_ticket(maria):
    raw = mail().as_bytes()
    first = ingest_message(raw)
    again = ingest_message(raw)
    assert first.outcome == "created"
    assert again.outcome == "duplicate" and again.ticket.pk == first.ticket.pk
    assert Ticket.objects.count() == 1
    assert first.ticket.events.count() == 1


def test_a_reply_threads_by_in_reply_to_our_notification(maria, agent):
    ticket = ingest_message(mail().as_bytes()).ticket
    reply = mail(
        subject="Re: contorul", text="Tot nu merge.", In_Reply_To=thread_message_id(ticket)
    )
    result = ingest_message(reply.as_bytes())
    assert result.outcome == "replied" and result.ticket.pk == ticket.pk


def test_a_reply_threads_by_references_to_an_earlier_mail_of_the_same_sender(maria):
    first = mail()
    ticket = ingest_message(first.as_bytes()).ticket
    follow_up = mail(
        subject="Re: Contorul",
        text="Am uitat seria: RZA-2024-0001.",
        References=f"<other@x.example> {first['Message-ID']}",
    )
    result = ingest_message(follow_up.as_bytes())
    assert result.outcome == "replied" and result.ticket.pk == ticket.pk


def test_references_from_a_stranger_do_not_thread(maria):
    first = mail()
    ticket = ingest_message(first.as_bytes()).ticket
    stranger = mail(
        sender="mallory@evil.example",
        subject="Re: x",
        text="x",
        In_Reply_To=thread_message_id(ticket),
        References=str(first["Message-ID"]),
    )
    result = ingest_message(stranger.as_bytes())
    assert result.outcome == "created" and result.ticket.pk != ticket.pk


def test_an_unknown_requester_threads_by_the_subject_tag():
    ticket = ingest_message(mail(sender="Olga <olga@unknown.example>").as_bytes()).ticket
    result = ingest_message(
        mail(
            sender="olga@unknown.example", subject=f"Re: [{ticket.number}] x", text="Și încă ceva."
        ).as_bytes()
    )
    assert result.outcome == "replied" and result.ticket.pk == ticket.pk


WRAPPED_ATTRIBUTIONS = [
    # Gmail, en, wrapped at 78 columns
    "On Tue, Dec 1, 2026 at 10:15 AM Support Team <\nsupport+abc@chatportal.example> wrote:",
    "On Tue, Dec 1, 2026 at 10:15 AM Support Team <support+abc@chatportal.example>\nwrote:",
    # Gmail, ro
    "În mar., 1 dec. 2026 la 10:15, Support Team <\nsupport+abc@chatportal.example> a scris:",
    # Gmail, ru (no verb)
    "вт, 1 дек. 2026 г. в 10:15, Support Team <\nsupport+abc@chatportal.example>:",
    # Thunderbird, ru
    "01.12.2026 10:15, Support Team\nпишет:",
    # Outlook, en / ro / ru
    "________________________________\nFrom: Support Team <support@chatportal.example>\nSent: Tuesday",
    "De la: Support Team <support@chatportal.example>\nTrimis: marți, 1 decembrie 2026 10:15",
    "От: Support Team <support@chatportal.example>\nОтправлено: 1 декабря 2026 г. 10:15",
]


@pytest.mark.parametrize("attribution", WRAPPED_ATTRIBUTIONS)
def test_quoted_history_under_a_wrapped_attribution_is_stripped(maria, attribution):
    ticket = ingest_message(mail().as_bytes()).ticket
    text = f"Am repornit și merge.\nMulțumesc, Maria\n\n{attribution}\n\nAți încercat să-l reporniți?\n"
    result = ingest_message(mail(to=reply_address(ticket), subject="Re: x", text=text).as_bytes())
    assert result.event.payload["body"] == "Am repornit și merge.\nMulțumesc, Maria"


def test_a_sentence_about_a_monday_is_not_an_attribution(maria):
    ticket = ingest_message(mail().as_bytes()).ticket
    text = "On Monday the relay stopped.\nThe technician wrote:\nit needs a new board."
    result = ingest_message(mail(to=reply_address(ticket), subject="Re: x", text=text).as_bytes())
    assert result.event.payload["body"] == text


def test_raw_utf8_headers_and_body_without_a_charset_are_read_as_utf8():
    raw = (
        "From: Мария Попеску <maria.p@unknown.example>\r\nTo: support@chatportal.example\r\n"
        "Subject: Счётчик\r\nMessage-ID: <raw8@mail.example>\r\n\r\nПривет, не работает.\r\n"
    ).encode()
    ticket = ingest_message(raw).ticket
    assert ticket.requester_name == "Мария Попеску" and ticket.subject == "Счётчик"
    assert created_body(ticket) == "Привет, не работает."


def test_a_delivery_racing_the_same_message_id_answers_the_winner(maria, monkeypatch):
    from tickets.email import inbound

    raw = mail().as_bytes()
    winner = ingest_message(raw)
    # The loser checked before the winner committed; its claim then fails on the unique id.
    real_earlier = inbound._earlier
    calls = []

    def not_yet(message_id):
        calls.append(message_id)
        return None if len(calls) == 1 else real_earlier(message_id)

    monkeypatch.setattr(inbound, "_earlier", not_yet)
    loser = ingest_message(raw)
    assert loser.outcome == "duplicate" and loser.ticket.pk == winner.ticket.pk
    assert Ticket.objects.count() == 1 and winner.ticket.events.count() == 1


def test_a_mail_forwarded_inline_in_a_reply_is_kept(maria):
    ticket = ingest_message(mail().as_bytes()).ticket
    text = (
        "Vedeți ce ne-a scris furnizorul.\n\n---------- Forwarded message ---------\n"
        "From: Furnizor <f@vendor.example>\nDate: Mon, 30 Nov 2026\n\nReleul vine joi."
    )
    result = ingest_message(
        mail(to=reply_address(ticket), subject="Fwd: releu", text=text).as_bytes()
    )
    assert "Releul vine joi." in result.event.payload["body"]


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_deliveries_of_one_mail_open_one_ticket(maria):
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("SQLite serializes writers; the race needs PostgreSQL (second CI pass)")
    raw = mail().as_bytes()
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def deliver() -> None:
        try:
            start.wait()
            outcomes.append(ingest_message(raw).outcome)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["created", "duplicate"]
    assert Ticket.objects.count() == 1
