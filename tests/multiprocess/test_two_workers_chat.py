"""A chat across two daphne workers on PostgreSQL + Redis, over real sockets.

The visitor talks to worker A, the agent to worker B; then the visitor drops
its socket, the agent keeps writing, and the visitor comes back on worker B
with its token and the last seq it saw. Every acknowledged message must reach
each socket that may see it exactly once, in seq order (PROTOCOL.md §1).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.live_server import LiveServer
from tests.multiprocess.wsclient import Frame, ProtocolSocket

pytestmark = [pytest.mark.services, pytest.mark.timeout(240)]

WORKER_A, WORKER_B = 0, 1
AGENT = "boris"  # support only; the one support agent this test brings online
DELIVERY_TIMEOUT_S = 30.0
ROUTING_WAIT_S = 5.0


async def open_agent(
    server: LiveServer, worker: int, username: str
) -> tuple[ProtocolSocket, Frame]:
    token = await asyncio.to_thread(server.agent_token, username)
    sock = ProtocolSocket(
        server.ws_url("/ws/agent/", worker),
        origin=server.workers[worker].origin,
        name=f"agent {username}@{server.workers[worker].name}",
    )
    await sock.open()
    await sock.send({"type": "hello", "token": token})
    welcome = await sock.wait_for(lambda f: f["type"] == "welcome", what="the agent welcome")
    await sock.send({"type": "presence", "status": "online"})
    return sock, welcome


async def open_visitor(
    server: LiveServer, worker: int, *, token: str | None, resume: dict[str, int] | None = None
) -> tuple[ProtocolSocket, Frame]:
    sock = ProtocolSocket(
        server.ws_url("/ws/widget/", worker),
        origin=server.workers[worker].origin,
        name=f"visitor@{server.workers[worker].name}",
    )
    await sock.open()
    hello: dict[str, Any] = {
        "type": "hello",
        "token": token,
        "department": "support",
        "profile": {"name": "Multi Process"},
        "locale": "en",
    }
    if resume is not None:
        hello["resume"] = resume
    await sock.send(hello)
    welcome = await sock.wait_for(lambda f: f["type"] == "welcome", what="the visitor welcome")
    assert isinstance(welcome.get("token"), str) and welcome["token"], welcome
    return sock, welcome


def is_assignment_of(conversation: str):
    return lambda f: (
        f["type"] == "assigned" and (f.get("conversation") or {}).get("id") == conversation
    )


async def take_conversation(agent: ProtocolSocket, conversation: str) -> None:
    """Routing gives the chat to the one support agent online; where the
    department routes manually, the agent picks it with `accept` instead."""
    try:
        await agent.wait_for(is_assignment_of(conversation), timeout=ROUTING_WAIT_S, what="routing")
        return
    except AssertionError:
        if agent.closed_code is not None:
            raise
    start = len(agent.frames)
    await agent.send({"type": "accept", "conversation": conversation})
    answer = await agent.wait_for(
        lambda f: (
            is_assignment_of(conversation)(f)
            or (f["type"] == "error" and f.get("conversation") in {None, conversation})
        ),
        timeout=DELIVERY_TIMEOUT_S,
        start=start,
        what=f"the assignment of {conversation}",
    )
    assert answer["type"] == "assigned", f"accept answered {answer}"


async def send_spaced(sock: ProtocolSocket, bodies: list[str], **fields: Any) -> list[Frame]:
    acks = []
    for body in bodies:
        acks.append(await sock.post_message(body, **fields))
        # Small gaps let the other side's sends interleave with ours
        # (docs/decisions/pitfalls.md#reordering-in-the-layer).
        await asyncio.sleep(0.02)
    return acks


def message_seqs(events: list[Frame]) -> list[int]:
    return [e["seq"] for e in events if e.get("kind") == "message"]


def assert_in_seq_order_exactly_once(events: list[Frame], who: str) -> None:
    seqs = [e["seq"] for e in events]
    assert all(isinstance(s, int) for s in seqs), f"{who}: a non-integer seq in {seqs}"
    duplicates = sorted({s for s in seqs if seqs.count(s) > 1})
    assert not duplicates, f"{who}: events delivered more than once: seq {duplicates}"
    out_of_order = [(a, b) for a, b in zip(seqs, seqs[1:], strict=False) if b <= a]
    assert not out_of_order, f"{who}: events out of seq order: {out_of_order} in {seqs}"


def assert_delivered(events: list[Frame], acks: list[Frame], who: str) -> None:
    by_seq = {e["seq"]: e for e in events}
    missing = [a["seq"] for a in acks if a["seq"] not in by_seq]
    assert not missing, (
        f"{who}: acked messages never delivered: seq {missing}; got {sorted(by_seq)}"
    )
    for ack in acks:
        event = by_seq[ack["seq"]]
        assert event["kind"] == "message", event
        assert event["body"] == ack["_body"], (ack, event)
        assert event.get("client_id") == ack["client_id"], (ack, event)


async def test_it_delivers_every_acked_message_once_in_order_across_workers_and_a_reconnect(
    two_workers: LiveServer,
):
    server = two_workers
    agent, agent_welcome = await open_agent(server, WORKER_B, AGENT)
    assert "support" in agent_welcome["agent"]["departments"], agent_welcome
    visitor, welcome = await open_visitor(server, WORKER_A, token=None)
    visitor_token = welcome["token"]
    sockets = [agent, visitor]
    try:
        # The first message opens the conversation and routes it to the only
        # support agent online, who is on the other worker.
        first = await visitor.post_message("Hello from worker A")
        conversation = first["conversation"]
        await take_conversation(agent, conversation)

        # Phase 1: both sides write at the same time.
        visitor_acks, agent_acks = await asyncio.gather(
            send_spaced(visitor, [f"visitor A{i}" for i in range(8)]),
            send_spaced(
                agent, [f"agent B{i}" for i in range(8)], conversation=conversation, internal=False
            ),
        )
        visitor_acks.insert(0, first)
        note = await agent.post_message("internal note", conversation=conversation, internal=True)
        expected_for_visitor = visitor_acks + agent_acks
        await visitor.wait_until(
            lambda: (
                set(a["seq"] for a in expected_for_visitor)
                <= set(message_seqs(visitor.events(conversation)))
            ),
            timeout=DELIVERY_TIMEOUT_S,
            what="phase 1 delivered to the visitor",
        )
        seen_by_first_socket = visitor.events(conversation)
        last_seen = max(e["seq"] for e in seen_by_first_socket)

        # Phase 2: the visitor is gone; the agent keeps writing.
        await visitor.close()
        away_acks = await send_spaced(
            agent,
            [f"agent while away {i}" for i in range(5)],
            conversation=conversation,
            internal=False,
        )

        # Phase 3: back on worker B with the token and the last seq seen.
        visitor2, welcome2 = await open_visitor(
            server, WORKER_B, token=visitor_token, resume={conversation: last_seen}
        )
        sockets.append(visitor2)
        assert (
            welcome2["token"] == visitor_token
            or welcome2["visitor"]["id"] == welcome["visitor"]["id"]
        )
        assert (welcome2.get("conversation") or {}).get("id") == conversation, welcome2
        more_visitor, more_agent = await asyncio.gather(
            send_spaced(visitor2, [f"visitor back B{i}" for i in range(5)]),
            send_spaced(
                agent,
                [f"agent B again {i}" for i in range(5)],
                conversation=conversation,
                internal=False,
            ),
        )
        expected_for_visitor += away_acks + more_visitor + more_agent
        expected_for_agent = (
            visitor_acks + agent_acks + [note] + away_acks + more_visitor + more_agent
        )

        await visitor2.wait_until(
            lambda: (
                set(a["seq"] for a in expected_for_visitor)
                <= set(message_seqs(seen_by_first_socket + visitor2.events(conversation)))
            ),
            timeout=DELIVERY_TIMEOUT_S,
            what="everything delivered to the visitor",
        )
        await agent.wait_until(
            lambda: (
                set(a["seq"] for a in expected_for_agent)
                <= set(message_seqs(agent.events(conversation)))
            ),
            timeout=DELIVERY_TIMEOUT_S,
            what="everything delivered to the agent",
        )
        # Anything still in flight that would be a duplicate shows up now.
        await asyncio.sleep(1.0)
    finally:
        for sock in sockets:
            await sock.close()

    all_acks = expected_for_agent
    assert len({a["seq"] for a in all_acks}) == len(all_acks), "two acks share a seq"

    visitor_events = seen_by_first_socket + visitor2.events(conversation)
    assert_in_seq_order_exactly_once(visitor_events, "visitor (both sockets)")
    assert_delivered(visitor_events, expected_for_visitor, "visitor")
    assert note["seq"] not in {e["seq"] for e in visitor_events}, (
        "an internal note reached the visitor"
    )
    assert not any(e.get("internal") for e in visitor_events)
    # The replay after the reconnect starts right after what the first socket saw.
    replayed = visitor2.events(conversation)
    assert replayed and replayed[0]["seq"] > last_seen

    agent_events = agent.events(conversation)
    assert_in_seq_order_exactly_once(agent_events, "agent")
    assert_delivered(agent_events, all_acks, "agent")
    assert next(e for e in agent_events if e["seq"] == note["seq"]).get("internal") is True


async def test_an_idle_socket_outlives_the_redis_blocking_read(two_workers: LiveServer):
    # channels-redis blocks 5 s per BZPOPMIN; a client read timeout at or
    # under that (redis-py 8's default) killed every idle consumer with 1011.
    agent, _welcome = await open_agent(two_workers, WORKER_A, AGENT)
    visitor, _ = await open_visitor(two_workers, WORKER_B, token=None)
    try:
        await asyncio.sleep(12)
        for sock in (agent, visitor):
            start = len(sock.frames)
            await sock.send({"type": "ping"})
            await sock.wait_for(
                lambda f: f["type"] == "pong", start=start, what="pong after idling"
            )
            assert sock.closed_code is None
    finally:
        await agent.close()
        await visitor.close()


async def test_it_loses_nothing_when_the_visitors_worker_is_killed(two_workers: LiveServer):
    server = two_workers
    agent, _ = await open_agent(server, WORKER_B, AGENT)
    visitor, welcome = await open_visitor(server, WORKER_A, token=None)
    sockets = [agent, visitor]
    try:
        first = await visitor.post_message("before the crash")
        conversation = first["conversation"]
        await take_conversation(agent, conversation)
        before = await send_spaced(
            agent,
            [f"agent before {i}" for i in range(3)],
            conversation=conversation,
            internal=False,
        )
        await visitor.wait_until(
            lambda: {a["seq"] for a in before} <= set(message_seqs(visitor.events(conversation))),
            timeout=DELIVERY_TIMEOUT_S,
            what="the first replies",
        )
        seen = visitor.events(conversation)

        # SIGKILL: no close frames, no cleanup; the socket just dies.
        server.workers[WORKER_A].kill()
        await visitor.wait_closed(timeout=DELIVERY_TIMEOUT_S)
        during = await send_spaced(
            agent,
            [f"agent during {i}" for i in range(3)],
            conversation=conversation,
            internal=False,
        )

        visitor2, _ = await open_visitor(
            server,
            WORKER_B,
            token=welcome["token"],
            resume={conversation: max(e["seq"] for e in seen)},
        )
        sockets.append(visitor2)
        after = await send_spaced(visitor2, ["after the crash"])
        expected = [first, *before, *during, *after]
        await visitor2.wait_until(
            lambda: (
                {a["seq"] for a in expected}
                <= set(message_seqs(seen + visitor2.events(conversation)))
            ),
            timeout=DELIVERY_TIMEOUT_S,
            what="everything after the crash",
        )
        await agent.wait_until(
            lambda: {a["seq"] for a in expected} <= set(message_seqs(agent.events(conversation))),
            timeout=DELIVERY_TIMEOUT_S,
            what="the agent's copy",
        )
        await asyncio.sleep(1.0)
    finally:
        for sock in sockets:
            await sock.close()
    visitor_events = seen + visitor2.events(conversation)
    assert_in_seq_order_exactly_once(visitor_events, "visitor (before and after the crash)")
    assert_delivered(visitor_events, expected, "visitor")
    assert_in_seq_order_exactly_once(agent.events(conversation), "agent")
    assert_delivered(agent.events(conversation), expected, "agent")
