"""Ticket attachments: API, portal forms, downloads per role, e-mail in and out, chat carry-over."""

from __future__ import annotations

import base64
import io
import uuid
from email.utils import make_msgid
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from chat.actions.attachments import post_attachment
from chat.actions.conversations import close_conversation, post_message, start_conversation
from chat.actions.visitors import create_visitor
from chat.log import agent_author, visitor_author
from chat.models import ChatAttachment
from foundation.uploads import check_upload
from queues.tokens import issue_agent_token
from tests import attachment_files as files
from tests.factories import make_contact
from tickets.actions.conversion import convert_conversation
from tickets.actions.messages import create_ticket
from tickets.email.inbound import ingest_message
from tickets.models import Ticket, TicketAttachment, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CHATPORTAL_PUBLIC_URL = "https://support.example.com"


@pytest.fixture
def ticket(customer, support, standard_plan):
    return create_ticket(
        subject="Relay trips",
        body="It trips at night.",
        contact=customer,
        channel=Ticket.Channel.PORTAL,
        department=support,
        author_role=TicketEvent.Role.CUSTOMER,
        author_contact=customer,
    )


def agent_api(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_agent_token(user)}"}


def portal(contact) -> Client:
    client = Client()
    client.force_login(contact.portal_user)
    return client


def local(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def content_of(response) -> bytes:
    # The test client closes the response once its content has been read. Closing it
    # again here would send request_finished, whose close_old_connections drops the
    # test's PostgreSQL connection (in its test transaction) under the next query.
    return b"".join(response.streaming_content) if response.streaming else response.content


def api_upload(ticket, user, *uploads, **fields):
    return Client().post(
        f"/api/v1/tickets/{ticket.number}/attachments",
        {"file": [SimpleUploadedFile(name, data) for name, data in uploads], **fields},
        **agent_api(user),
    )


# --- the API -------------------------------------------------------------------------


def test_an_agent_replies_with_files_over_the_api(
    ticket, support_agent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_upload(
            ticket,
            support_agent,
            ("schema.pdf", files.PDF),
            ("foto.png", files.png()),
            body="See the wiring diagram.",
        )
    assert response.status_code == 201, response.content
    event = response.json()
    assert event["kind"] == "reply" and event["internal"] is False
    listed = event["payload"]["attachments"]
    assert [a["filename"] for a in listed] == ["schema.pdf", "foto.png"]
    assert listed[0]["url"].startswith(
        f"https://support.example.com/api/v1/tickets/{ticket.number}/attachments/"
    )
    assert TicketAttachment.objects.filter(ticket=ticket, event__seq=event["seq"]).count() == 2
    notice = mail.outbox[-1]
    assert "schema.pdf" in notice.body and listed[0]["url"] in notice.body
    html = notice.alternatives[0][0]
    assert f'href="{listed[0]["url"]}"' in html


def test_files_alone_make_a_reply_without_text(ticket, support_agent):
    response = api_upload(ticket, support_agent, ("log.txt", files.TEXT))
    assert response.status_code == 201
    assert response.json()["payload"]["body"] == ""


def test_an_internal_note_with_a_file_stays_internal(ticket, support_agent, customer):
    response = api_upload(
        ticket, support_agent, ("contract.pdf", files.PDF), internal="true", body="x"
    )
    assert response.status_code == 201
    assert response.json()["kind"] == "note" and response.json()["internal"] is True
    url = local(response.json()["payload"]["attachments"][0]["url"])
    assert portal(customer).get(url).status_code == 404
    assert Client().get(url, **agent_api(support_agent)).status_code == 200


def test_refused_files_store_nothing_over_the_api(ticket, support_agent, settings):
    response = api_upload(ticket, support_agent, ("ok.pdf", files.PDF), ("page.png", files.HTML))
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert not TicketAttachment.objects.exists()
    assert not ticket.events.filter(kind="reply").exists()
    media = settings.MEDIA_ROOT
    assert not media.exists() or not [p for p in media.rglob("*") if p.is_file()]


def test_an_agent_of_another_department_cannot_attach_or_download(
    ticket, support_agent, sales_agent
):
    assert api_upload(ticket, sales_agent, ("a.pdf", files.PDF)).status_code == 404
    url = local(
        api_upload(ticket, support_agent, ("a.pdf", files.PDF)).json()["payload"]["attachments"][0][
            "url"
        ]
    )
    assert Client().get(url, **agent_api(sales_agent)).status_code == 404
    browser = Client()
    browser.force_login(sales_agent)
    assert browser.get(url).status_code == 404


# --- downloads -----------------------------------------------------------------------


@pytest.fixture
def public_file_url(ticket, support_agent):
    response = api_upload(ticket, support_agent, ("raport ședință.pdf", files.PDF), body="Report")
    return local(response.json()["payload"]["attachments"][0]["url"])


def test_the_customer_downloads_a_public_file_with_safe_headers(public_file_url, customer):
    response = portal(customer).get(public_file_url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "filename*=utf-8''raport%20%C8%99edin%C8%9B%C4%83.pdf" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert content_of(response) == files.PDF


def test_another_customer_gets_not_found(public_file_url, other_customer):
    assert portal(other_customer).get(public_file_url).status_code == 404


def test_an_organization_admin_sees_the_organizations_files(public_file_url, customer, acme):
    admin = make_contact("Admin Acme", email="admin@acme.example")
    admin.organization = acme
    admin.is_organization_admin = True
    admin.portal_user = get_user_model().objects.create_user("admin-acme", password="x-pass-123")
    admin.save()
    assert portal(admin).get(public_file_url).status_code == 200


def test_a_browser_that_is_not_signed_in_is_sent_to_the_portal_sign_in(public_file_url, ticket):
    response = Client().get(public_file_url, HTTP_ACCEPT="text/html")
    assert response.status_code == 302
    assert response["Location"].startswith("/portal/login/")
    assert response["Location"].endswith("?" + urlencode({"next": public_file_url}))
    assert Client().get(public_file_url).status_code == 401
    bad = Client().get(public_file_url, HTTP_AUTHORIZATION="Bearer nope")
    assert bad.status_code == 401


def test_a_customer_who_signs_in_from_a_mailed_link_lands_on_the_file(public_file_url, customer):
    browser = Client()
    to_sign_in = browser.get(public_file_url, HTTP_ACCEPT="text/html,application/xhtml+xml")
    page = browser.get(to_sign_in["Location"])
    assert f'value="{public_file_url}"' in page.content.decode()  # the form carries it on
    signed_in = browser.post(
        to_sign_in["Location"],
        {"username": "maria@example.com", "password": "x-pass-123", "next": public_file_url},
    )
    assert signed_in.status_code == 302 and signed_in["Location"] == public_file_url
    assert content_of(browser.get(signed_in["Location"])) == files.PDF


def test_the_sign_in_sends_nobody_to_a_look_alike_path(customer):
    browser = Client()
    for target in (
        "/api/v1/tickets/T-1/attachments/../../admin/",
        "//evil.example/api/v1/tickets/T-1/attachments/x",
    ):
        answer = browser.post(
            "/portal/login/",
            {"username": "maria@example.com", "password": "x-pass-123", "next": target},
        )
        assert answer["Location"] == "/portal/"
        browser.post("/portal/logout/")


def test_an_unknown_attachment_id_is_not_found(ticket, customer):
    url = f"/api/v1/tickets/{ticket.number}/attachments/{uuid.uuid4()}"
    assert portal(customer).get(url).status_code == 404
    assert (
        portal(customer).get(f"/api/v1/tickets/{ticket.number}/attachments/not-a-uuid").status_code
        == 404
    )


def test_a_file_of_one_ticket_is_not_served_through_another(public_file_url, customer, support):
    mine = create_ticket(
        subject="Other",
        body="b",
        contact=customer,
        channel=Ticket.Channel.PORTAL,
        department=support,
        author_role=TicketEvent.Role.CUSTOMER,
        author_contact=customer,
    )
    attachment_id = public_file_url.rsplit("/", 1)[1]
    assert (
        portal(customer)
        .get(f"/api/v1/tickets/{mine.number}/attachments/{attachment_id}")
        .status_code
        == 404
    )


# --- the portal ----------------------------------------------------------------------


def test_the_customer_replies_with_a_file_and_the_page_links_it(ticket, customer):
    client = portal(customer)
    response = client.post(
        f"/portal/tickets/{ticket.number}/reply/",
        {"body": "Photo attached", "attachments": [SimpleUploadedFile("a&b <i>.png", files.png())]},
    )
    assert response.status_code == 302
    event = ticket.events.get(kind="reply")
    # Markup characters never survive into the name (and the page escapes anyway).
    assert event.payload["attachments"][0]["filename"] == "a_b _i_.png"
    page = client.get(f"/portal/tickets/{ticket.number}/").content.decode()
    assert "a_b _i_.png" in page and "<i>" not in page
    attachment = TicketAttachment.objects.get(ticket=ticket)
    assert f'href="/api/v1/tickets/{ticket.number}/attachments/{attachment.public_id}"' in page
    assert 'name="attachments"' in page and 'enctype="multipart/form-data"' in page


def test_a_file_alone_is_a_reply_and_nothing_at_all_is_refused(ticket, customer):
    client = portal(customer)
    url = f"/portal/tickets/{ticket.number}/reply/"
    assert (
        client.post(
            url, {"body": "", "attachments": [SimpleUploadedFile("l.txt", files.TEXT)]}
        ).status_code
        == 302
    )
    assert client.post(url, {"body": ""}).status_code == 400
    assert ticket.events.filter(kind="reply").count() == 1


def test_a_refused_file_shows_the_reason_and_sends_nothing(ticket, customer):
    response = portal(customer).post(
        f"/portal/tickets/{ticket.number}/reply/",
        {"body": "see attached", "attachments": [SimpleUploadedFile("invoice.pdf", files.EXE)]},
    )
    assert response.status_code == 415
    assert 'role="alert"' in response.content.decode()
    assert not ticket.events.filter(kind="reply").exists()


def test_a_new_ticket_from_the_portal_carries_its_files(customer, support):
    response = portal(customer).post(
        "/portal/tickets/new/",
        {
            "subject": "Broken relay",
            "department": "support",
            "body": "See photo",
            "attachments": [SimpleUploadedFile("relay.jpg", files.JPEG)],
        },
    )
    assert response.status_code == 302
    created = Ticket.objects.get(subject="Broken relay").events.get(kind="created")
    assert created.payload["attachments"][0]["content_type"] == "image/jpeg"


def test_the_other_customer_never_sees_the_page_with_the_link(ticket, customer, other_customer):
    portal(customer).post(
        f"/portal/tickets/{ticket.number}/reply/",
        {"body": "x", "attachments": [SimpleUploadedFile("secret.pdf", files.PDF)]},
    )
    assert portal(other_customer).get(f"/portal/tickets/{ticket.number}/").status_code == 404


# --- inbound e-mail ------------------------------------------------------------------


def mime_with_attachments(
    parts: list[tuple[str, str, bytes]], *, text: str = "Bună ziua, vedeți atașamentele."
) -> bytes:
    boundary = "==chatportal-test=="
    lines = [
        "From: Maria Popescu <maria@example.com>",
        "To: support@chatportal.example",
        "Subject: =?utf-8?b?" + base64.b64encode("Relee defecte — отчёт".encode()).decode() + "?=",
        f"Message-ID: {make_msgid(domain='mail.example')}",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed; boundary="{boundary}"',
        "",
        f"--{boundary}",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: base64",
        "",
        base64.b64encode(text.encode()).decode(),
    ]
    for filename_header, content_type, data in parts:
        lines += [
            f"--{boundary}",
            f"Content-Type: {content_type}",
            "Content-Transfer-Encoding: base64",
            f"Content-Disposition: attachment; {filename_header}",
            "",
            base64.encodebytes(data).decode().strip(),
        ]
    lines.append(f"--{boundary}--")
    return "\r\n".join(lines).encode()


def encoded_word(name: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(name.encode()).decode() + "?="


def test_inbound_mail_files_become_attachments_with_their_encoded_names(customer, support):
    raw = mime_with_attachments(
        [
            (f'filename="{encoded_word("Raport ședință.pdf")}"', "application/pdf", files.PDF),
            ("filename*=utf-8''%D0%A4%D0%BE%D1%82%D0%BE.png", "image/png", files.png()),
            (f'filename="{encoded_word("pagină.html")}"', "text/html", files.HTML),
        ]
    )
    result = ingest_message(raw)
    assert result.outcome == "created"
    created = result.ticket.events.get(kind="created")
    names = [a["filename"] for a in created.payload["attachments"]]
    assert names == ["Raport ședință.pdf", "Фото.png"]
    assert created.payload["body"] == "Bună ziua, vedeți atașamentele."
    assert created.payload["refused_attachments"] == [
        {"filename": "pagină.html", "content_type": "text/html", "size": len(files.HTML)}
    ]
    stored = TicketAttachment.objects.get(filename="Фото.png")
    assert stored.file.read() == files.png()
    stored.file.close()
    assert result.ticket.subject == "Relee defecte — отчёт"


def test_an_inbound_reply_with_only_a_file_threads_as_a_reply(customer, support):
    ticket = ingest_message(mime_with_attachments([])).ticket
    from tickets.notifications.outbound import reply_address

    raw = mime_with_attachments([('filename="log.csv"', "text/csv", files.CSV)], text="")
    raw = raw.replace(b"To: support@chatportal.example", f"To: {reply_address(ticket)}".encode())
    result = ingest_message(raw)
    assert result.outcome == "replied"
    reply = ticket.events.get(kind="reply")
    assert reply.payload["body"] == ""
    assert reply.payload["attachments"][0]["content_type"] == "text/csv"


# --- chat -> ticket ------------------------------------------------------------------


def test_the_chats_files_carry_over_to_the_ticket(support, support_agent, customer, settings):
    visitor, _token = create_visitor(name="Maria")
    visitor.contact = customer
    visitor.save()
    conversation, _ = start_conversation(visitor, support)
    post_message(
        conversation.pk,
        conversation.public_id,
        author=visitor_author(visitor),
        client_id=uuid.uuid4(),
        body="Relay error, photo follows",
    )
    post_attachment(
        conversation,
        check_upload(io.BytesIO(files.png()), filename="eroare.png"),
        author=visitor_author(visitor),
    )
    post_attachment(
        conversation,
        check_upload(io.BytesIO(files.PDF), filename="intern.pdf"),
        author=agent_author(support_agent),
        internal=True,
    )
    ticket = convert_conversation(conversation, by=support_agent, reason="agent")
    carried = {a.filename: a for a in TicketAttachment.objects.filter(ticket=ticket)}
    assert set(carried) == {"eroare.png", "intern.pdf"}
    assert carried["intern.pdf"].internal and not carried["eroare.png"].internal
    chat_file = ChatAttachment.objects.get(filename="eroare.png")
    assert carried["eroare.png"].file.name == chat_file.file.name
    created = ticket.events.get(kind="created")
    assert [a["filename"] for a in created.payload["attachments"]] == ["eroare.png"]
    internal_transcript = ticket.events.get(kind="transcript", internal=True)
    assert [a["filename"] for a in internal_transcript.payload["attachments"]] == ["intern.pdf"]
    client = portal(customer)
    assert client.get(local(created.payload["attachments"][0]["url"])).status_code == 200
    assert (
        client.get(local(internal_transcript.payload["attachments"][0]["url"])).status_code == 404
    )
    page = client.get(f"/portal/tickets/{ticket.number}/").content.decode()
    assert "eroare.png" in page and "intern.pdf" not in page
    # Converting again (idempotent) carries nothing twice.
    convert_conversation(conversation, by=support_agent, reason="agent")
    assert TicketAttachment.objects.filter(ticket=ticket).count() == 2


def test_a_body_no_set_of_files_could_make_is_refused_before_parsing(
    ticket, customer, settings, support_agent
):
    settings.CHATPORTAL_ATTACHMENT_MAX_BYTES = (
        1000  # at most 10 files: 10,000 bytes + 64 KiB of framing
    )
    big = [SimpleUploadedFile("huge.txt", b"a" * 80_000)]
    response = portal(customer).post(
        f"/portal/tickets/{ticket.number}/reply/", {"body": "x", "attachments": big}
    )
    assert response.status_code == 413
    assert not ticket.events.filter(kind="reply").exists()
    api = api_upload(ticket, support_agent, ("huge.txt", b"a" * 80_000))
    assert api.status_code == 413
    assert api.json()["error"]["code"] == "too_large"
    within = portal(customer).post(
        f"/portal/tickets/{ticket.number}/reply/",
        {"body": "x", "attachments": [SimpleUploadedFile("ok.txt", b"a" * 1000)]},
    )
    assert within.status_code == 302


def test_the_console_session_uploads_with_its_csrf_token_only(ticket, support_agent, customer):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(support_agent)
    url = f"/api/v1/tickets/{ticket.number}/attachments"
    assert browser.post(url, {"file": SimpleUploadedFile("a.pdf", files.PDF)}).status_code == 403
    browser.get("/accounts/login/")
    csrf = browser.cookies["csrftoken"].value
    response = browser.post(
        url, {"file": SimpleUploadedFile("a.pdf", files.PDF)}, HTTP_X_CSRFTOKEN=csrf
    )
    assert response.status_code == 201, response.content
    # A customer's session is no way into the agents' endpoint.
    assert (
        portal(customer).post(url, {"file": SimpleUploadedFile("b.pdf", files.PDF)}).status_code
        == 403
    )
    assert Client().post(url, {"file": SimpleUploadedFile("c.pdf", files.PDF)}).status_code == 401
    assert TicketAttachment.objects.count() == 1


def test_an_automatic_conversion_carries_the_files_too(support, customer):
    from tickets.actions.conversion import convert_automatically

    visitor, _token = create_visitor(name="Maria")
    conversation, _ = start_conversation(visitor, support)
    post_message(
        conversation.pk,
        conversation.public_id,
        author=visitor_author(visitor),
        client_id=uuid.uuid4(),
        body="Nobody answers; here is the log",
    )
    post_attachment(
        conversation,
        check_upload(io.BytesIO(files.CSV), filename="jurnal.csv"),
        author=visitor_author(visitor),
    )
    close_conversation(conversation, by="visitor", author=visitor_author(visitor))
    assert convert_automatically(conversation.pk, reason="left") is not None
    ticket = Ticket.objects.get(conversation=conversation)
    created = ticket.events.get(kind="created")
    assert [a["filename"] for a in created.payload["attachments"]] == ["jurnal.csv"]
    assert TicketAttachment.objects.get(ticket=ticket).content_type == "text/csv"
