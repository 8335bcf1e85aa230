from __future__ import annotations

import json

import pytest

from tests.chat.conftest import Socket, new_id, open_widget, say

# A fixed id: it is part of the test ids, which every pytest-xdist worker must collect alike.
SOME_ID = "6f1c2b3a-9d4e-4f50-8a7b-1c2d3e4f5a6b"

pytestmark = pytest.mark.django_db(transaction=True)


async def test_it_welcomes_a_new_visitor_with_a_token_and_no_conversation(support):
    socket, welcome = await open_widget(profile={"name": "Ana"})
    assert welcome["token"].startswith("vt_")
    assert welcome["visitor"]["name"] == "Ana"
    assert welcome["department"]["slug"] == "support"
    assert isinstance(welcome["department"]["online"], bool)
    assert welcome["conversation"] is None
    assert welcome["suggestions"] == []
    await socket.close()


async def test_it_starts_a_conversation_on_the_first_message_and_acks_after_commit(support):
    socket, _ = await open_widget()
    ack = await say(socket, "Hello, my relay is blinking")
    assert ack["seq"] == 2
    queued = await socket.expect("event", seq=1)
    assert queued["kind"] == "queued" and queued["department"] == "support"
    message = await socket.expect("event", seq=2)
    assert message["kind"] == "message"
    assert message["body"] == "Hello, my relay is blinking"
    assert message["author"] == {"role": "visitor", "name": None}
    assert message["client_id"] == ack["client_id"]
    assert message["conversation"] == ack["conversation"]
    assert "internal" not in message
    await socket.close()


async def test_it_acknowledges_a_retried_client_id_with_the_original_seq(support):
    socket, _ = await open_widget()
    client_id = new_id()
    await socket.send({"type": "message", "client_id": client_id, "body": "once"})
    first = await socket.expect("ack")
    await socket.send({"type": "message", "client_id": client_id, "body": "once"})
    second = await socket.expect("ack")
    assert second["seq"] == first["seq"]
    assert [e["seq"] for e in socket.events()] == [1, 2]
    assert await socket.silent()
    await socket.close()


async def test_a_token_brings_back_the_same_visitor_and_open_conversation(support):
    first, welcome = await open_widget()
    ack = await say(first, "hi")
    await first.close()
    again, rewelcome = await open_widget(token=welcome["token"])
    assert rewelcome["visitor"]["id"] == welcome["visitor"]["id"]
    assert rewelcome["conversation"] == {
        "id": ack["conversation"],
        "state": "queued",
        "last_seq": 2,
        "agent": None,
    }
    await again.close()


async def test_a_forged_token_closes_with_4001_before_any_data(support):
    socket = Socket("/ws/widget/")
    await socket.connect()
    await socket.send({"type": "hello", "token": "vt_" + "A" * 43})
    assert await socket.closed_with() == 4001
    assert socket.received == []


async def test_a_malformed_token_closes_with_4001(support):
    socket = Socket("/ws/widget/")
    await socket.connect()
    await socket.send({"type": "hello", "token": "not-a-token"})
    assert await socket.closed_with() == 4001


async def test_a_frame_before_hello_closes_with_4001(support):
    socket = Socket("/ws/widget/")
    await socket.connect()
    await socket.send({"type": "message", "client_id": new_id(), "body": "sneaky"})
    assert await socket.closed_with() == 4001


async def test_no_hello_within_the_deadline_closes_with_4001(support, monkeypatch):
    from chat.consumers.widget import WidgetConsumer

    monkeypatch.setattr(WidgetConsumer, "hello_timeout_s", 0.2)
    socket = Socket("/ws/widget/")
    await socket.connect()
    assert await socket.closed_with() == 4001


async def test_a_hello_answered_after_the_deadline_is_still_welcomed(support, monkeypatch):
    # A server slow to answer (a reconnect storm queues hellos for a thread)
    # must not refuse the clients that did say hello in time.
    import time

    from chat.consumers import widget
    from chat.consumers.widget import WidgetConsumer

    monkeypatch.setattr(WidgetConsumer, "hello_timeout_s", 0.2)
    real = widget.widget_hello

    def slow(*args, **kwargs):
        time.sleep(0.6)
        return real(*args, **kwargs)

    monkeypatch.setattr(widget, "widget_hello", slow)
    socket = Socket("/ws/widget/")
    await socket.connect()
    await socket.send({"type": "hello", "department": "support"})
    welcome = await socket.expect("welcome", timeout=5)
    assert welcome["visitor"]["id"]
    await socket.close()


