"""The widget's "Email me a transcript" checkbox: a field of the hello's profile."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from chat.models import Visitor
from tests.chat.conftest import open_widget, say
from tickets.models import OutboundEmail

pytestmark = pytest.mark.django_db(transaction=True)


def _transcripts():
    return list(
        OutboundEmail.objects.filter(kind=OutboundEmail.Kind.TRANSCRIPT).values_list(
            "to", "text_body"
        )
    )


async def test_a_visitor_who_ticks_the_box_gets_the_transcript_when_they_end_the_chat(support):
    socket, welcome = await open_widget(
        profile={"name": "Ana", "email": "ana@example.com", "transcript": True}
    )
    ack = await say(socket, "Is the RZA-500 in stock?")
    await socket.send({"type": "close", "conversation": ack["conversation"]})
    await socket.expect("event", kind="closed")
    [(to, text)] = await database_sync_to_async(_transcripts)()
    assert to == ["ana@example.com"]
    assert "Is the RZA-500 in stock?" in text
    await socket.close()


async def test_without_the_box_no_transcript(support):
    socket, _ = await open_widget(profile={"email": "ana@example.com", "transcript": False})
    ack = await say(socket, "hello")
    await socket.send({"type": "close", "conversation": ack["conversation"]})
    await socket.expect("event", kind="closed")
    assert await database_sync_to_async(_transcripts)() == []
    await socket.close()


async def test_unticking_the_box_takes_the_request_back(support):
    socket, welcome = await open_widget(profile={"email": "ana@example.com", "transcript": True})
    await socket.close()
    token = welcome["token"]
    socket, _ = await open_widget(token=token, profile={"transcript": False})
    visitor = await database_sync_to_async(Visitor.objects.get)()
    assert visitor.transcript_requested is False
    await socket.close()


async def test_a_transcript_field_that_is_not_a_boolean_is_invalid(support):
    from tests.chat.conftest import Socket

    socket = Socket("/ws/widget/")
    await socket.connect()
    await socket.send({"type": "hello", "department": "support", "profile": {"transcript": "yes"}})
    error = await socket.expect("error")
    assert error["code"] == "invalid"
    assert error["detail"] == "profile.transcript must be true or false"
    visitors = await database_sync_to_async(Visitor.objects.count)()
    assert visitors == 0
    await socket.close()
