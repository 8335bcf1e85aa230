"""The counters move on the real code paths: sockets, messages, events, errors, routing, doorbells."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from prometheus_client import REGISTRY

from tests.chat.conftest import open_agent, open_widget, say
from tests.factories import make_agent

pytestmark = pytest.mark.django_db(transaction=True)


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_widget_socket_is_counted_while_open_and_its_message_and_events_too(support):
    open_before = value("chatportal_open_connections", kind="widget")
    posted_before = value("chatportal_messages_posted_total", role="visitor")
    events_before = value("chatportal_events_delivered_total")
    doorbells_before = value("chatportal_doorbells_sent_total", outcome="sent")
    socket, _ = await open_widget()
    assert value("chatportal_open_connections", kind="widget") == open_before + 1
    ack = await say(socket, "hello")
    await socket.expect("event", seq=ack["seq"])
    assert value("chatportal_messages_posted_total", role="visitor") == posted_before + 1
    # queued (seq 1) and the message (seq 2) went out on this socket.
    assert value("chatportal_events_delivered_total") >= events_before + 2
    assert value("chatportal_doorbells_sent_total", outcome="sent") > doorbells_before
    await socket.close()
    assert value("chatportal_open_connections", kind="widget") == open_before


async def test_a_retried_client_id_is_not_counted_twice(support):
    socket, _ = await open_widget()
    client_id = "6f1d9a52-0f53-4a4b-9c55-4d1e0d3c7a11"
    before = value("chatportal_messages_posted_total", role="visitor")
    for _ in range(2):
        await socket.send({"type": "message", "client_id": client_id, "body": "once"})
        await socket.expect("ack", client_id=client_id)
    assert value("chatportal_messages_posted_total", role="visitor") == before + 1
    await socket.close()


async def test_error_frames_are_counted_by_code(support):
    socket, _ = await open_widget()
    before = value("chatportal_errors_sent_total", code="invalid")
    await socket.send("not json")
    await socket.expect("error", code="invalid")
    assert value("chatportal_errors_sent_total", code="invalid") == before + 1
    await socket.close()


async def test_agent_sockets_and_agent_messages_are_counted(support):
    agent = await database_sync_to_async(make_agent)("boris", [support])
    before = value("chatportal_open_connections", kind="agent")
    visitor, _ = await open_widget()
    ack = await say(visitor, "help")
    socket, _ = await open_agent(agent)
    assert value("chatportal_open_connections", kind="agent") == before + 1
    await socket.send({"type": "accept", "conversation": ack["conversation"]})
    await socket.expect("assigned")
    posted = value("chatportal_messages_posted_total", role="agent")
    await say(socket, "hi, Boris here", conversation=ack["conversation"])
    assert value("chatportal_messages_posted_total", role="agent") == posted + 1
    await socket.close()
    await visitor.close()
    assert value("chatportal_open_connections", kind="agent") == before


def test_a_routing_pass_is_timed(support):
    from chat.actions.routing import route_department

    before = value("chatportal_routing_seconds_count")
    route_department(support)
    assert value("chatportal_routing_seconds_count") == before + 1