async def test_a_wrong_origin_is_refused():
    from channels.testing import WebsocketCommunicator

    from chatportal.asgi import application

    communicator = WebsocketCommunicator(
        application, "/ws/widget/", headers=[(b"origin", b"https://evil.example")]
    )
    connected, _ = await communicator.connect()
    assert not connected


@pytest.mark.parametrize(
    ("frame", "detail"),
    [
        ("{not json", "the frame is not valid JSON"),
        ("[1, 2]", "a frame must be a JSON object"),
        ('"hello"', "a frame must be a JSON object"),
        ('{"kind": "message"}', "type is required and must be a string"),
        ('{"type": 7}', "type is required and must be a string"),
        ('{"type": "__init__"}', "unknown frame type"),
        ('{"type": "receive"}', "unknown frame type"),
        ('{"type": "message", "body": "x"}', "client_id is required"),
        (
            '{"type": "message", "client_id": "nope", "body": "x"}',
            "client_id must be a UUID string",
        ),
        ('{"type": "message", "client_id": 5, "body": "x"}', "client_id must be a UUID string"),
        (
            '{"type": "message", "client_id": "' + SOME_ID + '", "body": ""}',
            "body must not be empty",
        ),
        (
            '{"type": "message", "client_id": "' + SOME_ID + '", "body": "   "}',
            "body must not be empty",
        ),
        (
            '{"type": "message", "client_id": "' + SOME_ID + '", "body": 12}',
            "body must be a string",
        ),
        ('{"type": "typing", "active": "yes"}', "active must be true or false"),
        ('{"type": "typing", "active": 1}', "active must be true or false"),
        (
            '{"type": "read", "conversation": "' + SOME_ID + '", "seq": true}',
            "seq must be an integer",
        ),
        (
            '{"type": "read", "conversation": "' + SOME_ID + '", "seq": -1}',
            "seq must be between 0 and 2147483647",
        ),
        (
            '{"type": "resume", "conversation": ["x"], "after_seq": 0}',
            "conversation must be a UUID string",
        ),
        (
            '{"type": "rate", "conversation": "' + SOME_ID + '", "score": 6}',
            "score must be between 1 and 5",
        ),
        (
            '{"type": "rate", "conversation": "' + SOME_ID + '", "score": 4.5}',
            "score must be an integer",
        ),
    ],
)
async def test_it_answers_bad_frames_with_invalid_and_stays_open(support, frame, detail):
    socket, _ = await open_widget()
    await socket.send(frame)
    error = await socket.expect("error")
    assert error["code"] == "invalid"
    assert error["detail"] == detail
    await socket.send({"type": "ping"})
    await socket.expect("pong")
    await socket.close()


async def test_an_error_echoes_the_client_id(support):
    socket, _ = await open_widget()
    client_id = new_id()
    await socket.send({"type": "message", "client_id": client_id, "body": "x" * 10_001})
    error = await socket.expect("error")
    assert error == {
        "type": "error",
        "code": "invalid",
        "client_id": client_id,
        "detail": "body must be at most 10000 characters",
    }
    await socket.close()


async def test_a_body_of_exactly_10000_characters_is_accepted(support):
    socket, _ = await open_widget()
    ack = await say(socket, "x" * 10_000)
    assert ack["seq"] == 2
    await socket.close()


async def test_unknown_fields_are_ignored_for_forward_compatibility(support):
    socket, _ = await open_widget(future_field={"x": 1})
    ack = await say(socket, "hi", attachments=[])
    assert ack["seq"] == 2
    await socket.close()


async def test_a_frame_over_64_kib_closes_with_4009(support):
    socket, _ = await open_widget()
    await socket.send(json.dumps({"type": "message", "client_id": new_id(), "body": "é" * 33_000}))
    assert await socket.closed_with() == 4009


