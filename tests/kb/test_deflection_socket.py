"""Deflection on the widget socket: suggestions after the first message, 'This solved my problem'."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from chat.actions.conversations import accept_conversation, post_message
from chat.log import agent_author
from chat.models import Conversation, ConversationEvent
from kb.models import Article
from tests.chat.conftest import new_id, open_widget, say
from tests.kb.conftest import make_article

pytestmark = pytest.mark.django_db(transaction=True)


async def test_the_first_message_brings_matching_articles_after_its_ack(support, e42_article):
    socket, welcome = await open_widget(locale="en")
    assert welcome["suggestions"] == []
    ack = await say(socket, "My RZA-500 shows E42 since this morning")
    frame = await socket.expect("suggestions")
    assert frame["conversation"] == ack["conversation"]
    assert frame["articles"] == [
        {
            "id": str(e42_article.public_id),
            "title": e42_article.title,
            "url": f"/kb/embed/{e42_article.public_id}/",
            "snippet": frame["articles"][0]["snippet"],
        }
    ]
    assert "E42" in frame["articles"][0]["snippet"]
    assert "<" not in frame["articles"][0]["snippet"]
    await e42_article.arefresh_from_db()
    assert e42_article.suggested_count == 1
    await socket.close()


async def test_suggestions_are_in_the_visitors_locale(support, e42_article):
    romanian = await database_sync_to_async(make_article)(
        "Eroarea E42 la RZA-500", "Țineți apăsat *Reset* zece secunde.", locale="ro"
    )
    socket, _ = await open_widget(locale="ro-RO")
    await say(socket, "Am eroarea E42")
    frame = await socket.expect("suggestions")
    assert [a["id"] for a in frame["articles"]] == [str(romanian.public_id)]
    await socket.close()


async def test_nothing_is_sent_when_no_article_matches(support, e42_article):
    socket, _ = await open_widget(locale="en")
    await say(socket, "Hello there")
    assert await socket.silent(ignore=("queue", "presence", "event"))
    assert not [f for f in socket.received if f["type"] == "suggestions"]
    await socket.close()


async def test_internal_and_draft_articles_are_never_suggested(support):
    await database_sync_to_async(make_article)(
        "E42 internal known solution", "E42 calibration table", audience="internal"
    )
    await database_sync_to_async(make_article)("E42 draft", "E42 draft text", status="draft")
    socket, _ = await open_widget(locale="en")
    await say(socket, "E42")
    assert await socket.silent(ignore=("queue", "presence", "event"))
    assert not [f for f in socket.received if f["type"] == "suggestions"]
    await socket.close()


def agent_replies(conversation_id: str, agent) -> None:
    conversation = Conversation.objects.get(public_id=conversation_id)
    accept_conversation(conversation, agent)
    post_message(
        conversation.pk,
        conversation.public_id,
        author=agent_author(agent),
        client_id=new_id(),
        body="Hello, how can I help?",
        assigned_to=agent.pk,
    )


async def test_no_suggestions_once_an_agent_has_replied(support, support_agent, e42_article):
    socket, _ = await open_widget(locale="en")
    ack = await say(socket, "Hello")
    await database_sync_to_async(agent_replies)(ack["conversation"], support_agent)
    await socket.expect("event", kind="message", seq=4)
    await say(socket, "My RZA-500 shows E42")
    assert await socket.silent(ignore=("queue", "presence", "event"))
    assert not [f for f in socket.received if f["type"] == "suggestions"]
    await socket.close()


async def test_solved_closes_the_chat_as_deflected_and_counts_it(support, e42_article):
    socket, _ = await open_widget(locale="en")
    ack = await say(socket, "error E42")
    await socket.expect("suggestions")
    await socket.send(
        {
            "type": "deflected",
            "conversation": ack["conversation"],
            "article": str(e42_article.public_id),
        }
    )
    done = await socket.expect("ack", conversation=ack["conversation"])
    closed = await socket.expect("event", seq=done["seq"])
    assert closed["kind"] == "closed"
    conversation = await Conversation.objects.aget(public_id=ack["conversation"])
    assert conversation.state == Conversation.State.CLOSED
    assert conversation.deflected_article == e42_article.public_id
    await e42_article.arefresh_from_db()
    assert e42_article.deflection_count == 1
    # Countable for KPIs, and it never became a ticket.
    assert await Conversation.objects.exclude(deflected_article=None).acount() == 1
    kinds = [
        e["kind"]
        async for e in ConversationEvent.objects.filter(conversation=conversation).values("kind")
    ]
    assert "ticket" not in kinds and "assigned" not in kinds
    await socket.close()


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "deflected", "conversation": "not-a-uuid", "article": "x"},
        {"type": "deflected", "article": "6f1c2b3a-9d4e-4f50-8a7b-1c2d3e4f5a6b"},
        {"type": "deflected", "conversation": "6f1c2b3a-9d4e-4f50-8a7b-1c2d3e4f5a6b"},
    ],
)
async def test_malformed_deflected_frames_are_refused_and_the_socket_lives(support, frame):
    socket, _ = await open_widget()
    await socket.send(frame)
    error = await socket.expect("error")
    assert error["code"] == "invalid"
    await socket.send({"type": "ping"})
    await socket.expect("pong")
    await socket.close()


async def test_an_article_not_suggested_here_cannot_close_the_chat(support, e42_article):
    other = await database_sync_to_async(make_article)("Warranty terms", "Two years.")
    socket, _ = await open_widget(locale="en")
    ack = await say(socket, "E42 again")
    await socket.expect("suggestions")
    for article in (other.public_id, Article().public_id):
        await socket.send(
            {"type": "deflected", "conversation": ack["conversation"], "article": str(article)}
        )
        error = await socket.expect("error")
        assert error["code"] == "not_found"
    # Someone else's conversation is not found either.
    stranger, _ = await open_widget()
    await stranger.send(
        {
            "type": "deflected",
            "conversation": ack["conversation"],
            "article": str(e42_article.public_id),
        }
    )
    assert (await stranger.expect("error"))["code"] == "not_found"
    await socket.send({"type": "ping"})
    await socket.expect("pong")
    conversation = await Conversation.objects.aget(public_id=ack["conversation"])
    assert conversation.state == Conversation.State.QUEUED
    await socket.close()
    await stranger.close()
