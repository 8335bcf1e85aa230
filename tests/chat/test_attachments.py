"""Chat attachments over HTTP: upload and download per role, IDOR refusals, live delivery."""

from __future__ import annotations

import uuid

import pytest
from channels.db import database_sync_to_async
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from chat.actions.conversations import (
    accept_conversation,
    close_conversation,
    post_message,
    start_conversation,
)
from chat.actions.visitors import create_visitor
from chat.log import visitor_author
from chat.models import ChatAttachment, ConversationEvent
from queues.tokens import issue_agent_token
from tests import attachment_files as files
from tests.chat.conftest import open_agent, open_widget, say
from tests.factories import make_agent


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # Upload windows are counted in the cache by visitor pk, which tests reuse.
    cache.clear()


def start_chat(department, body: str = "Hello"):
    visitor, token = create_visitor(name="Ana")
    conversation, _ = start_conversation(visitor, department)
    post_message(
        conversation.pk,
        conversation.public_id,
        author=visitor_author(visitor),
        client_id=uuid.uuid4(),
        body=body,
    )
    return visitor, token, conversation


def upload_path(conversation) -> str:
    return f"/api/v1/conversations/{conversation.public_id}/attachments"


def upload(
    client: Client,
    conversation,
    data: bytes = b"",
    name: str = "screen.png",
    token: str = "",
    **fields,
):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    payload = {
        "file": SimpleUploadedFile(name, data or files.png(), content_type="image/png"),
        **fields,
    }
    return client.post(upload_path(conversation), payload, **headers)


def download(client: Client, url: str, token: str = ""):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    path = url.split("://", 1)[-1].split("/", 1)[1]
    return client.get("/" + path, **headers)


def body_of(response) -> bytes:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    response.close()
    return content


@pytest.fixture
def chat(support):
    return start_chat(support)


@pytest.fixture
def assigned_chat(chat, support_agent):
    visitor, token, conversation = chat
    accept_conversation(conversation, support_agent)
    return visitor, token, conversation


# --- visitors ------------------------------------------------------------------------


def test_a_visitor_uploads_with_the_bearer_token_and_an_event_is_appended(chat, published_events):
    _visitor, token, conversation = chat
    response = upload(Client(), conversation, files.png(), "écran ședință.png", token=token)
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["conversation"] == str(conversation.public_id)
    attachment = answer["attachment"]
    assert attachment["filename"] == "écran ședință.png"
    assert attachment["content_type"] == "image/png"
    assert attachment["size"] == len(files.png())
    event = ConversationEvent.objects.get(conversation=conversation, seq=answer["seq"])
    assert event.kind == "attachment" and event.internal is False
    # The answer links to the server that answered; the stored event to the same file.
    assert attachment["url"].startswith("http://testserver/api/v1/conversations/")
    assert event.payload["url"].endswith(attachment["url"].removeprefix("http://testserver"))
    assert event.payload["author"] == {"role": "visitor", "name": "Ana"}
    stored = ChatAttachment.objects.get(public_id=attachment["id"])
    assert "ședință" not in stored.file.name and stored.file.name.startswith("attachments/chat/")
    groups = [group for group, _event in published_events]
    assert f"conv.{conversation.public_id.hex}" in groups


def test_a_visitor_may_send_the_token_as_a_form_field(chat):
    _visitor, token, conversation = chat
    response = Client().post(
        upload_path(conversation),
        {"file": SimpleUploadedFile("invoice.pdf", files.PDF), "token": token},
    )
    assert response.status_code == 201, response.content


def test_the_visitor_downloads_its_own_file_with_safe_headers(chat):
    _visitor, token, conversation = chat
    url = upload(Client(), conversation, files.PDF, "factură.pdf", token=token).json()[
        "attachment"
    ]["url"]
    response = download(Client(), url, token=token)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert body_of(response) == files.PDF


def test_another_visitor_cannot_download_even_with_the_link(chat, support):
    _visitor, token, conversation = chat
    url = upload(Client(), conversation, token=token).json()["attachment"]["url"]
    _other, other_token, _other_conversation = start_chat(support)
    assert download(Client(), url, token=other_token).status_code == 404
    assert download(Client(), url).status_code == 401


def test_another_visitor_cannot_upload_into_the_conversation(chat, support):
    _visitor, _token, conversation = chat
    _other, other_token, _ = start_chat(support)
    response = upload(Client(), conversation, token=other_token)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert not ChatAttachment.objects.exists()