async def test_a_binary_frame_is_invalid(support):
    socket, _ = await open_widget()
    await socket.communicator.send_to(bytes_data=b"\x00\x01")
    error = await socket.expect("error")
    assert error["code"] == "invalid"
    await socket.close()


async def test_an_unknown_department_is_not_found(support):
    socket = Socket("/ws/widget/")
    await socket.connect()
    await socket.send({"type": "hello", "department": "nowhere"})
    error = await socket.expect("error")
    assert error["code"] == "not_found"
    await socket.close()


async def test_another_visitors_conversation_is_not_found(support):
    alice, _ = await open_widget()
    ack = await say(alice, "mine")
    mallory, _ = await open_widget()
    for frame in (
        {"type": "resume", "conversation": ack["conversation"], "after_seq": 0},
        {"type": "read", "conversation": ack["conversation"], "seq": 2},
        {"type": "close", "conversation": ack["conversation"]},
        {"type": "rate", "conversation": ack["conversation"], "score": 1},
        {"type": "resume", "conversation": new_id(), "after_seq": 0},
    ):
        await mallory.send(frame)
        error = await mallory.expect("error")
        assert error["code"] == "not_found"
    assert mallory.events() == []
    await alice.close()
    await mallory.close()


async def test_hello_resume_replays_events_after_the_given_seq(support):
    first, welcome = await open_widget()
    ack = await say(first, "one")
    await say(first, "two")
    await say(first, "three")
    await first.close()
    again, rewelcome = await open_widget(token=welcome["token"], resume={ack["conversation"]: 2})
    assert rewelcome["conversation"]["last_seq"] == 4
    third = await again.expect("event")
    fourth = await again.expect("event")
    assert (third["seq"], third["body"]) == (3, "two")
    assert (fourth["seq"], fourth["body"]) == (4, "three")
    assert await again.silent()
    await again.close()


async def test_a_hello_that_does_not_name_the_open_conversation_gets_it_from_its_first_event(
    support,
):
    # The ack of the first message was lost with the socket: the client does
    # not know its conversation, so it cannot ask for it in `resume`.
    first, welcome = await open_widget()
    await say(first, "My relay blinks")
    await first.close()
    again, rewelcome = await open_widget(token=welcome["token"])
    conversation = rewelcome["conversation"]["id"]
    history = [await again.expect("event") for _ in range(2)]
    assert [(e["seq"], e["kind"], e["conversation"]) for e in history] == [
        (1, "queued", conversation),
        (2, "message", conversation),
    ]
    later = await say(again, "Still there?")
    assert (await again.expect("event", seq=later["seq"]))["body"] == "Still there?"
    assert [e["seq"] for e in again.events()] == [1, 2, 3]
    await again.close()


async def test_resume_replays_after_a_gap_and_live_events_continue_without_duplicates(support):
    socket, _ = await open_widget()
    ack = await say(socket, "one")
    await socket.expect("event", seq=2)
    await socket.send({"type": "resume", "conversation": ack["conversation"], "after_seq": 0})
    replay = [await socket.expect("event") for _ in range(2)]
    assert [e["seq"] for e in replay] == [1, 2]
    later = await say(socket, "two")
    live = await socket.expect("event", seq=later["seq"])
    assert live["body"] == "two"
    assert await socket.silent()
    await socket.close()


async def test_two_tabs_of_one_visitor_both_get_events(support):
    tab_a, welcome = await open_widget()
    tab_b, _ = await open_widget(token=welcome["token"])
    ack = await say(tab_a, "from tab A")
    # Tab B learns of the new conversation through the visitor's group.
    queued = await tab_b.expect("event", seq=1)
    message = await tab_b.expect("event", seq=2)
    assert queued["conversation"] == message["conversation"] == ack["conversation"]
    assert message["body"] == "from tab A"
    ack_b = await say(tab_b, "from tab B")
    assert ack_b["conversation"] == ack["conversation"] and ack_b["seq"] == 3
    assert (await tab_a.expect("event", seq=3))["body"] == "from tab B"
    await tab_a.close()
    await tab_b.close()


