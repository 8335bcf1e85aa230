"""Deflection actions: suggest once while nobody answered, close as deflected, leave the queue."""

from __future__ import annotations

import uuid

import pytest

from chat import suggestions
from chat.actions import visitors
from chat.actions.conversations import check_visitor_message
from chat.actions.deflection import check_visitor_deflected, suggest_articles
from chat.errors import Conflict
from chat.models import Conversation, ConversationEvent
from chat.queue import queue_summary
from tests.chat.conftest import new_id
from tests.kb.test_deflection_socket import agent_replies


@pytest.fixture
def anonymous_visitor(db):
    return visitors.create_visitor(name="Ana")[0]


@pytest.fixture
def waiting(support, anonymous_visitor):
    appended = check_visitor_message(
        anonymous_visitor,
        conversation=None,
        department=support,
        client_id=uuid.UUID(new_id()),
        body="E42",
        department_online=True,
    )
    return Conversation.objects.get(pk=appended.conversation_pk)


def test_the_registry_is_filled_by_kb():
    from kb.deflection import count_deflection, suggest_for_chat

    assert suggest_for_chat in suggestions._sources
    assert count_deflection in suggestions._listeners


def test_it_suggests_once_and_remembers_what(waiting, e42_article):
    found = suggest_articles(waiting.pk, "E42", locale="en")
    assert [a["id"] for a in found] == [str(e42_article.public_id)]
    waiting.refresh_from_db()
    assert waiting.suggested_articles == [str(e42_article.public_id)]
    assert suggest_articles(waiting.pk, "E42", locale="en") == []


def test_it_suggests_nothing_once_an_agent_wrote(waiting, support_agent, e42_article):
    agent_replies(str(waiting.public_id), support_agent)
    assert suggest_articles(waiting.pk, "E42", locale="en") == []


def test_a_deflected_chat_leaves_the_queue_and_becomes_no_ticket(
    waiting, anonymous_visitor, e42_article, django_capture_on_commit_callbacks
):
    suggest_articles(waiting.pk, "E42", locale="en")
    assert queue_summary(waiting.department)["waiting"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        check_visitor_deflected(
            anonymous_visitor, str(waiting.public_id), str(e42_article.public_id)
        )
    waiting.refresh_from_db()
    assert waiting.state == Conversation.State.CLOSED
    assert waiting.assigned_agent_id is None
    assert queue_summary(waiting.department)["waiting"] == 0
    closed = waiting.events.get(kind=ConversationEvent.Kind.CLOSED)
    assert closed.payload == {"by": "visitor", "reason": "deflected"}
    assert not waiting.events.filter(kind=ConversationEvent.Kind.TICKET).exists()
    e42_article.refresh_from_db()
    assert e42_article.deflection_count == 1
    with pytest.raises(Conflict):
        check_visitor_deflected(
            anonymous_visitor, str(waiting.public_id), str(e42_article.public_id)
        )


def test_a_chat_an_agent_answered_is_not_deflected(
    waiting, anonymous_visitor, support_agent, e42_article
):
    suggest_articles(waiting.pk, "E42", locale="en")
    agent_replies(str(waiting.public_id), support_agent)
    with pytest.raises(Conflict):
        check_visitor_deflected(
            anonymous_visitor, str(waiting.public_id), str(e42_article.public_id)
        )
    e42_article.refresh_from_db()
    assert e42_article.deflection_count == 0
