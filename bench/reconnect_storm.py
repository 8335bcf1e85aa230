"""Reconnect storm: SIGKILL a worker holding N widget sockets; every client resumes on the other.

Two `chatportal serve` workers on a throw-away PostgreSQL database and a
private Redis key prefix (tests/live_server.py). N visitor sockets say
`hello` on worker A and keep the token from their `welcome`; the first
`--chatting` of them start a chat and then send a message every
`--interval` seconds. Then worker A is killed (SIGKILL: no close frames, no
drain). Each client does what docs/protocol.md asks of a widget after a lost
socket: reconnect at once with a little jitter, to the other worker, say
`hello` with its token and `resume`, and send its unacknowledged messages
again with the same `client_id`.

Reported (one JSON object): seconds from the kill until every client has its
`welcome` on worker B (and the p50/p99 of each client's own wait), clients
that never got back, and, read from the database at the end, messages lost
(acknowledged, yet not in the log), messages never written (not
acknowledged: their client never got back to send them again) and messages
written twice.

    .venv/bin/python bench/reconnect_storm.py --sockets 5000 --chatting 200
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.loadgen import distribution_ms  # noqa: E402
from bench.run_chat_bench import create_bench_agents  # noqa: E402
from bench.throwaway import throwaway_chatportal  # noqa: E402
from tests.live_server import DaphneWorker  # noqa: E402

JITTER_S = 0.5
GIVE_UP_S = 120.0


@dataclass
class Client:
    index: int
    token: str | None = None
    conversation: str | None = None
    last_seq: int = 0
    sent: dict[str, str] = field(default_factory=dict)  # client_id -> body
    unacked: dict[str, str] = field(default_factory=dict)
    conn: ClientConnection | None = None
    welcomed: asyncio.Event = field(default_factory=asyncio.Event)
    resumed_after_s: float | None = None
    failures: int = 0
    last_error: str = ""


async def say_hello(client: Client, worker: DaphneWorker, *, resume: bool, wait_s: float) -> None:
    client.welcomed.clear()
    client.conn = await connect(
        worker.ws_url("/ws/widget/"),
        origin=worker.origin,
        open_timeout=wait_s,
        compression=None,
        ping_interval=None,
    )
    hello: dict[str, Any] = {
        "type": "hello",
        "token": client.token,
        "department": "support",
        "profile": {"name": f"Storm {client.index}"},
        "locale": "en",
    }
    if resume and client.conversation:
        hello["resume"] = {client.conversation: client.last_seq}
    await client.conn.send(json.dumps(hello))
    async with asyncio.timeout(wait_s):
        while True:
            frame = json.loads(await client.conn.recv())
            if frame.get("type") == "welcome":
                client.token = frame["token"]
                client.welcomed.set()
                return
            if frame.get("type") == "error":
                raise RuntimeError(f"hello refused: {frame}")


async def read_frames(client: Client) -> None:
    """Acks and events until the socket closes."""
    assert client.conn is not None
    try:
        async for raw in client.conn:
            frame = json.loads(raw)
            if frame.get("type") == "ack":
                client.conversation = client.conversation or frame.get("conversation")
                client.unacked.pop(frame.get("client_id", ""), None)
                client.last_seq = max(client.last_seq, frame.get("seq") or 0)
            elif frame.get("type") == "event" and frame.get("conversation") == client.conversation:
                client.last_seq = max(client.last_seq, frame["seq"])
    except ConnectionClosed:
        pass


async def send_message(client: Client, client_id: str, body: str) -> None:
    assert client.conn is not None
    frame = {"type": "message", "client_id": client_id, "body": body}
    await client.conn.send(json.dumps(frame))


async def chat_loop(client: Client, interval: float, stop: asyncio.Event) -> None:
    """One message per interval while connected; a message sent is remembered as unacked."""
    k = 0
    while not stop.is_set():
        await asyncio.sleep(interval * random.uniform(0.8, 1.2))
        if not client.welcomed.is_set():
            continue
        client_id, body = str(uuid.uuid4()), f"storm {client.index}.{k}"
        k += 1
        client.sent[client_id] = body
        client.unacked[client_id] = body
        with contextlib.suppress(ConnectionClosed):  # if closed: sent again after the resume
            await send_message(client, client_id, body)


async def resume_on(client: Client, worker: DaphneWorker, killed_at: float, wait_s: float) -> None:
    await asyncio.sleep(random.uniform(0, JITTER_S))
    deadline = killed_at + GIVE_UP_S
    delay = 0.5
    while time.monotonic() < deadline:
        try:
            await say_hello(client, worker, resume=True, wait_s=wait_s)
            break
        except Exception as exc:  # noqa: BLE001 (a refused or timed-out handshake: try again)
            client.failures += 1
            client.last_error = type(exc).__name__ + ": " + str(exc)[:60]
            await asyncio.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 5.0)
    else:
        return
    client.resumed_after_s = time.monotonic() - killed_at
    asyncio.create_task(read_frames(client))
    for client_id, body in list(client.unacked.items()):
        await send_message(client, client_id, body)


async def keep_an_agent_on(worker: DaphneWorker, token: str, stop: asyncio.Event) -> None:
    """One agent on the surviving worker who accepts every chat (so chats are chats, not tickets)."""
    async with connect(worker.ws_url("/ws/agent/"), origin=worker.origin, compression=None) as conn:
        await conn.send(json.dumps({"type": "hello", "token": token}))
        await conn.send(json.dumps({"type": "presence", "status": "online"}))
        accepted: set[str] = set()
        last_ping = time.monotonic()
        while not stop.is_set():
            try:
                frame = json.loads(await asyncio.wait_for(conn.recv(), 1.0))
            except TimeoutError:
                frame = {}
            if time.monotonic() - last_ping > 10:
                await conn.send(json.dumps({"type": "ping"}))
                last_ping = time.monotonic()
            conversation = frame.get("conversation") if frame.get("type") == "assigned" else None
            if isinstance(conversation, dict) and conversation.get("id") not in accepted:
                accepted.add(conversation["id"])
                await conn.send(json.dumps({"type": "accept", "conversation": conversation["id"]}))
                # Within the agent socket's frame limit (30/s, burst 60), or it is
                # closed with 4029 when 200 chats arrive at once.
                await asyncio.sleep(1 / 20)


async def open_all(clients: list[Client], worker: DaphneWorker, in_flight: int, wait_s: float):
    gate = asyncio.Semaphore(in_flight)

    async def one(client: Client) -> None:
        for attempt in range(5):
            try:
                async with gate:
                    await say_hello(client, worker, resume=False, wait_s=wait_s)
                break
            except Exception:  # noqa: BLE001 (a refused or timed-out handshake: try again)
                client.failures += 1
                if attempt == 4:
                    raise
                await asyncio.sleep(1 + attempt)
        asyncio.create_task(read_frames(client))

    await asyncio.gather(*(one(c) for c in clients))


def stored_messages(database_url: str) -> dict[str, int]:
    """client_id -> how many times the log holds it (visitor messages)."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT client_id::text, count(*) FROM chat_conversationevent "
            "WHERE kind = 'message' AND author_role = 'visitor' AND client_id IS NOT NULL "
            "GROUP BY client_id"
        ).fetchall()
    return {client_id: n for client_id, n in rows}