async def test_ping_answers_pong_with_the_open_conversations_last_seq(support):
    socket, _ = await open_widget()
    await socket.send({"type": "ping"})
    assert (await socket.expect("pong"))["last_seq"] == {}
    ack = await say(socket, "hi")
    await socket.send({"type": "ping"})
    assert (await socket.expect("pong"))["last_seq"] == {ack["conversation"]: 2}
    await socket.close()


async def test_visitor_close_and_rate(support):
    socket, _ = await open_widget()
    ack = await say(socket, "bye")
    await socket.send({"type": "rate", "conversation": ack["conversation"], "score": 5})
    assert (await socket.expect("error"))["code"] == "conflict"
    await socket.send({"type": "close", "conversation": ack["conversation"]})
    closed = await socket.expect("event", kind="closed")
    assert closed["by"] == "visitor" and closed["seq"] == 3
    # Left while still queued: the message became a ticket (tickets app).
    assert (await socket.expect("event", kind="ticket"))["seq"] == 4
    await socket.send(
        {"type": "rate", "conversation": ack["conversation"], "score": 4, "comment": "ok"}
    )
    rated_ack = await socket.expect("ack")
    assert rated_ack["seq"] == 5
    rated = await socket.expect("event", kind="rated")
    assert (rated["score"], rated["comment"]) == (4, "ok")
    await socket.send({"type": "rate", "conversation": ack["conversation"], "score": 1})
    assert (await socket.expect("error"))["code"] == "conflict"
    await socket.send({"type": "close", "conversation": ack["conversation"]})
    assert (await socket.expect("error"))["code"] == "conflict"
    # The next message opens a new conversation.
    again = await say(socket, "one more thing")
    assert again["conversation"] != ack["conversation"] and again["seq"] == 2
    await socket.close()


async def test_a_second_hello_is_invalid(support):
    socket, _ = await open_widget()
    await socket.send({"type": "hello"})
    assert (await socket.expect("error"))["code"] == "invalid"
    await socket.close()


async def test_a_rating_comment_is_plain_text_within_2000_characters_and_stored(support):
    from channels.db import database_sync_to_async

    from chat.models import Conversation

    socket, _ = await open_widget()
    ack = await say(socket, "bye")
    conversation = ack["conversation"]
    await socket.send({"type": "close", "conversation": conversation})
    await socket.expect("event", kind="closed")
    for bad in ("x" * 2001, "bell\x07", 42):
        await socket.send(
            {"type": "rate", "conversation": conversation, "score": 3, "comment": bad}
        )
        assert (await socket.expect("error"))["code"] == "invalid"
    await socket.send(
        {
            "type": "rate",
            "conversation": conversation,
            "score": 2,
            "comment": "  Slow.\nBut kind.  ",
        }
    )
    rated = await socket.expect("event", kind="rated")
    assert (rated["score"], rated["comment"]) == (2, "Slow.\nBut kind.")
    stored = await database_sync_to_async(Conversation.objects.get)(public_id=conversation)
    assert (stored.rating_score, stored.rating_comment) == (2, "Slow.\nBut kind.")
    await socket.close()


async def test_a_returning_visitor_resuming_its_open_chat_costs_two_hops(support, monkeypatch):
    """The hello's hop (visitor, welcome, queue place) and one read of the log: no
    second access check, queue read or catch-up read for the chat the hello found."""
    from chat import access, queue
    from chat.consumers import widget

    first, welcome = await open_widget()
    ack = await say(first, "hi")
    await say(first, "anyone?")
    await first.close()
    hops = []
    for module, name in (
        (access, "access_conversation_for_visitor"),
        (queue, "visitor_queue_frame"),
        (widget.queries, "events_after"),
    ):
        real = getattr(module, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            hops.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)
    again, _ = await open_widget(token=welcome["token"], resume={ack["conversation"]: 1})
    replayed = await again.expect("event")
    assert replayed["seq"] == 2 and replayed["body"] == "hi"
    assert (await again.expect("event"))["body"] == "anyone?"
    place = await again.expect("queue")
    assert place["conversation"] == ack["conversation"] and place["position"] == 1
    assert hops == ["visitor_queue_frame", "events_after"]
    await again.close()
