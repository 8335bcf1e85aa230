"""A console that goes silent over an open connection loses its agent's presence (lid shut).

boris's console is a raw WebSocket over a real daphne worker: it says hello,
goes online, accepts a chat, and then neither reads nor writes again while its
TCP connection stays open (no close frame, no reset). His presence must expire
one TTL after that last frame and his chat go back to the queue after the
grace, to ana, whose console keeps pinging and stays online throughout; not
when daphne's own ping timeout (20 s + 30 s) finally closes the socket.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
import sqlite3
import time
from typing import Any

import pytest

from tests.live_server import LiveServer
from tests.multiprocess.routing_clients import (
    assigned_id,
    is_event,
    open_agent_socket,
    open_visitor_socket,
    published_status,
)

pytestmark = [pytest.mark.timeout(180)]

TTL_S = 3
GRACE_S = 2
SWEEP_S = 0.5
HEARTBEAT_S = 1.0
# Two sweeps and a busy two-core machine; far below daphne's ping timeout.
SLACK_S = 2 * SWEEP_S + 4


@pytest.fixture
def embedded_server_env() -> dict[str, str]:
    return {
        "CHATPORTAL_PRESENCE_TTL_S": str(TTL_S),
        "CHATPORTAL_PRESENCE_GRACE_S": str(GRACE_S),
        "CHATPORTAL_SWEEP_INTERVAL_S": str(SWEEP_S),
    }


class SilentClient:
    """A WebSocket client by hand: a few frames, then nothing, the TCP connection kept open."""

    def __init__(self, server: LiveServer, path: str) -> None:
        worker = server.worker
        self.sock = socket.create_connection((worker.host, worker.port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {worker.host}:{worker.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: {worker.origin}\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            byte = self.sock.recv(1)
            assert byte, f"closed during the handshake: {head!r}"
            head += byte
        assert head.startswith(b"HTTP/1.1 101"), head

    def send(self, frame: dict[str, Any]) -> None:
        payload = json.dumps(frame).encode()
        assert len(payload) < 65536
        length = (
            bytes([0x80 | len(payload)])
            if len(payload) < 126
            else bytes([0x80 | 126]) + len(payload).to_bytes(2, "big")
        )
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(bytes([0x81]) + length + mask + masked)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def connection_rows(server: LiveServer, username: str) -> int:
    with contextlib.closing(
        sqlite3.connect(server.data_dir / "chatportal.sqlite3", timeout=10)
    ) as conn:
        [(rows,)] = conn.execute(
            "SELECT count(*) FROM queues_agentconnection c"
            " JOIN auth_user u ON u.id = c.user_id WHERE u.username = ?",
            (username,),
        ).fetchall()
    return rows


async def test_a_console_gone_silent_goes_offline_after_the_ttl_and_its_chat_moves_on(
    embedded_server: LiveServer,
):
    server = embedded_server
    token = await asyncio.to_thread(server.agent_token, "boris")
    # Fetched now (a `chatportal` command): ana must be online well before boris's TTL is up.
    await asyncio.to_thread(server.agent_token, "ana")
    boris = SilentClient(server, "/ws/agent/")
    visitor = ana = None
    try:
        boris.send({"type": "hello", "token": token})
        boris.send({"type": "presence", "status": "online"})
        visitor, _ = await open_visitor_socket(server, 0, name="Lid Shut")
        conversation = (await visitor.post_message("Is anyone there?"))["conversation"]
        # Routing offers it to boris (the only support agent online), or he takes it.
        boris.send({"type": "accept", "conversation": conversation})
        last_frame = time.monotonic()
        await visitor.wait_for(lambda f: is_event(f, "assigned", conversation), what="boris")
        # ana comes only now, so routing could not have given her the chat first.
        ana, _ = await open_agent_socket(server, 0, "ana", heartbeat_s=HEARTBEAT_S)
        ana_from, visitor_from = len(ana.frames), len(visitor.frames)

        await asyncio.sleep(TTL_S + SLACK_S)
        assert await asyncio.to_thread(connection_rows, server, "boris") == 0
        offline = await ana.wait_for(
            lambda f: (
                f["type"] == "presence"
                and f.get("agent") == "boris"
                and f.get("status") == "offline"
            ),
            start=ana_from,
            timeout=GRACE_S + SLACK_S,
            what="boris offline",
        )
        queued = await visitor.wait_for(
            lambda f: is_event(f, "queued", conversation),
            start=visitor_from,
            timeout=GRACE_S + SLACK_S,
            what="the requeue",
        )
        await ana.wait_for(
            lambda f: assigned_id(f) == conversation,
            start=ana_from,
            timeout=SLACK_S,
            what="the chat routed to ana",
        )
        timings = {
            "offline_after_s": offline["_received_at"] - last_frame,
            "requeued_after_s": queued["_received_at"] - last_frame,
        }
        print(
            f"\nsilent console ({TTL_S=} {GRACE_S=}):", {k: round(v, 2) for k, v in timings.items()}
        )
        # Not before its TTL and grace ran out, and not long after.
        for elapsed in timings.values():
            assert TTL_S + GRACE_S - 0.5 <= elapsed <= TTL_S + GRACE_S + SLACK_S, timings
        # ana, who kept pinging, never looked anything but online.
        assert not [
            f
            for f in ana.frames
            if f["type"] == "presence" and f.get("agent") == "ana" and f.get("status") != "online"
        ], ana.frames
        assert await asyncio.to_thread(published_status, server, "ana") == "online"
        assert await asyncio.to_thread(published_status, server, "boris") == "offline"
    finally:
        boris.close()
        for sock in (visitor, ana):
            if sock is not None:
                await sock.close()
