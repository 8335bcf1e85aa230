"""One whole conversation over real sockets, recorded frame by frame.

docs/protocol.md quotes these frames. To refresh them:

    CHATPORTAL_RECORD_FRAMES=/tmp/frames.jsonl .venv/bin/pytest tests/chat/test_protocol_examples.py
"""

from __future__ import annotations

import json
import os

import pytest

from tests.chat.conftest import Socket, open_agent

pytestmark = pytest.mark.django_db(transaction=True)

CLIENT_IDS = [
    "6f1c2a52-8d3e-4f0b-9a55-0c7e2b1d4a10",
    "0b7d9e61-3c2f-4d8a-b1e4-5f6a7c8d9e02",
    "3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d",
]


async def test_a_whole_conversation_speaks_the_protocol(support, support_agent):
    log: list[tuple[str, str, dict]] = []

    async def send(who: str, socket: Socket, frame: dict) -> None:
        log.append((who, "sent", frame))
        await socket.send(frame)

    async def expect(who: str, socket: Socket, frame_type: str, **fields) -> dict:
        frame = await socket.expect(frame_type, **fields)
        log.append((who, "received", frame))
        return frame

    visitor = Socket("/ws/widget/")
    await visitor.connect()
    hello = {
        "type": "hello",
        "token": None,
        "department": "support",
        "profile": {"name": "Ana", "email": "ana@example.com"},
        "page": {"url": "https://shop.example.com/item/9", "title": "RZA-500"},
        "locale": "en",
    }
    await send("visitor", visitor, hello)
    welcome = await expect("visitor", visitor, "welcome")
    await send(
        "visitor",
        visitor,
        {
            "type": "message",
            "client_id": CLIENT_IDS[0],
            "body": "My relay terminal shows error E42.",
        },
    )
    ack = await expect("visitor", visitor, "ack")
    conversation = ack["conversation"]
    await expect("visitor", visitor, "event", seq=1)
    await expect("visitor", visitor, "event", seq=2)
    await expect("visitor", visitor, "queue", conversation=conversation)

    agent, agent_welcome = await open_agent(support_agent)
    log.append(("agent", "received", agent_welcome))
    await send("agent", agent, {"type": "accept", "conversation": conversation})
    await expect("agent", agent, "assigned")
    for seq in (1, 2, 3):
        await expect("agent", agent, "event", seq=seq)
    await expect("visitor", visitor, "event", seq=3)
    await send(
        "agent",
        agent,
        {
            "type": "message",
            "conversation": conversation,
            "client_id": CLIENT_IDS[1],
            "body": "Gold contract, 1 h SLA",
            "internal": True,
        },
    )
    await expect("agent", agent, "ack")
    await expect("agent", agent, "event", seq=4)
    await send("agent", agent, {"type": "typing", "conversation": conversation, "active": True})
    await expect("visitor", visitor, "typing")
    await send(
        "agent",
        agent,
        {
            "type": "message",
            "conversation": conversation,
            "client_id": CLIENT_IDS[2],
            "body": "Hello Ana, let us look at E42.",
        },
    )
    await expect("agent", agent, "ack")
    await expect("visitor", visitor, "event", seq=5)
    await send("visitor", visitor, {"type": "read", "conversation": conversation, "seq": 5})
    await expect("agent", agent, "read")
    await send(
        "visitor",
        visitor,
        {
            "type": "message",
            "client_id": CLIENT_IDS[0],
            "body": "My relay terminal shows error E42.",
        },
    )
    await expect("visitor", visitor, "ack")
    await send("visitor", visitor, {"type": "ping"})
    await expect("visitor", visitor, "pong")
    await send("visitor", visitor, {"type": "message", "client_id": "not-a-uuid", "body": "hi"})
    await expect("visitor", visitor, "error")
    await send(
        "agent", agent, {"type": "to_ticket", "conversation": conversation, "subject": "E42"}
    )
    await expect("agent", agent, "event", seq=6, kind="ticket")
    await expect("visitor", visitor, "event", seq=6, kind="ticket")
    await send("agent", agent, {"type": "close", "conversation": conversation, "reason": "solved"})
    await expect("visitor", visitor, "event", seq=7)
    await send(
        "visitor",
        visitor,
        {"type": "rate", "conversation": conversation, "score": 5, "comment": "Quick and clear"},
    )
    await expect("visitor", visitor, "ack")
    await expect("visitor", visitor, "event", seq=8)
    await visitor.close()
    again = Socket("/ws/widget/")
    await again.connect()
    await send(
        "visitor",
        again,
        {
            "type": "hello",
            "token": welcome["token"],
            "department": "support",
            "resume": {conversation: 5},
        },
    )
    await expect("visitor", again, "welcome")
    await expect("visitor", again, "event", seq=6)
    await expect("visitor", again, "event", seq=7)
    await expect("visitor", again, "event", seq=8)
    assert await again.silent()
    assert all(
        "Gold contract" not in json.dumps(frame) for frame in visitor.received + again.received
    )

    path = os.environ.get("CHATPORTAL_RECORD_FRAMES")
    if path:
        with open(path, "w") as out:
            for who, direction, frame in log:
                out.write(json.dumps({"who": who, "direction": direction, "frame": frame}) + "\n")
    for socket in (again, agent):
        await socket.close()
