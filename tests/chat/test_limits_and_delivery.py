from __future__ import annotations

import pytest
from channels.layers import get_channel_layer

import foundation.realtime as realtime
from chat.actions import conversations
from chat.events import conversation_group, event_appended
from foundation.token_bucket import TokenBucket
from tests.chat.conftest import new_id, open_widget, say

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_token_bucket_allows_a_burst_then_the_rate():
    now = [0.0]
    bucket = TokenBucket(10, 20, clock=lambda: now[0])
    assert all(bucket.take() == 0 for _ in range(20))
    assert bucket.take() == pytest.approx(0.1)
    now[0] += 0.1
    assert bucket.take() == 0


async def test_a_flooding_socket_is_rate_limited_then_closed_with_4029(support, settings):
    settings.CHATPORTAL_WS_RATE_PER_S = 1
    settings.CHATPORTAL_WS_BURST = 3
    settings.CHATPORTAL_WS_MAX_VIOLATIONS = 3
    socket, _ = await open_widget()  # the hello takes one token
    for _ in range(2):
        await socket.send({"type": "ping"})
        await socket.expect("pong")
    client_id = new_id()
    await socket.send({"type": "message", "client_id": client_id, "body": "too fast"})
    error = await socket.expect("error")
    assert (error["code"], error["client_id"]) == ("rate_limited", client_id)
    assert error["retry_after_s"] >= 1
    for _ in range(3):
        await socket.send({"type": "ping"})
    assert await socket.closed_with() == 4029


async def test_a_visitor_is_limited_across_its_sockets(support, settings):
    settings.CHATPORTAL_VISITOR_MESSAGES_PER_MINUTE = 3
    tab_a, welcome = await open_widget()
    tab_b, _ = await open_widget(token=welcome["token"])
    await say(tab_a, "1")
    await say(tab_b, "2")
    await say(tab_a, "3")
    client_id = new_id()
    await tab_b.send({"type": "message", "client_id": client_id, "body": "4"})
    error = await tab_b.expect("error", client_id=client_id)
    assert error["code"] == "rate_limited" and 1 <= error["retry_after_s"] <= 60
    await tab_a.close()
    await tab_b.close()


async def test_an_unexpected_failure_answers_server_error_without_details(support, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(conversations, "check_visitor_message", explode)
    socket, _ = await open_widget()
    client_id = new_id()
    await socket.send({"type": "message", "client_id": client_id, "body": "hi"})
    error = await socket.expect("error")
    assert error["code"] == "server_error" and error["client_id"] == client_id
    assert "hunter2" not in str(error) and "RuntimeError" not in str(error)
    await socket.send({"type": "ping"})
    await socket.expect("pong")
    await socket.close()


async def test_a_lost_doorbell_is_caught_up_on_ping(support, monkeypatch):
    tab_a, welcome = await open_widget()
    ack = await say(tab_a, "first")
    tab_b, _ = await open_widget(token=welcome["token"])
    # The pong tells us tab B finished its hello (its catch-up read included).
    await tab_b.send({"type": "ping"})
    await tab_b.expect("pong")
    # The layer drops every notification of the next message.
    monkeypatch.setattr(realtime, "send_now", lambda group, event: None)
    later = await say(tab_a, "lost notification")
    assert await tab_b.silent()
    await tab_b.send({"type": "ping"})
    caught = await tab_b.expect("event", seq=later["seq"])
    assert caught["body"] == "lost notification"
    pong = await tab_b.expect("pong")
    assert len([f for f in tab_b.events() if f["seq"] == later["seq"]]) == 1
    assert pong["last_seq"] == {ack["conversation"]: later["seq"]}
    await tab_a.close()
    await tab_b.close()


async def test_repeated_and_stale_doorbells_never_duplicate_an_event(support):
    socket, _ = await open_widget()
    ack = await say(socket, "once")
    await socket.expect("event", seq=2)
    layer = get_channel_layer()
    group = conversation_group(ack["conversation"])
    for seq in (2, 1, 2):
        await layer.group_send(group, event_appended(ack["conversation"], seq))
    assert await socket.silent()
    # A doorbell ahead of the log is harmless too: nothing new to read.
    await layer.group_send(group, event_appended(ack["conversation"], 9))
    assert await socket.silent()
    later = await say(socket, "twice?")
    await socket.expect("event", seq=later["seq"])
    assert [e["seq"] for e in socket.events()] == [1, 2, 3]
    await socket.close()


async def test_an_unknown_group_message_does_not_kill_the_socket(support):
    socket, welcome = await open_widget()
    layer = get_channel_layer()
    from chat.events import visitor_group

    await layer.group_send(visitor_group(welcome["visitor"]["id"]), {"type": "something.new"})
    await socket.send({"type": "ping"})
    await socket.expect("pong")
    await socket.close()


async def test_the_agent_sees_a_conversation_snapshot_equal_to_snapshot_plus_pushes(
    support, support_agent
):
    from tests.chat.conftest import open_agent

    visitor, _ = await open_widget()
    ack = await say(visitor, "one")
    agent, _ = await open_agent(support_agent)
    await agent.send({"type": "accept", "conversation": ack["conversation"]})
    await agent.expect("event", kind="assigned")
    await say(visitor, "two")
    await say(agent, "three", conversation=ack["conversation"])
    await say(agent, "note", conversation=ack["conversation"], internal=True)
    await agent.expect("event", seq=6)
    fresh, _ = await open_agent(support_agent)
    await fresh.send({"type": "resume", "conversation": ack["conversation"], "after_seq": 0})
    replay = [await fresh.expect("event") for _ in range(6)]
    assert replay == agent.events(ack["conversation"])
    for socket in (visitor, agent, fresh):
        await socket.close()


def test_conversation_count_helper_is_isolated():
    # Guards the database fixture: each test starts empty.
    from chat.models import Conversation

    assert Conversation.objects.count() == 0
