"""SIGTERM on a real daphne worker: sockets told to reconnect, in-flight frames finished.

`chatportal serve` drains on SIGTERM (foundation/shutdown.py): every socket
gets close code 1012 after the frame it is handling, so everything the
server committed was acked first, and a client that resends what was not
acked (same `client_id`) after reconnecting ends with every message exactly
once. Runs on the embedded server (SQLite): no services needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
import uuid

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.live_server import LiveServer

BURST = 15  # under the widget's burst of 20 frames (hello included)


async def read_until_closed(conn, frames: list[dict], timeout: float) -> int:
    deadline = time.monotonic() + timeout
    try:
        while True:
            remaining = deadline - time.monotonic()
            raw = await asyncio.wait_for(conn.recv(), remaining)
            frames.append(json.loads(raw))
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else 1006


async def test_sigterm_closes_sockets_with_1012_after_acking_what_was_committed(
    embedded_server: LiveServer,
):
    worker = embedded_server.worker
    url, origin = worker.ws_url("/ws/widget/"), worker.origin
    client_ids = [str(uuid.uuid4()) for _ in range(BURST)]

    conn = await connect(url, origin=origin, open_timeout=20)
    await conn.send(json.dumps({"type": "hello", "department": "support"}))
    welcome = json.loads(await asyncio.wait_for(conn.recv(), 20))
    assert welcome["type"] == "welcome"
    token = welcome["token"]
    await conn.send(json.dumps({"type": "message", "client_id": client_ids[0], "body": "first"}))
    frames: list[dict] = []
    while not any(f.get("type") == "ack" for f in frames):
        frames.append(json.loads(await asyncio.wait_for(conn.recv(), 20)))
    conversation = next(f for f in frames if f["type"] == "ack")["conversation"]

    # A burst in flight, then SIGTERM while the server is still working through it.
    for index, client_id in enumerate(client_ids[1:], start=1):
        await conn.send(
            json.dumps({"type": "message", "client_id": client_id, "body": f"m{index}"})
        )
    signalled = time.monotonic()
    worker._signal(signal.SIGTERM)
    code = await read_until_closed(conn, frames, timeout=15)
    assert code == 1012, f"closed with {code}, frames: {frames[-3:]}"
    worker.process.wait(timeout=15)
    exited_s = time.monotonic() - signalled
    assert worker.process.returncode == 0, worker.log_tail()
    assert exited_s < 10, exited_s
    acked = {f["client_id"]: f["seq"] for f in frames if f["type"] == "ack"}
    assert client_ids[0] in acked
    assert all(f["type"] != "error" for f in frames), [f for f in frames if f["type"] == "error"]

    # Back up (another worker would do as well): the visitor resumes and resends the rest.
    worker.start()
    conn = await connect(url, origin=origin, open_timeout=20)
    await conn.send(
        json.dumps(
            {"type": "hello", "department": "support", "token": token, "resume": {conversation: 0}}
        )
    )
    replay: list[dict] = []
    unacked = [c for c in client_ids if c not in acked]
    try:
        deadline = time.monotonic() + 20
        while True:
            frame = json.loads(await asyncio.wait_for(conn.recv(), deadline - time.monotonic()))
            replay.append(frame)
            if frame["type"] == "welcome":
                continue
            if (
                frame["type"] == "event"
                and frame["kind"] == "message"
                and frame["seq"] >= max(acked.values())
            ):
                break
        # Anything else already in the log arrives now too.
        with contextlib.suppress(TimeoutError):
            while True:
                replay.append(json.loads(await asyncio.wait_for(conn.recv(), 1.0)))
        logged_before = {f["client_id"]: f["seq"] for f in replay if f.get("kind") == "message"}
        # Everything the first worker committed had been acked with the same seq: nothing
        # was cut off between the commit and the ack.
        assert logged_before == acked
        top = max(f["seq"] for f in replay if f["type"] == "event")
        for client_id in unacked:
            await conn.send(
                json.dumps({"type": "message", "client_id": client_id, "body": "resent"})
            )
        deadline = time.monotonic() + 20
        while sum(1 for f in replay if f.get("kind") == "message") < BURST:
            replay.append(
                json.loads(await asyncio.wait_for(conn.recv(), deadline - time.monotonic()))
            )
        resent_acks = [f for f in replay if f["type"] == "ack"]
        assert len(resent_acks) == len(unacked)
        # Not committed before: each resend is a new event, not a duplicate's original seq.
        assert all(f["seq"] > top for f in resent_acks)
    finally:
        await conn.close()
    messages = [f for f in replay if f["type"] == "event" and f.get("kind") == "message"]
    seqs = [f["seq"] for f in messages]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
    assert sorted(f["client_id"] for f in messages) == sorted(client_ids)


async def test_sigterm_with_an_agent_and_a_portal_idle_socket_closes_both_with_1012(
    embedded_server: LiveServer,
):
    worker = embedded_server.worker
    token = embedded_server.agent_token("boris")
    agent = await connect(worker.ws_url("/ws/agent/"), origin=worker.origin, open_timeout=20)
    await agent.send(json.dumps({"type": "hello", "token": token}))
    assert json.loads(await asyncio.wait_for(agent.recv(), 20))["type"] == "welcome"
    widget = await connect(worker.ws_url("/ws/widget/"), origin=worker.origin, open_timeout=20)
    await widget.send(json.dumps({"type": "hello", "department": "support"}))
    assert json.loads(await asyncio.wait_for(widget.recv(), 20))["type"] == "welcome"
    worker._signal(signal.SIGTERM)
    codes = await asyncio.gather(
        read_until_closed(agent, [], 15), read_until_closed(widget, [], 15)
    )
    assert codes == [1012, 1012]
    worker.process.wait(timeout=15)
    assert worker.process.returncode == 0
