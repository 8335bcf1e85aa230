"""PROTOCOL.md's common rules, checked on a real daphne worker over real sockets.

The consumer tests use WebsocketCommunicator in-process; these go through
daphne itself (its frame limits, its handshake, its close codes), the way a
third-party client sees the server.
"""

from __future__ import annotations

import json
import uuid

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.live_server import LiveServer
from tests.multiprocess.wsclient import ProtocolSocket

pytestmark = pytest.mark.timeout(120)

SHOP = "https://shop.example.test"


@pytest.fixture
def embedded_server_env() -> dict[str, str]:
    return {"CHATPORTAL_WIDGET_ORIGINS": SHOP}


async def widget(server: LiveServer, origin: str | None = None) -> ProtocolSocket:
    sock = ProtocolSocket(
        server.ws_url("/ws/widget/"), origin=origin or server.origin, name="visitor"
    )
    return await sock.open()


async def test_a_widget_handshake_from_an_unlisted_site_is_refused(embedded_server: LiveServer):
    with pytest.raises(InvalidStatus) as refused:
        async with connect(
            embedded_server.ws_url("/ws/widget/"), origin="https://evil.example.test"
        ):
            pass
    assert refused.value.response.status_code == 403


async def test_a_listed_site_may_open_the_widget_socket_but_not_the_agent_socket(
    embedded_server: LiveServer,
):
    async with connect(embedded_server.ws_url("/ws/widget/"), origin=SHOP) as ws:
        await ws.send(json.dumps({"type": "hello", "department": "support"}))
        assert json.loads(await ws.recv())["type"] == "welcome"
    with pytest.raises(InvalidStatus) as refused:
        async with connect(embedded_server.ws_url("/ws/agent/"), origin=SHOP):
            pass
    assert refused.value.response.status_code == 403


async def test_the_visitor_welcome_and_ack_carry_the_documented_fields(embedded_server: LiveServer):
    sock = await widget(embedded_server)
    try:
        await sock.send(
            {"type": "hello", "token": None, "department": "support", "profile": {"name": "Ana"}}
        )
        welcome = await sock.wait_for(lambda f: f["type"] == "welcome")
        assert {"token", "visitor", "department", "conversation", "suggestions"} <= set(welcome)
        assert isinstance(welcome["token"], str) and welcome["token"]
        assert {"id", "name"} <= set(welcome["visitor"])
        assert {"slug", "name", "online", "estimated_wait_s", "hours"} <= set(welcome["department"])
        assert welcome["conversation"] is None
        ack = await sock.post_message("Hello")
        assert ack["seq"] >= 1
        uuid.UUID(ack["conversation"])  # opaque, not a sequential id
        event = await sock.wait_for(
            lambda f: f["type"] == "event" and f.get("kind") == "message" and f["seq"] == ack["seq"]
        )
        assert {"conversation", "seq", "at", "kind", "author", "body", "client_id"} <= set(event)
        assert event["at"].endswith("Z")
        assert event["author"]["role"] == "visitor"
        assert "internal" not in event or event["internal"] is False
    finally:
        await sock.close()


async def test_a_retried_client_id_is_acked_with_the_original_seq(embedded_server: LiveServer):
    sock = await widget(embedded_server)
    try:
        await sock.send({"type": "hello", "department": "support"})
        await sock.wait_for(lambda f: f["type"] == "welcome")
        client_id = str(uuid.uuid4())
        acks = []
        for _ in range(2):
            start = len(sock.frames)
            await sock.send({"type": "message", "client_id": client_id, "body": "once"})
            acks.append(
                await sock.wait_for(
                    lambda f: f["type"] == "ack" and f.get("client_id") == client_id, start=start
                )
            )
        assert acks[0]["seq"] == acks[1]["seq"]
        await sock.send({"type": "ping"})
        pong = await sock.wait_for(lambda f: f["type"] == "pong")
        assert pong["last_seq"] == {acks[0]["conversation"]: acks[0]["seq"]}
        messages = [f for f in sock.events(acks[0]["conversation"]) if f.get("kind") == "message"]
        assert [m["client_id"] for m in messages] == [client_id]
    finally:
        await sock.close()


async def test_bad_frames_get_an_invalid_error_and_the_socket_stays_open(
    embedded_server: LiveServer,
):
    sock = await widget(embedded_server)
    try:
        await sock.send({"type": "hello", "department": "support"})
        await sock.wait_for(lambda f: f["type"] == "welcome")
        assert sock._conn is not None
        for raw in (
            "not json",
            json.dumps({"no": "type"}),
            json.dumps({"type": "launch_missiles"}),
            json.dumps({"type": "message", "client_id": "not-a-uuid", "body": "x"}),
        ):
            start = len(sock.frames)
            await sock._conn.send(raw)
            error = await sock.wait_for(
                lambda f: f["type"] == "error", start=start, what=f"an error for {raw!r}"
            )
            assert error["code"] == "invalid", error
        await sock.send({"type": "ping"})
        await sock.wait_for(lambda f: f["type"] == "pong")
        assert sock.closed_code is None
    finally:
        await sock.close()


async def test_a_frame_over_64_kib_closes_the_socket_with_4009(embedded_server: LiveServer):
    async with connect(
        embedded_server.ws_url("/ws/widget/"), origin=embedded_server.origin, max_size=2**20
    ) as ws:
        await ws.send(json.dumps({"type": "hello", "department": "support"}))
        assert json.loads(await ws.recv())["type"] == "welcome"
        await ws.send(
            json.dumps(
                {"type": "message", "client_id": str(uuid.uuid4()), "body": "x" * (70 * 1024)}
            )
        )
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4009


async def test_a_forged_agent_token_closes_with_4001_before_any_data(embedded_server: LiveServer):
    async with connect(embedded_server.ws_url("/ws/agent/"), origin=embedded_server.origin) as ws:
        await ws.send(json.dumps({"type": "hello", "token": "cpt_" + "0" * 32 + "." + "0" * 64}))
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001


async def test_the_agent_welcome_carries_the_documented_fields(embedded_server: LiveServer):
    import asyncio

    token = await asyncio.to_thread(embedded_server.agent_token, "boris")
    sock = ProtocolSocket(
        embedded_server.ws_url("/ws/agent/"), origin=embedded_server.origin, name="agent"
    )
    await sock.open()
    try:
        await sock.send({"type": "hello", "token": token})
        welcome = await sock.wait_for(lambda f: f["type"] == "welcome")
        assert {"agent", "conversations", "queues"} <= set(welcome)
        assert {"id", "name", "departments", "max_chats", "status"} <= set(welcome["agent"])
        assert welcome["agent"]["departments"] == ["support"]
        for queue in welcome["queues"]:
            assert {"department", "waiting", "oldest_wait_s"} <= set(queue)
    finally:
        await sock.close()
