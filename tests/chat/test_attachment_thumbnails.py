"""Chat image thumbnails: made at upload, in the event, served with the file's own access check."""

from __future__ import annotations

import io

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from PIL import Image

from chat.actions.visitors import create_visitor
from chat.gdpr import erase_chats
from chat.models import ChatAttachment, ConversationEvent
from queues.tokens import issue_agent_token
from tests import attachment_files as files
from tests.chat.test_attachments import _media, body_of, download, start_chat, upload
from tests.factories import make_contact

__all__ = ["_media"]


def photo(size=(1200, 900)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "green").save(out, format="JPEG")
    return out.getvalue()


@pytest.fixture
def chat(support):
    return start_chat(support)


def thumbnail_of(client: Client, answer: dict, token: str = ""):
    return download(client, answer["attachment"]["thumbnail_url"], token=token)


def test_an_image_gets_a_thumbnail_url_in_the_answer_and_the_event(chat):
    _visitor, token, conversation = chat
    answer = upload(Client(), conversation, photo(), "photo.jpg", token=token).json()
    attachment = answer["attachment"]
    assert attachment["thumbnail_url"] == attachment["url"] + "/thumbnail"
    assert attachment["thumbnail_url"].startswith("http://testserver/api/v1/conversations/")
    event = ConversationEvent.objects.get(conversation=conversation, seq=answer["seq"])
    assert event.payload["thumbnail_url"].endswith(
        attachment["url"].split("testserver")[1] + "/thumbnail"
    )
    stored = ChatAttachment.objects.get(public_id=attachment["id"])
    assert stored.thumbnail.name == stored.file.name + ".thumb"

    response = thumbnail_of(Client(), answer, token=token)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["Content-Disposition"] == 'inline; filename="photo-thumbnail.webp"'
    image = Image.open(io.BytesIO(body_of(response)))
    assert image.format == "WEBP" and image.size == (320, 240)


def test_files_that_are_not_images_or_are_refused_have_no_thumbnail(chat):
    _visitor, token, conversation = chat
    broken = bytearray(photo())
    broken = bytes(broken[: len(broken) // 3])  # a JPEG cut short: still a JPEG by its bytes
    for data, name in ((files.PDF, "manual.pdf"), (broken, "cut.jpg")):
        answer = upload(Client(), conversation, data, name, token=token).json()
        assert "thumbnail_url" not in answer["attachment"]
        event = ConversationEvent.objects.get(conversation=conversation, seq=answer["seq"])
        assert "thumbnail_url" not in event.payload
        response = download(Client(), answer["attachment"]["url"] + "/thumbnail", token=token)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_another_visitor_cannot_fetch_the_thumbnail(chat):
    _visitor, token, conversation = chat
    answer = upload(Client(), conversation, photo(), "photo.jpg", token=token).json()
    _other, other_token = create_visitor(name="Eve")
    assert thumbnail_of(Client(), answer, token=other_token).status_code == 404
    assert thumbnail_of(Client(), answer).status_code == 401


def test_an_agent_of_the_department_sees_it_by_session_and_another_department_does_not(
    chat, support_agent, sales_agent
):
    _visitor, token, conversation = chat
    answer = upload(Client(), conversation, photo(), "photo.jpg", token=token).json()
    browser = Client()
    browser.force_login(support_agent)
    assert thumbnail_of(browser, answer).status_code == 200
    stranger = Client()
    stranger.force_login(sales_agent)
    assert thumbnail_of(stranger, answer).status_code == 403
    assert thumbnail_of(Client(), answer, token=issue_agent_token(sales_agent)).status_code == 403


def test_an_internal_images_thumbnail_never_reaches_the_visitor(chat, support_agent):
    _visitor, token, conversation = chat
    answer = upload(
        Client(),
        conversation,
        photo(),
        "board.jpg",
        token=issue_agent_token(support_agent),
        internal="true",
    ).json()
    assert thumbnail_of(Client(), answer, token=token).status_code == 404
    assert thumbnail_of(Client(), answer, token=issue_agent_token(support_agent)).status_code == 200


def test_erasing_the_contact_removes_the_thumbnail_too(chat):
    customer = make_contact(email="maria@example.com")
    visitor, token, conversation = chat
    visitor.contact = customer
    visitor.save(update_fields=["contact"])
    conversation.contact = customer
    conversation.save(update_fields=["contact"])
    answer = upload(Client(), conversation, photo(), "photo.jpg", token=token).json()
    stored = ChatAttachment.objects.get(public_id=answer["attachment"]["id"])
    name = stored.thumbnail.name
    assert default_storage.exists(name)
    erase_chats(customer)
    stored.refresh_from_db()
    assert not stored.thumbnail and not default_storage.exists(name)
    assert thumbnail_of(Client(), answer, token=token).status_code in {404, 401}