async def storm(
    worker_a: DaphneWorker, worker_b: DaphneWorker, agent_token: str, args: argparse.Namespace
) -> dict[str, Any]:
    clients = [Client(i) for i in range(args.sockets)]
    agent_stop = asyncio.Event()
    agent = asyncio.create_task(keep_an_agent_on(worker_b, agent_token, agent_stop))
    await asyncio.sleep(2)  # presence is written asynchronously
    started = time.monotonic()
    await open_all(clients, worker_a, args.in_flight, args.connect_timeout)
    opened_s = time.monotonic() - started
    chatting = clients[: args.chatting]
    for client in chatting:
        first = str(uuid.uuid4())
        client.sent[first] = client.unacked[first] = f"storm {client.index} opens"
        await send_message(client, first, client.sent[first])
    stop = asyncio.Event()
    loops = [asyncio.create_task(chat_loop(c, args.interval, stop)) for c in chatting]
    await asyncio.sleep(args.before_kill)

    killed_at = time.monotonic()
    await asyncio.to_thread(worker_a.kill)
    await asyncio.gather(
        *(resume_on(c, worker_b, killed_at, args.connect_timeout) for c in clients)
    )
    all_back_s = time.monotonic() - killed_at
    await asyncio.sleep(args.after_resume)
    stop.set()
    await asyncio.gather(*loops)
    await asyncio.sleep(3)  # the last acks
    for client in chatting:  # anything still unacked goes once more, as a widget would
        if client.unacked and client.conn is not None:
            for client_id, body in list(client.unacked.items()):
                with contextlib.suppress(ConnectionClosed):
                    await send_message(client, client_id, body)
    await asyncio.sleep(3)
    for client in clients:
        if client.conn is not None:
            await client.conn.close()
    agent_stop.set()
    await agent

    stored = await asyncio.to_thread(stored_messages, worker_b.env["DATABASE_URL"])
    sent = [cid for c in chatting for cid in c.sent]
    waits = [c.resumed_after_s for c in clients if c.resumed_after_s is not None]
    return {
        "sockets": args.sockets,
        "chatting": args.chatting,
        "opened_on_a_s": round(opened_s, 1),
        "all_resumed_on_b_s": round(all_back_s, 2),
        "resume_wait_ms": distribution_ms(waits),
        "never_resumed": sum(1 for c in clients if c.resumed_after_s is None),
        "handshake_retries": sum(c.failures for c in clients),
        "last_errors": Counter(c.last_error for c in clients if c.last_error).most_common(4),
        "messages_sent": len(sent),
        # Acknowledged, then missing from the log: what must never happen.
        "lost": sum(
            1 for c in chatting for cid in c.sent if cid not in c.unacked and cid not in stored
        ),
        # Never acknowledged and not in the log: the client never got back to send it again.
        "never_written_unacked": sum(1 for cid in sent if cid not in stored)
        - sum(1 for c in chatting for cid in c.sent if cid not in c.unacked and cid not in stored),
        "written_twice": sum(1 for cid in sent if stored.get(cid, 0) > 1),
        "still_unacked_at_end": sum(len(c.unacked) for c in chatting),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=5000)
    parser.add_argument("--chatting", type=int, default=200)
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between messages")
    parser.add_argument("--before-kill", type=float, default=10.0)
    parser.add_argument("--after-resume", type=float, default=10.0)
    parser.add_argument("--in-flight", type=int, default=200)
    parser.add_argument("--connect-timeout", type=float, default=30.0)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    if not 1 <= args.sockets <= 15_000 or not 0 <= args.chatting <= args.sockets:
        parser.error("sockets 1..15000, chatting 0..sockets")

    tokens: list[str] = []

    def one_agent(env: dict[str, str]) -> None:
        agent = create_bench_agents(
            env, count=1, max_chats=args.chatting + 10, department="support"
        )
        tokens.append(agent[0]["token"])

    with throwaway_chatportal("storm", workers=2, before_workers=one_agent) as (_env, workers):
        report = asyncio.run(storm(workers[0], workers[1], tokens[0], args))
    text = json.dumps(report, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