def test_a_wrong_download_token_is_not_found(chat):
    _visitor, token, conversation = chat
    url = upload(Client(), conversation, token=token).json()["attachment"]["url"]
    assert download(Client(), url[:-4] + "AAAA", token=token).status_code == 404


def test_a_forged_or_missing_token_is_unauthorized(chat):
    _visitor, _token, conversation = chat
    assert upload(Client(), conversation, token="vt_" + "x" * 43).status_code == 401
    assert upload(Client(), conversation).status_code == 401


@pytest.mark.parametrize(
    ("data", "name", "status"),
    [
        (files.HTML, "cat.png", 415),
        (files.SVG, "logo.svg", 415),
        (files.EXE, "photo.jpg", 415),
        (files.png(), "report.pdf", 415),
    ],
)
def test_refused_content_answers_a_clear_error_and_stores_nothing(
    chat, data, name, status, settings
):
    _visitor, token, conversation = chat
    response = upload(Client(), conversation, data, name, token=token)
    assert response.status_code == status
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert not ChatAttachment.objects.exists()
    stored = (
        [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()]
        if settings.MEDIA_ROOT.exists()
        else []
    )
    assert stored == []


def test_an_oversized_file_is_refused_with_413(chat, settings):
    settings.CHATPORTAL_ATTACHMENT_MAX_BYTES = 1000
    _visitor, token, conversation = chat
    response = upload(Client(), conversation, b"a" * 1001, "big.txt", token=token)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_an_empty_file_is_refused(chat):
    _visitor, token, conversation = chat
    response = Client().post(
        upload_path(conversation),
        {"file": SimpleUploadedFile("empty.txt", b"")},
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 400


def test_a_closed_conversation_takes_no_files(chat):
    _visitor, token, conversation = chat
    close_conversation(conversation, by="visitor")
    response = upload(Client(), conversation, token=token)
    assert response.status_code == 409
    assert not ChatAttachment.objects.exists()


def test_visitors_cannot_send_internal_files(chat):
    _visitor, token, conversation = chat
    assert upload(Client(), conversation, token=token, internal="true").status_code == 403


def test_visitor_uploads_are_rate_limited(chat, settings):
    settings.CHATPORTAL_VISITOR_UPLOADS_PER_10_MIN = 2
    _visitor, token, conversation = chat
    assert upload(Client(), conversation, token=token).status_code == 201
    assert upload(Client(), conversation, token=token).status_code == 201
    third = upload(Client(), conversation, token=token)
    assert third.status_code == 429
    assert third.json()["error"]["retry_after_s"] >= 1


def test_the_widget_origin_gets_cors_without_credentials(chat, settings):
    settings.CHATPORTAL_WIDGET_ORIGINS = ["https://shop.example.com"]
    _visitor, token, conversation = chat
    preflight = Client().options(upload_path(conversation), HTTP_ORIGIN="https://shop.example.com")
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert "Authorization" in preflight["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in preflight
    other = Client().options(upload_path(conversation), HTTP_ORIGIN="https://evil.example.net")
    assert "Access-Control-Allow-Origin" not in other
    response = Client().post(
        upload_path(conversation),
        {"file": SimpleUploadedFile("a.png", files.png())},
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_ORIGIN="https://shop.example.com",
    )
    assert response["Access-Control-Allow-Origin"] == "https://shop.example.com"


# --- agents --------------------------------------------------------------------------


def test_the_assigned_agent_uploads_with_its_api_token_and_the_visitor_downloads(
    assigned_chat, support_agent
):
    _visitor, token, conversation = assigned_chat
    response = upload(
        Client(), conversation, files.DOCX, "manual.docx", token=issue_agent_token(support_agent)
    )
    assert response.status_code == 201, response.content
    event = ConversationEvent.objects.get(conversation=conversation, seq=response.json()["seq"])
    assert event.payload["author"] == {"role": "agent", "name": "Boris"}
    url = response.json()["attachment"]["url"]
    assert body_of(download(Client(), url, token=token)) == files.DOCX


def test_a_public_file_needs_the_conversation_accepted(chat, support_agent):
    _visitor, _token, conversation = chat
    response = upload(Client(), conversation, token=issue_agent_token(support_agent))
    assert response.status_code == 403
    assert not ChatAttachment.objects.exists()


def test_an_internal_file_never_reaches_the_visitor(chat, support_agent):
    _visitor, token, conversation = chat
    response = upload(
        Client(),
        conversation,
        files.PDF,
        "contract.pdf",
        token=issue_agent_token(support_agent),
        internal="true",
    )
    assert response.status_code == 201, response.content
    url = response.json()["attachment"]["url"]
    assert ConversationEvent.objects.get(
        conversation=conversation, seq=response.json()["seq"]
    ).internal
    assert download(Client(), url, token=token).status_code == 404
    assert download(Client(), url, token=issue_agent_token(support_agent)).status_code == 200


def test_an_agent_with_a_session_downloads_by_plain_link(assigned_chat, support_agent):
    _visitor, token, conversation = assigned_chat
    url = upload(Client(), conversation, token=token).json()["attachment"]["url"]
    browser = Client()
    browser.force_login(support_agent)
    response = download(browser, url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("inline;")  # a PNG
    assert body_of(response) == files.png()


def test_an_agent_of_another_department_is_forbidden(chat, sales_agent):
    _visitor, token, conversation = chat
    url = upload(Client(), conversation, token=token).json()["attachment"]["url"]
    browser = Client()
    browser.force_login(sales_agent)
    assert download(browser, url).status_code == 403
    assert download(Client(), url, token=issue_agent_token(sales_agent)).status_code == 403
    assert (
        upload(
            Client(), conversation, token=issue_agent_token(sales_agent), internal="true"
        ).status_code
        == 403
    )


def test_a_session_upload_needs_the_csrf_token(assigned_chat, support_agent):
    _visitor, _token, conversation = assigned_chat
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(support_agent)
    assert upload(browser, conversation).status_code == 403
    browser.get("/accounts/login/")  # sets the CSRF cookie
    csrf = browser.cookies["csrftoken"].value
    response = browser.post(
        upload_path(conversation),
        {"file": SimpleUploadedFile("a.png", files.png())},
        HTTP_X_CSRFTOKEN=csrf,
    )
    assert response.status_code == 201, response.content


def test_a_signed_in_customer_who_is_not_an_agent_gets_nothing(chat, django_user_model):
    _visitor, token, conversation = chat
    url = upload(Client(), conversation, token=token).json()["attachment"]["url"]
    browser = Client()
    browser.force_login(django_user_model.objects.create_user("mallory", password="x-pass-123"))
    assert download(browser, url).status_code == 401


# --- live delivery -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_the_attachment_event_reaches_the_visitor_and_the_agent_sockets(
    support, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    agent_user = await database_sync_to_async(make_agent)("boris", [support], first_name="Boris")
    visitor, welcome = await open_widget(profile={"name": "Ana"})
    ack = await say(visitor, "Here is a photo of the error")
    conversation = ack["conversation"]
    agent, _ = await open_agent(agent_user)
    await agent.send({"type": "accept", "conversation": conversation})
    await agent.expect("event", kind="assigned")
    await visitor.expect("event", kind="assigned")

    def post(data, name, token, **fields):
        return Client().post(
            f"/api/v1/conversations/{conversation}/attachments",
            {"file": SimpleUploadedFile(name, data), **fields},
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )

    sent = await database_sync_to_async(post)(files.png(), "error.png", welcome["token"])
    assert sent.status_code == 201
    seq = sent.json()["seq"]
    for socket in (visitor, agent):
        event = await socket.expect("event", seq=seq)
        assert event["kind"] == "attachment"
        assert event["filename"] == "error.png"
        assert event["content_type"] == "image/png"
        # The same file, on the server each client reached (sockets: Host 127.0.0.1).
        path = sent.json()["attachment"]["url"].removeprefix("http://testserver")
        assert event["url"] == f"http://127.0.0.1{path}"
        assert event["author"]["role"] == "visitor"

    agent_token = await database_sync_to_async(issue_agent_token)(agent_user)
    note = await database_sync_to_async(post)(
        files.PDF, "internal.pdf", agent_token, internal="true"
    )
    assert note.status_code == 201
    internal_event = await agent.expect("event", seq=note.json()["seq"])
    assert internal_event["internal"] is True and internal_event["kind"] == "attachment"
    reply = await say(agent, "Thanks, looking", conversation=conversation)
    seen = await visitor.expect("event", seq=reply["seq"])
    assert seen["kind"] == "message"
    assert all("internal.pdf" not in str(frame) for frame in visitor.received)
    await agent.close()
    await visitor.close()


def test_a_file_whose_bytes_are_gone_answers_not_found(chat):
    _visitor, token, conversation = chat
    url = upload(Client(), conversation, token=token).json()["attachment"]["url"]
    stored = ChatAttachment.objects.get()
    stored.file.delete(save=False)
    stored.save(update_fields=["file"])  # what an erasure leaves: the row, no bytes
    response = download(Client(), url, token=token)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
