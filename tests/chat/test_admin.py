"""Conversations, their events and files are for reading in the admin: actions write them."""

from __future__ import annotations

import io
import uuid

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from chat.actions.attachments import post_attachment
from chat.actions.conversations import post_message, start_conversation
from chat.actions.visitors import create_visitor
from chat.log import visitor_author
from chat.models import ChatAttachment, Conversation, ConversationEvent
from foundation.uploads import check_upload
from tests import attachment_files as files
from tests.factories import make_department

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    visitor, _token = create_visitor(name="Ana")
    conversation, _ = start_conversation(visitor, make_department("support"))
    author = visitor_author(visitor)
    post_message(
        conversation.pk,
        conversation.public_id,
        author=author,
        client_id=uuid.uuid4(),
        body="My relay clicks twice",
    )
    upload = check_upload(io.BytesIO(files.png()), filename="relay.png")
    post_attachment(conversation, upload, author=author)
    return conversation


@pytest.mark.parametrize("model", [Conversation, ChatAttachment])
def test_a_superuser_may_view_but_not_add_change_or_delete(operator, model):
    request = RequestFactory().get("/admin/")
    request.user = operator
    model_admin = admin.site.get_model_admin(model)
    assert model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


def test_the_conversation_page_shows_its_events_and_files_read_only(admin_client, conversation):
    response = admin_client.get(reverse("admin:chat_conversation_change", args=[conversation.pk]))
    assert response.status_code == 200
    assert "My relay clicks twice" in response.content.decode()
    assert "relay.png" in response.content.decode()
    inlines = {inline.formset.model: inline for inline in response.context["inline_admin_formsets"]}
    assert set(inlines) == {ConversationEvent, ChatAttachment}
    for inline in inlines.values():
        assert not (inline.has_add_permission or inline.has_change_permission)
        assert not inline.has_delete_permission


def test_posting_the_change_or_delete_form_is_refused(admin_client, conversation):
    change = reverse("admin:chat_conversation_change", args=[conversation.pk])
    delete = reverse("admin:chat_conversation_delete", args=[conversation.pk])
    assert admin_client.post(change, {"state": "closed"}).status_code == 403
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    conversation.refresh_from_db()
    assert conversation.state == "queued"
    assert conversation.events.count() == 3
