"""Ticket attachments: uploads into someone else's ticket, spoofed types through the
portal forms, hostile file names on every page and e-mail that lists them.

Covered elsewhere, not repeated here (tests/tickets/test_attachments.py):
another customer's download (404), another department's agent (404), a
file served through another ticket, internal files hidden from the customer,
not signed in (sent to the sign-in), unknown ids, refused files over the API,
an EXE named .pdf through the portal, the console session's CSRF check.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from queues.tokens import issue_agent_token
from tests import attachment_files as files
from tests.security.conftest import XSS_PAYLOADS, assert_escaped, open_ticket, signed_in
from tickets.models import TicketAttachment
from tickets.notifications.outbound import build_notification

pytestmark = pytest.mark.django_db

EVIL_NAME = "".join(XSS_PAYLOADS) + ".pdf"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def stored_files(settings) -> list:
    media = settings.MEDIA_ROOT
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def test_a_customer_cannot_upload_into_someone_elses_ticket(
    customer, other_customer, support, settings
):
    ticket = open_ticket(customer[1], department=support)
    response = signed_in(other_customer[0]).post(
        f"/portal/tickets/{ticket.number}/reply/",
        {"body": "planted", "attachments": [SimpleUploadedFile("planted.pdf", files.PDF)]},
    )
    assert response.status_code == 404
    assert not TicketAttachment.objects.exists() and stored_files(settings) == []
    assert ticket.events.count() == 1


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (files.SVG, "photo.png"),
        (b"\xef\xbb\xbf <html><script>alert(1)</script>", "notes.txt"),
        (files.HTML_AFTER_TEXT, "log.txt"),
        (files.SHELL_SCRIPT, "install.txt"),
        (files.ELF, "scan.jpg"),
        (files.DOCM, "order.docx"),
        (files.png(), "invoice.pdf"),
    ],
    ids=[
        "svg as png",
        "html with bom as txt",
        "script after text",
        "shell script",
        "elf as jpg",
        "macro docx",
        "png as pdf",
    ],
)
@pytest.mark.parametrize("form", ["reply", "new ticket"])
def test_spoofed_files_are_refused_by_the_portal_forms(
    customer, support, settings, data, name, form
):
    ticket = open_ticket(customer[1], department=support)
    client = signed_in(customer[0])
    upload = SimpleUploadedFile(name, data, content_type="image/png")
    if form == "reply":
        response = client.post(
            f"/portal/tickets/{ticket.number}/reply/", {"body": "x", "attachments": [upload]}
        )
    else:
        response = client.post(
            "/portal/tickets/new/",
            {"subject": "Spoof", "department": "support", "body": "x", "attachments": [upload]},
        )
    assert 400 <= response.status_code < 500
    assert not TicketAttachment.objects.exists() and stored_files(settings) == []


def test_a_hostile_file_name_is_text_on_the_portal_the_console_and_in_the_email(
    customer, support, support_agent
):
    ticket = open_ticket(customer[1], department=support)
    response = signed_in(customer[0]).post(
        f"/portal/tickets/{ticket.number}/reply/",
        {"body": "see file", "attachments": [SimpleUploadedFile(EVIL_NAME, files.PDF)]},
    )
    assert response.status_code == 302
    agent_reply = signed_in(support_agent)
    api = {"HTTP_AUTHORIZATION": f"Bearer {issue_agent_token(support_agent)}"}
    from django.test import Client

    uploaded = Client().post(
        f"/api/v1/tickets/{ticket.number}/attachments",
        {"file": [SimpleUploadedFile(EVIL_NAME, files.PDF)], "body": "ours"},
        **api,
    )
    assert uploaded.status_code == 201, uploaded.content
    pages = {
        "portal ticket": signed_in(customer[0]).get(f"/portal/tickets/{ticket.number}/"),
        "console ticket": agent_reply.get(f"/console/tickets/{ticket.number}/"),
    }
    for where, page in pages.items():
        assert page.status_code == 200
        assert_escaped(page.content.decode(), where=where)
    event = ticket.events.filter(kind="reply", author_role="agent").latest("seq")
    message = build_notification(ticket, event)
    assert message is not None
    assert_escaped(message.alternatives[0][0], where="notification with a file")
    for attachment in TicketAttachment.objects.all():
        assert "<" not in attachment.filename and '"' not in attachment.filename
