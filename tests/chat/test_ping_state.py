"""A widget ping's database read: one light query, however many conversations the tab follows."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.actions import conversations, visitors
from chat.log import visitor_author
from chat.models import Conversation
from chat.queries import visitor_ping_state

pytestmark = pytest.mark.django_db


def chat(visitor, department, body="Hello"):
    conversation = conversations.start_conversation(visitor, department)[0]
    conversations.post_message(
        conversation.pk,
        conversation.public_id,
        author=visitor_author(visitor),
        client_id=uuid.uuid4(),
        body=body,
    )
    conversation.refresh_from_db()
    return conversation


def test_it_finds_the_open_conversation_and_the_followed_seqs_in_one_query(support):
    visitor = visitors.create_visitor(name="Ana")[0]
    earlier = chat(visitor, support)
    conversations.close_conversation(earlier, by="visitor")
    earlier.refresh_from_db()
    current = chat(visitor, support, "Again")
    other = chat(visitors.create_visitor(name="Bo")[0], support)

    with CaptureQueriesContext(connection) as queries:
        found, seqs = visitor_ping_state(visitor, [earlier.pk, current.pk])
    assert len(queries) == 1
    assert found == (current.pk, current.public_id, current.last_seq)
    assert seqs == {earlier.pk: earlier.last_seq, current.pk: current.last_seq}
    assert other.pk not in seqs


def test_a_tab_without_a_chat_gets_nothing(support):
    visitor = visitors.create_visitor(name="Ana")[0]
    chat(visitors.create_visitor(name="Bo")[0], support)
    assert visitor_ping_state(visitor, []) == (None, {})
    assert Conversation.objects.count() == 1
