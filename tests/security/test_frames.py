"""Oversize, malformed and flooding frames on every socket; the first-frame deadline.

Covered elsewhere, not repeated here (widget socket): malformed JSON, arrays,
strings, missing/unknown/non-string types, wrong field types (each answered
`invalid`, socket open): tests/chat/test_widget_consumer.py::
test_it_answers_bad_frames_with_invalid_and_stays_open; a body of 10,001
characters (error echoing the client_id) and of exactly 10,000 (accepted);
frames over 64 KiB (4009); binary frames; no hello within the deadline
(4001); a flood closed with 4029 and the per-visitor limit across tabs:
tests/chat/test_limits_and_delivery.py.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.chat.conftest import Socket, new_id, open_agent, open_widget, say
from tests.security.conftest import open_ticket, portal_socket

pytestmark = pytest.mark.django_db(transaction=True)

MALFORMED = [
    "{not json",
    " ",
    "null",
    "[]",
    "42",
    '"ping"',
    '{"type": null}',
    '{"type": ["ping"]}',
    '{"type": "PING"}',
    '{"type": "ping\\u0000"}',
    '{"type": "__class__"}',
    '{"type": "on_hello"}',
    '{"type": "websocket.disconnect"}',
    '{"type": "message", "conversation": {"$ne": null}, "client_id": {}, "body": []}',
    '{"type": "read", "conversation": "00000000-0000-0000-0000-000000000000", "seq": 1e400}',
    '{"type": "read", "conversation": "00000000-0000-0000-0000-000000000000", "seq": 99999999999999999999999}',
    '{"type": "resume", "conversation": "\' OR 1=1 --", "after_seq": 0}',
    '{"type": "typing", "conversation": "../../etc/passwd", "active": true}',
    '{"type": "transfer", "conversation": "00000000-0000-0000-0000-000000000000", "department": "<script>"}',
    '{"type": "presence", "status": "online\\n"}',
    "[" * 20_000 + "]" * 20_000,
    '{"a":' * 10_000 + "1" + "}" * 10_000,
]


async def still_answers(socket: Socket) -> None:
    await socket.send({"type": "ping"})
    await socket.expect("pong")


@pytest.mark.parametrize("frame", MALFORMED, ids=range(len(MALFORMED)))
async def test_the_agent_socket_answers_malformed_frames_with_invalid_and_stays_open(
    support_agent, frame, caplog
):
    socket, _ = await open_agent(support_agent)
    await socket.send(frame)
    error = await socket.expect("error")
    assert error["code"] in ("invalid", "not_found", "forbidden"), error
    assert "Traceback" not in json.dumps(error) and "Error" not in error["detail"]
    await still_answers(socket)
    assert not [r for r in caplog.records if r.levelname == "ERROR"], (
        "a client's bad frame logged an error"
    )
    await socket.close()


@pytest.mark.parametrize("frame", MALFORMED[-2:], ids=["nested arrays", "nested objects"])
async def test_deeply_nested_json_is_invalid_on_the_widget_socket_too(support, frame):
    socket, _ = await open_widget()
    await socket.send(frame)
    error = await socket.expect("error")
    assert error["code"] == "invalid"
    await still_answers(socket)
    await socket.close()


async def test_an_agent_frame_over_64_kib_closes_with_4009(support_agent):
    socket, _ = await open_agent(support_agent)
    await socket.send(json.dumps({"type": "ping", "pad": "x" * (64 * 1024)}))
    assert await socket.closed_with() == 4009


async def test_an_agent_body_over_10000_characters_is_refused(support_agent, support):
    visitor, _ = await open_widget()
    ack = await say(visitor, "hi")
    socket, _ = await open_agent(support_agent)
    client_id = new_id()
    await socket.send(
        {
            "type": "message",
            "conversation": ack["conversation"],
            "client_id": client_id,
            "body": "x" * 10_001,
            "internal": True,
        }
    )
    error = await socket.expect("error", client_id=client_id)
    assert error["code"] == "invalid"
    await still_answers(socket)
    await socket.close()
    await visitor.close()


async def test_no_hello_on_the_agent_socket_within_the_deadline_closes_with_4001(monkeypatch):
    from chat.consumers.agent import AgentConsumer

    monkeypatch.setattr(AgentConsumer, "hello_timeout_s", 0.2)
    socket = Socket("/ws/agent/")
    await socket.connect()
    assert await socket.closed_with() == 4001
    assert socket.received == []


async def test_a_flooding_visitor_is_closed_while_another_visitor_chats_on(support, settings):
    settings.CHATPORTAL_WS_RATE_PER_S = 5
    settings.CHATPORTAL_WS_BURST = 5
    settings.CHATPORTAL_WS_MAX_VIOLATIONS = 5
    flooder, _ = await open_widget()
    neighbour, _ = await open_widget()
    await say(neighbour, "before the flood")
    for _ in range(40):
        await flooder.communicator.send_to(text_data=json.dumps({"type": "ping"}))
    codes = []
    while True:
        message = await flooder.communicator.receive_output(3)
        if message["type"] == "websocket.close":
            codes.append(message["code"])
            break
        codes.append(json.loads(message["text"]).get("code"))
    assert "rate_limited" in codes and codes[-1] == 4029
    # The neighbour (hello + 4 frames: within its own burst) was never slowed down or cut off.
    for n in range(2):
        ack = await say(neighbour, f"during the flood {n}")
        assert ack["seq"] >= 3
    await still_answers(neighbour)
    await neighbour.close()


async def test_a_flooding_agent_socket_is_closed_with_4029_and_its_other_tab_lives(
    support_agent, settings
):
    settings.CHATPORTAL_AGENT_WS_RATE_PER_S = 5
    settings.CHATPORTAL_AGENT_WS_BURST = 5
    settings.CHATPORTAL_WS_MAX_VIOLATIONS = 3
    flooder, _ = await open_agent(support_agent)
    other_tab, _ = await open_agent(support_agent)
    for _ in range(30):
        await flooder.communicator.send_to(text_data='{"type": "ping"}')
    assert await flooder.closed_with(5) == 4029
    await still_answers(other_tab)
    await other_tab.close()


# --- the portal socket (listen-only) ---------------------------------------------------


async def test_the_portal_socket_closes_an_oversize_frame_with_4009(customer):
    socket = await portal_socket(customer[0])
    await socket.send_to(text_data="x" * 5000)
    assert await socket.receive_output(2) == {"type": "websocket.close", "code": 4009}


async def test_the_portal_socket_closes_a_flood_with_4029_and_keeps_the_other_tab(
    customer, support_agent
):
    from channels.db import database_sync_to_async

    from tickets.actions.lifecycle import change_status

    ticket = await database_sync_to_async(open_ticket)(customer[1])
    flooder = await portal_socket(customer[0])
    other_tab = await portal_socket(customer[0])
    for frame in ["{not json", "[]", '{"type": "ticket.changed", "ticket": "T-1"}', " "] * 6:
        await flooder.send_to(text_data=frame)
    assert await flooder.receive_output(2) == {"type": "websocket.close", "code": 4029}
    await database_sync_to_async(change_status)(ticket, "pending", by=support_agent)
    fragment = await other_tab.receive_from(3)
    assert f'id="ticket-{ticket.number}"' in fragment
    await other_tab.disconnect()


async def test_stray_portal_frames_below_the_limit_change_nothing(customer, support_agent):
    from channels.db import database_sync_to_async

    from tickets.actions.lifecycle import change_status

    ticket = await database_sync_to_async(open_ticket)(customer[1])
    socket = await portal_socket(customer[0])
    for frame in ('{"type": "ticket.changed", "ticket": "T-9999", "seq": 999}', "{bad", "null"):
        await socket.send_to(text_data=frame)
    assert await socket.receive_nothing(0.3)
    await database_sync_to_async(change_status)(ticket, "pending", by=support_agent)
    assert f'id="ticket-{ticket.number}"' in await socket.receive_from(3)
    await asyncio.sleep(0)
    await socket.disconnect()
