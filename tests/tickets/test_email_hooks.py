"""The ways mail comes in: the raw endpoint with any Content-Type, the MTA pipe, provider webhooks.

None of these is marked `services`, so they run on PostgreSQL in the second
CI pass too: NUL characters in mail text must never reach the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import time
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.factories import make_contact, make_department
from tickets.models import InboundEmail, Ticket

pytestmark = pytest.mark.django_db

SECRET = "s3cret-inbound-key"
WEBHOOK_AUTH = "mailhook:9f8e7d6c5b4a"
MAILGUN_KEY = "key-mailgun-signing-123"


@pytest.fixture(autouse=True)
def _setup(settings):
    settings.CHATPORTAL_INBOUND_EMAIL_SECRET = SECRET
    settings.ANYMAIL = {"WEBHOOK_SECRET": WEBHOOK_AUTH, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}
    make_department("support")


@pytest.fixture
def maria():
    return make_contact("Maria Popescu", email="maria@electrica.example")


def mail(
    text: str = "Bună ziua, contorul nu pornește.", *, subject: str = "Contor"
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Maria Popescu <maria@electrica.example>"
    msg["To"] = "support@chatportal.example"
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="mail.example")
    msg.set_content(text)
    return msg


def post_raw(client, raw: bytes, content_type: str = "message/rfc822"):
    return client.post(
        "/api/v1/inbound-email",
        data=raw,
        content_type=content_type,
        HTTP_X_CHATPORTAL_INBOUND_SECRET=SECRET,
    )


def body_of(ticket: Ticket) -> str:
    return ticket.events.get(kind="created").payload["body"]


# --- the raw endpoint ------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "message/rfc822",
        "text/plain",
        "application/octet-stream",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "",
    ],
)
def test_the_endpoint_takes_the_mail_whatever_content_type_the_mta_sends(
    client, maria, content_type
):
    msg = mail("Link: https://x.example/?q=%00&a=1 and 100%25 sure = yes")
    response = post_raw(client, msg.as_bytes(), content_type)
    assert response.status_code == 201, response.content
    assert "?q=%00&a=1 and 100%25 sure" in body_of(Ticket.objects.get())


def test_a_mail_over_django_memory_limit_posted_as_a_form_is_taken(client, maria, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000  # the same path as 2.5 MB, cheaper
    msg = mail()
    msg.add_attachment(
        b"%PDF-1.4\n" + b"0" * 300_000, maintype="application", subtype="pdf", filename="mare.pdf"
    )
    response = post_raw(client, msg.as_bytes(), "application/x-www-form-urlencoded")
    assert response.status_code == 201
    assert response["Content-Type"].startswith("application/json")


def test_a_repeated_delivery_answers_the_first_ticket(client, maria):
    raw = mail().as_bytes()
    first = post_raw(client, raw)
    again = post_raw(client, raw)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == {
        "outcome": "duplicate",
        "ticket": first.json()["ticket"],
        "reason": "already created",
    }
    assert Ticket.objects.count() == 1


def test_nul_characters_in_decoded_mail_text_are_dropped_not_a_500(client, maria):
    raw = (
        "From: =?utf-8?q?Ion=00_Ionescu?= <ion@other.example>\r\n"
        "To: support@chatportal.example\r\n"
        "Subject: =?utf-8?q?Contor=00_blocat?=\r\n"
        "Message-ID: <nul-1@mail.example>\r\n"
        "Auto-Submitted: no\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.b64encode(b"Contorul\x00 nu merge.").decode()
        + "\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n"
        'Content-Disposition: attachment; filename="pag=00ina.html"\r\n\r\n<p>x=00y</p>\r\n--b--\r\n'
    ).encode()
    response = post_raw(client, raw)
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get()
    assert ticket.subject == "Contor blocat" and ticket.requester_name == "Ion Ionescu"
    assert body_of(ticket).startswith("Contorul nu merge.")
    assert "\x00" not in body_of(ticket)


def test_the_pipe_command_exits_0_for_mail_with_nul_and_65_for_unusable_mail(maria, monkeypatch):
    class Stdin:
        buffer = io.BytesIO(mail("Text\x00 cu NUL.").as_bytes())

    monkeypatch.setattr("sys.stdin", Stdin)
    out = io.StringIO()
    call_command("ingest_email", stdout=out)
    assert out.getvalue().startswith("created T-")
    Stdin.buffer = io.BytesIO(b"\x00\x00 not mail")
    with pytest.raises(CommandError) as refused:
        call_command("ingest_email")
    assert refused.value.returncode == 65


# --- provider webhooks (django-anymail) -----------------------------------------------


def basic_auth(credentials: str = WEBHOOK_AUTH) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials.encode()).decode()}


def postmark_payload(msg: EmailMessage) -> dict:
    return {
        "FromFull": {"Email": "maria@electrica.example", "Name": "Maria Popescu"},
        "ToFull": [{"Email": "support@chatportal.example", "Name": ""}],
        "Subject": str(msg["Subject"]),
        "MessageID": "73e6d360-66eb-11e1-8e72-a8904824019b",
        "Headers": [{"Name": "Message-ID", "Value": str(msg["Message-ID"])}],
        "TextBody": msg.get_content(),
        "HtmlBody": "",
        "Attachments": [],
        "RawEmail": msg.as_string(),
    }


def test_a_postmark_inbound_webhook_opens_a_ticket(client, maria):
    msg = mail("Prin Postmark.")
    response = client.post(
        "/anymail/postmark/inbound/",
        data=json.dumps(postmark_payload(msg)),
        content_type="application/json",
        **basic_auth(),
    )
    assert response.status_code == 200
    ticket = Ticket.objects.get()
    assert ticket.contact == maria and body_of(ticket) == "Prin Postmark."
    assert InboundEmail.objects.get().message_id == str(msg["Message-ID"]).lower()


def test_a_provider_webhook_without_the_basic_auth_is_refused(client, maria):
    payload = json.dumps(postmark_payload(mail()))
    for headers in ({}, basic_auth("mailhook:wrong")):
        response = client.post(
            "/anymail/postmark/inbound/", data=payload, content_type="application/json", **headers
        )
        assert response.status_code in {400, 401, 403}
    assert not Ticket.objects.exists()


def test_provider_webhooks_are_off_until_a_secret_is_configured(client, settings, maria):
    settings.ANYMAIL = {}
    response = client.post(
        "/anymail/postmark/inbound/",
        data=json.dumps(postmark_payload(mail())),
        content_type="application/json",
    )
    assert response.status_code == 404
    assert not Ticket.objects.exists()


def mailgun_signature(key: str = MAILGUN_KEY) -> dict[str, str]:
    timestamp, token = str(int(time.time())), "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
    digest = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {"timestamp": timestamp, "token": token, "signature": digest}


def test_a_signed_mailgun_inbound_mime_webhook_opens_a_ticket(client, maria):
    msg = mail("Prin Mailgun.")
    data = {
        "body-mime": msg.as_string(),
        "recipient": "support@chatportal.example",
        **mailgun_signature(),
    }
    response = client.post("/anymail/mailgun/inbound_mime/", data=data, **basic_auth())
    assert response.status_code == 200
    assert body_of(Ticket.objects.get()) == "Prin Mailgun."
    forged = {**data, **mailgun_signature("key-wrong")}
    response = client.post("/anymail/mailgun/inbound_mime/", data=forged, **basic_auth())
    assert response.status_code == 400
    assert Ticket.objects.count() == 1


def test_a_sendgrid_raw_inbound_parse_webhook_opens_a_ticket(client, maria):
    msg = mail("Prin SendGrid.")
    data = {"email": msg.as_string(), "to": "support@chatportal.example", "charsets": "{}"}
    response = client.post("/anymail/sendgrid/inbound/", data=data, **basic_auth())
    assert response.status_code == 200
    assert body_of(Ticket.objects.get()) == "Prin SendGrid."


def test_an_amazon_ses_sns_inbound_notification_opens_a_ticket(client, maria):
    msg = mail("Prin Amazon SES.")
    ses_event = {
        "notificationType": "Received",
        "mail": {
            "source": "maria@electrica.example",
            "destination": ["support@chatportal.example"],
            "messageId": "jpg6lba0s2n8sr8hfq1ql2b1g07bmes5pi8ap5o1",
        },
        "receipt": {
            "action": {
                "type": "SNS",
                "encoding": "BASE64",
                "topicArn": "arn:aws:sns:eu-west-1:123456789012:inbound",
            },
            "recipients": ["support@chatportal.example"],
        },
        "content": base64.b64encode(msg.as_bytes()).decode(),
    }
    sns = {
        "Type": "Notification",
        "MessageId": "8f4d1c3e-5e7a-5d41-9b2a-0c1d2e3f4a5b",
        "TopicArn": "arn:aws:sns:eu-west-1:123456789012:inbound",
        "Message": json.dumps(ses_event),
        "Timestamp": "2026-12-01T10:15:42.000Z",
    }
    response = client.post(
        "/anymail/amazon_ses/inbound/",
        data=json.dumps(sns),
        content_type="text/plain; charset=UTF-8",
        HTTP_X_AMZ_SNS_MESSAGE_TYPE="Notification",
        HTTP_X_AMZ_SNS_MESSAGE_ID=sns["MessageId"],
        **basic_auth(),
    )
    assert response.status_code == 200
    assert body_of(Ticket.objects.get()) == "Prin Amazon SES."


def test_a_provider_webhook_with_an_unusable_mail_is_answered_200_and_logged(client, caplog):
    payload = {**postmark_payload(mail()), "RawEmail": "Subject: no sender\r\n\r\nx\r\n"}
    response = client.post(
        "/anymail/postmark/inbound/",
        data=json.dumps(payload),
        content_type="application/json",
        **basic_auth(),
    )
    assert response.status_code == 200  # the provider must not retry it forever
    assert "not taken: the message has no sender address" in caplog.text
    assert not Ticket.objects.exists()


def test_the_pipe_command_exits_75_so_the_mta_retries_when_the_database_fails(maria, monkeypatch):
    from django.db import OperationalError

    def database_down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("tickets.email.inbound.InboundEmail.objects.select_related", database_down)

    class Stdin:
        buffer = io.BytesIO(mail().as_bytes())

    monkeypatch.setattr("sys.stdin", Stdin)
    with pytest.raises(CommandError) as failed:
        call_command("ingest_email")
    assert failed.value.returncode == 75


def test_a_provider_bounce_with_an_empty_envelope_sender_is_ignored(client, maria):
    msg = mail("Delivery failed.")
    payload = {**postmark_payload(msg), "Headers": [{"Name": "Return-Path", "Value": "<>"}]}
    response = client.post(
        "/anymail/postmark/inbound/",
        data=json.dumps(payload),
        content_type="application/json",
        **basic_auth(),
    )
    assert response.status_code == 200
    assert not Ticket.objects.exists()
