"""Attachments: IDOR on their links and content-type spoofing.

Covered elsewhere, not repeated here (tests/chat/test_attachments.py): another
visitor with the link (404) or uploading (404), a wrong download token, a
forged or missing visitor token, HTML named .png, SVG, an EXE named .jpg, a
PNG named .pdf, internal files hidden from the visitor, another department's
agent (403), session uploads without CSRF, a non-agent session.
"""

from __future__ import annotations

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signals import request_finished
from django.db import close_old_connections
from django.test import Client

from chat.actions.conversations import accept_conversation, post_message, start_conversation
from chat.actions.visitors import create_visitor
from chat.log import visitor_author
from chat.models import ChatAttachment
from queues.tokens import issue_agent_token
from tests import attachment_files as files

pytestmark = pytest.mark.django_db

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def start_chat(department, name: str = "Ana"):
    visitor, token = create_visitor(name=name)
    conversation, _ = start_conversation(visitor, department)
    post_message(
        conversation.pk,
        conversation.public_id,
        author=visitor_author(visitor),
        client_id=uuid.uuid4(),
        body="Hello",
    )
    return token, conversation


def upload(
    conversation, data: bytes, name: str, token: str, *, declared: str = "image/png", **fields
):
    return Client().post(
        f"/api/v1/conversations/{conversation.public_id}/attachments",
        {"file": SimpleUploadedFile(name, data, content_type=declared), **fields},
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def download_path(url: str) -> str:
    return "/" + url.split("://", 1)[-1].split("/", 1)[1]


def fetch(path: str, token: str = "", client: Client | None = None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    response = (client or Client()).get(path, **headers)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    # Close the file without the request_finished signal closing the test's
    # database connection (what the test client itself does around a request).
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
    return response, body


# --- IDOR ------------------------------------------------------------------------------


def test_a_download_token_only_opens_its_own_conversation(support):
    alice_token, alices = start_chat(support)
    mallory_token, mallorys = start_chat(support, "Mallory")
    url = upload(alices, files.PDF, "invoice.pdf", alice_token).json()["attachment"]["url"]
    download_token = url.rsplit("/", 1)[1]
    # Mallory pairs Alice's file token with her own conversation, which she may open.
    response, body = fetch(
        f"/api/v1/conversations/{mallorys.public_id}/attachments/{download_token}", mallory_token
    )
    assert response.status_code == 404 and body != files.PDF
    assert response["Content-Type"].startswith("application/json")


def test_an_agent_who_moved_the_chat_to_another_department_cannot_open_its_files(
    support, sales, support_agent
):
    token, conversation = start_chat(support)
    accept_conversation(conversation, support_agent)
    url = upload(conversation, files.PDF, "invoice.pdf", token).json()["attachment"]["url"]
    agent_token = issue_agent_token(support_agent)
    assert fetch(download_path(url), agent_token)[0].status_code == 200
    from chat.actions.transfer import transfer_to_department

    conversation.refresh_from_db()
    transfer_to_department(conversation, sales, by=support_agent)
    response, body = fetch(download_path(url), agent_token)
    assert response.status_code in (403, 404) and body != files.PDF


@pytest.mark.parametrize(
    "suffix", ["../../../../etc/passwd", "..%2F..%2Fsettings.py", "%00", "' OR 1=1 --", "A" * 65]
)
def test_hostile_download_tokens_are_not_found_as_json(support, suffix):
    token, conversation = start_chat(support)
    upload(conversation, files.PDF, "invoice.pdf", token)
    response, body = fetch(
        f"/api/v1/conversations/{conversation.public_id}/attachments/{suffix}", token
    )
    assert response.status_code in (
        400,
        404,
    )  # %00 is refused before routing (chatportal.input_guard)
    assert response["Content-Type"].startswith("application/json")
    assert b"root:" not in body and b"SECRET" not in body


# --- content-type spoofing ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "declared"),
    [
        (b"<html><script>alert(1)</script></html>", "notes.txt", "text/plain"),
        (b"\xef\xbb\xbf  <svg onload=alert(1)>", "logo.png", "image/png"),
        (b"<?xml version='1.0'?><x/>", "data.csv", "text/csv"),
        (b"<SCRIPT>alert(1)</SCRIPT>", "readme.md", "text/markdown"),
        (b"Hello\n<iframe src=javascript:alert(1)>", "a.txt", "text/plain"),
        ("<html>".encode("utf-16"), "page.txt", "text/plain"),
        (files.HTML, "page", "image/png"),
        (files.HTML_AFTER_TEXT, "log.txt", "text/plain"),
        (files.SHELL_SCRIPT, "run.txt", "text/plain"),
        (files.ELF, "photo.png", "image/png"),
        (files.DOCM, "contract.docx", DOCX_TYPE),
    ],
    ids=[
        "html as txt",
        "svg with bom as png",
        "xml as csv",
        "upper-case script as md",
        "iframe after text",
        "utf-16 html",
        "html without extension",
        "script after text",
        "shell script as txt",
        "elf as png",
        "macro docx",
    ],
)
def test_markup_scripts_and_programs_are_refused_whatever_they_claim(
    support, settings, data, name, declared
):
    token, conversation = start_chat(support)
    response = upload(conversation, data, name, token, declared=declared)
    assert response.status_code in (400, 415), response.content
    assert response.json()["error"]["code"] in ("unsupported_media_type", "invalid")
    assert not ChatAttachment.objects.exists()


def test_the_declared_content_type_is_never_what_is_served(support):
    token, conversation = start_chat(support)
    answer = upload(conversation, files.png(), "shot.png", token, declared="text/html").json()
    assert answer["attachment"]["content_type"] == "image/png"
    response, _ = fetch(download_path(answer["attachment"]["url"]), token)
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_gif_polyglot_is_served_as_an_image_that_cannot_run(support):
    polyglot = files.GIF + b"/*<script>alert(document.domain)</script>*/"
    token, conversation = start_chat(support)
    answer = upload(conversation, polyglot, "cat.gif", token, declared="text/html").json()
    response, body = fetch(download_path(answer["attachment"]["url"]), token)
    assert response["Content-Type"] == "image/gif"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert "default-src 'none'" in response["Content-Security-Policy"]


def test_markup_beyond_the_sniffed_bytes_is_served_as_a_download_that_cannot_run(support):
    late_markup = b"log line\n" * 1000 + b"<script>alert(1)</script>"
    token, conversation = start_chat(support)
    answer = upload(conversation, late_markup, "server.log", token, declared="text/html").json()
    response, _ = fetch(download_path(answer["attachment"]["url"]), token)
    assert response["Content-Type"].startswith("text/plain")
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("../../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\windows\\win.ini.txt", "win.ini.txt"),
        ("report.txt\r\nContent-Type: text/html", None),
        ('x";filename="evil.html.txt', None),
        ("\u202etxt.exe", None),
        ("<img src=x onerror=alert(1)>.txt", None),
    ],
)
def test_hostile_file_names_never_reach_the_disk_or_the_headers(support, settings, name, shown):
    token, conversation = start_chat(support)
    response = upload(conversation, files.TEXT, name, token, declared="text/plain")
    if response.status_code != 201:
        # Refusing the name is fine too; it must be a clear 4xx.
        assert 400 <= response.status_code < 500 and response.json()["error"]["code"]
        return
    attachment = response.json()["attachment"]
    if shown is not None:
        assert attachment["filename"] == shown
    for bad in ("/", "\\", "\r", "\n", '"', "<", ">", "\u202e"):
        assert bad not in attachment["filename"], attachment["filename"]
    stored = [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()]
    assert len(stored) == 1 and name not in str(stored[0]) and "passwd" not in str(stored[0])
    served, _ = fetch(download_path(attachment["url"]), token)
    disposition = served["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    assert served["Content-Type"].startswith("text/plain")
