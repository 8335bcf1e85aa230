"""Open-loop load generator for Chatportal's chat sockets (PROTOCOL.md v1).

N conversations, each a visitor socket on /ws/widget/ and one of a few agent
sockets on /ws/agent/ (API tokens from `chatportal agent-token`), spread
round-robin over the given workers. Once every conversation has an agent,
each side sends R messages/s on a fixed schedule: send times never wait for
replies (open loop), so a slow server shows up as latency, not as a
politely slower client. Latency is measured from the *scheduled* send time
to the moment the other side receives the `event`, so a generator that falls
behind cannot hide the server's queueing (coordinated omission); how late the
generator itself was is reported separately as `send_lag_ms`.

It counts acks, errors, messages lost (acked but never delivered to the other
side), duplicated, and out of seq order per socket, and prints one JSON
summary. It is bounded in count and time, and talks only to loopback.

    python bench/loadgen.py --worker ws://127.0.0.1:8001 --worker ws://127.0.0.1:8002 \\
        --agents-file agents.json --conversations 200 --rate 1 --duration 60
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import math
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

MAX_CONVERSATIONS = 2000
MAX_DURATION_S = 1200.0  # a whole-box run: 10 minutes of chats beside the portal updates
MAX_RATE_PER_SIDE = 50.0
OPEN_BATCH = 20  # sockets opened at once while ramping up


class LoadgenError(RuntimeError):
    pass


# --------------------------------------------------------------------------
# Bookkeeping


@dataclass
class Sent:
    client_id: str
    conversation_index: int
    side: str  # "visitor" or "agent": who sent it
    scheduled_at: float
    sent_at: float = 0.0
    acked_at: float | None = None
    seq: int | None = None
    error: str | None = None
    delivered_at: list[float] = field(default_factory=list)  # to the other side


@dataclass
class Conversation:
    index: int
    visitor: Peer
    agent: Peer | None = None
    id: str | None = None


class Stats:
    def __init__(self) -> None:
        self.sent: dict[str, Sent] = {}
        self.errors: Counter[str] = Counter()
        self.error_details: Counter[str] = Counter()
        self.closed: Counter[str] = Counter()
        self.duplicates = 0
        self.out_of_order = 0
        self.reassigned = 0
        self.unassigned = 0
        self.skipped_no_agent = 0
        # Filled once every conversation has an agent: later (re)assignments move it.
        self.registry: dict[str, Conversation] = {}


class Peer:
    """One socket. The reader task records acks and events into Stats."""

    def __init__(self, url: str, origin: str, role: str, stats: Stats, name: str) -> None:
        self.url = url
        self.origin = origin
        self.role = role
        self.stats = stats
        self.name = name
        self.conn: ClientConnection | None = None
        self.reader: asyncio.Task[None] | None = None
        self.welcome: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.assigned: asyncio.Queue[str] = asyncio.Queue()
        self.pongs: asyncio.Queue[float] = asyncio.Queue()
        self._background: set[asyncio.Task[None]] = set()
        self.accepted: set[str] = set()
        self.last_seq: dict[str, int] = {}
        self.seen: dict[str, set[int]] = {}

    async def open(self, hello: dict[str, Any], wait_s: float) -> dict[str, Any]:
        try:
            self.conn = await connect(
                self.url,
                origin=self.origin,
                open_timeout=wait_s,
                max_size=2**20,
                compression=None,
                ping_interval=20,
                ping_timeout=60,
            )
        except InvalidStatus as exc:
            raise LoadgenError(
                f"{self.name}: handshake refused ({exc.response.status_code})"
            ) from exc
        except (InvalidHandshake, OSError) as exc:
            # e.g. daphne dropping a handshake it could not answer in time
            raise LoadgenError(f"{self.name}: handshake failed ({exc})") from exc
        self.reader = asyncio.create_task(self._read(), name=f"read-{self.name}")
        await self.send(hello)
        return await asyncio.wait_for(asyncio.shield(self.welcome), wait_s)

    async def send(self, frame: dict[str, Any]) -> None:
        assert self.conn is not None
        await self.conn.send(json.dumps(frame, separators=(",", ":")))

    async def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.conn.close(), 5)
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(BaseException):
                await self.reader

    async def _read(self) -> None:
        assert self.conn is not None
        try:
            async for raw in self.conn:
                now = time.monotonic()
                try:
                    frame = json.loads(raw)
                except ValueError:
                    self.stats.errors["non_json_frame"] += 1
                    continue
                self._on_frame(frame, now)
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else 1006
            self.stats.closed[str(code)] += 1
            if not self.welcome.done():
                self.welcome.set_exception(
                    LoadgenError(f"{self.name}: closed {code} before welcome")
                )
        finally:
            for future in self.acks.values():
                if not future.done():
                    future.set_exception(LoadgenError(f"{self.name}: socket closed"))

    def _on_frame(self, frame: dict[str, Any], now: float) -> None:
        kind = frame.get("type")
        if kind == "welcome":
            if not self.welcome.done():
                self.welcome.set_result(frame)
        elif kind == "ack":
            self._on_ack(frame, now)
        elif kind == "event":
            self._on_event(frame, now)
        elif kind == "pong":
            self.pongs.put_nowait(now)
        elif kind == "assigned":
            conv = frame.get("conversation") or {}
            if isinstance(conv, dict) and isinstance(conv.get("id"), str):
                # Routing offers the chat; an agent that does not answer the
                # offer in time loses it, so this agent answers at once.
                # The answer to an accept is another `assigned`: accept once.
                if conv["id"] not in self.accepted:
                    self.accepted.add(conv["id"])
                    self._spawn(self.send({"type": "accept", "conversation": conv["id"]}))
                self.assigned.put_nowait(conv["id"])
                known = self.stats.registry.get(conv["id"])
                if known is not None and known.agent is not self:
                    self.stats.reassigned += 1
                    known.agent = self
        elif kind == "unassigned":
            conv_id = frame.get("conversation")
            if isinstance(conv_id, dict):
                conv_id = conv_id.get("id")
            known = self.stats.registry.get(conv_id) if isinstance(conv_id, str) else None
            if known is not None and known.agent is self:
                self.stats.unassigned += 1
                known.agent = None
        elif kind == "error":
            code = str(frame.get("code", "unknown"))
            self.stats.errors[code] += 1
            if len(self.stats.error_details) < 50:
                self.stats.error_details[f"{code}: {str(frame.get('detail', ''))[:100]}"] += 1
            client_id = frame.get("client_id")
            future = self.acks.pop(client_id, None) if isinstance(client_id, str) else None
            if future is not None and not future.done():
                future.set_result(frame)
            record = self.stats.sent.get(client_id) if isinstance(client_id, str) else None
            if record is not None:
                record.error = code

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _on_ack(self, frame: dict[str, Any], now: float) -> None:
        client_id = frame.get("client_id")
        if not isinstance(client_id, str):
            self.stats.errors["ack_without_client_id"] += 1
            return
        record = self.stats.sent.get(client_id)
        if record is not None:
            record.acked_at = now
            record.seq = frame.get("seq")
        future = self.acks.pop(client_id, None)
        if future is not None and not future.done():
            future.set_result(frame)

    def _on_event(self, frame: dict[str, Any], now: float) -> None:
        conversation = frame.get("conversation")
        seq = frame.get("seq")
        if not isinstance(conversation, str) or not isinstance(seq, int):
            self.stats.errors["event_without_seq"] += 1
            return
        seen = self.seen.setdefault(conversation, set())
        if seq in seen:
            self.stats.duplicates += 1
            return
        seen.add(seq)
        if seq <= self.last_seq.get(conversation, 0):
            self.stats.out_of_order += 1
        else:
            self.last_seq[conversation] = seq
        if frame.get("kind") != "message":
            return
        client_id = frame.get("client_id")
        record = self.stats.sent.get(client_id) if isinstance(client_id, str) else None
        # Duplicates are counted per socket above; after a reassignment a
        # message may also reach the conversation's previous agent socket.
        if record is not None and record.side != self.role:
            record.delivered_at.append(now)

    async def post(self, frame: dict[str, Any], wait_s: float) -> dict[str, Any]:
        """Send a message frame and wait for its ack (setup only; the load is open loop)."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.acks[frame["client_id"]] = future
        await self.send(frame)
        return await asyncio.wait_for(future, wait_s)


# --------------------------------------------------------------------------
# Percentiles and the summary


def percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    rank = max(0, min(len(sorted_values) - 1, math.ceil(q / 100 * len(sorted_values)) - 1))
    return sorted_values[rank]


def distribution_ms(values_s: list[float]) -> dict[str, float | int | None]:
    values = sorted(v * 1000 for v in values_s)
    out: dict[str, float | int | None] = {"count": len(values)}
    for name, q in (("p50", 50), ("p90", 90), ("p99", 99), ("p999", 99.9)):
        value = percentile(values, q)
        out[name] = round(value, 2) if value is not None else None
    out["max"] = round(values[-1], 2) if values else None
    out["mean"] = round(sum(values) / len(values), 2) if values else None
    return out


# Log-spaced latency buckets for plots: 20 per decade from 0.1 ms to 100 s, so
# a run keeps ~120 counts instead of every sample.
HISTOGRAM_FLOOR_MS = 0.1
HISTOGRAM_BUCKETS_PER_DECADE = 20
HISTOGRAM_DECADES = 6


def histogram_edges_ms() -> list[float]:
    steps = HISTOGRAM_BUCKETS_PER_DECADE * HISTOGRAM_DECADES
    return [
        round(HISTOGRAM_FLOOR_MS * 10 ** (i / HISTOGRAM_BUCKETS_PER_DECADE), 6)
        for i in range(steps + 1)
    ]


def histogram_ms(values_s: list[float]) -> dict[str, list[float] | list[int]]:
    """Counts per bucket: counts[i] holds values in [edges[i], edges[i+1]); the ends are clamped."""
    edges = histogram_edges_ms()
    counts = [0] * (len(edges) - 1)
    for value in values_s:
        ms = max(value * 1000, HISTOGRAM_FLOOR_MS)
        index = int(math.log10(ms / HISTOGRAM_FLOOR_MS) * HISTOGRAM_BUCKETS_PER_DECADE)
        counts[min(index, len(counts) - 1)] += 1
    return {"edges_ms": edges, "counts": counts}


def slowest_seconds(delivered: list[Sent], start: float, count: int = 8) -> list[dict[str, Any]]:
    """The seconds of the run (by scheduled send) with the worst latency: periodic stalls show here."""
    by_second: dict[int, list[float]] = {}
    for r in delivered:
        by_second.setdefault(int(r.scheduled_at - start), []).append(
            r.delivered_at[0] - r.scheduled_at
        )
    worst = sorted(by_second.items(), key=lambda item: max(item[1]), reverse=True)[:count]
    return [
        {"second": second, "messages": len(values), **distribution_ms(values)}
        for second, values in sorted(worst)
    ]


def summarize(
    args: argparse.Namespace, stats: Stats, window: tuple[float, float], setup: dict[str, Any]
) -> dict[str, Any]:
    start, end = window
    records = list(stats.sent.values())
    acked = [r for r in records if r.acked_at is not None and r.error is None]
    delivered = [r for r in acked if r.delivered_at]
    lost = [r for r in acked if not r.delivered_at]
    unacked = [r for r in records if r.acked_at is None and r.error is None]
    e2e = [r.delivered_at[0] - r.scheduled_at for r in delivered]
    e2e_from_send = [r.delivered_at[0] - r.sent_at for r in delivered]
    ack = [r.acked_at - r.sent_at for r in acked if r.acked_at is not None]
    lag = [max(0.0, r.sent_at - r.scheduled_at) for r in records]
    # From the first scheduled send to the last ack: what the server sustained.
    last_ack = max((r.acked_at for r in acked if r.acked_at is not None), default=end)
    seconds = max(last_ack - start, 1e-9)
    last_delivery = max((r.delivered_at[0] for r in delivered), default=end)
    target_rate = args.conversations * args.rate * 2
    return {
        "config": {
            "workers": args.worker,
            "conversations": args.conversations,
            "rate_per_side_msg_s": args.rate,
            "target_msg_s": target_rate,
            "duration_s": args.duration,
            "drain_s": args.drain,
            "agents": setup["agents"],
            "department": args.department,
        },
        "setup": setup,
        "counts": {
            "sent": len(records),
            "acked": len(acked),
            "unacked": len(unacked),
            "errors": dict(stats.errors),
            "error_details": dict(stats.error_details),
            "sockets_closed": dict(stats.closed),
            "delivered": len(delivered),
            "lost": len(lost),
            "duplicated": stats.duplicates,
            "out_of_order": stats.out_of_order,
            "reassigned": stats.reassigned,
            "unassigned": stats.unassigned,
            "agent_sends_skipped_unassigned": stats.skipped_no_agent,
        },
        "throughput_msg_s": {
            "target": target_rate,
            "acked": round(len(acked) / seconds, 1),
            "delivered": round(len(delivered) / max(last_delivery - start, 1e-9), 1),
        },
        "latency_ms": {
            "end_to_end_from_schedule": distribution_ms(e2e),
            "end_to_end_from_send": distribution_ms(e2e_from_send),
            "ack": distribution_ms(ack),
        },
        "send_lag_ms": distribution_ms(lag),
        "end_to_end_histogram": histogram_ms(e2e),
        "slowest_seconds": slowest_seconds(delivered, start),
        "lost_examples": [
            {"side": r.side, "conversation": r.conversation_index, "seq": r.seq} for r in lost[:10]
        ],
    }


# --------------------------------------------------------------------------
# The run


def origin_for(worker: str) -> str:
    parts = urlsplit(worker)
    scheme = "https" if parts.scheme == "wss" else "http"
    return f"{scheme}://{parts.netloc}"


def check_loopback(worker: str) -> str:
    parts = urlsplit(worker)
    if parts.scheme not in {"ws", "wss"} or not parts.hostname:
        raise argparse.ArgumentTypeError(f"{worker!r}: expected ws://127.0.0.1:PORT")
    host = parts.hostname
    if host != "localhost":
        try:
            if not ipaddress.ip_address(host).is_loopback:
                raise ValueError
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{worker!r}: the load generator only targets loopback addresses"
            ) from None
    return worker.rstrip("/")


def load_agents(path: Path) -> list[dict[str, str]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise LoadgenError(f"cannot read agents file {path}: {exc}") from exc
    if isinstance(data, dict):
        data = [{"username": k, "token": v} for k, v in data.items()]
    if (
        not isinstance(data, list)
        or not data
        or not all(
            isinstance(a, dict) and isinstance(a.get("token"), str) and a["token"] for a in data
        )
    ):
        raise LoadgenError(f"{path}: expected a non-empty list of {{username, token}} or a mapping")
    return [{"username": str(a.get("username", "?")), "token": a["token"]} for a in data]


def body_for(conversation: int, side: str, k: int) -> str:
    return f"loadgen c{conversation} {side} #{k} {uuid.uuid4().hex[:8]}"


async def open_agents(args, agents, stats) -> list[Peer]:
    peers = []
    for i, agent in enumerate(agents):
        worker = args.worker[i % len(args.worker)]
        peer = Peer(
            f"{worker}/ws/agent/",
            args.origin or origin_for(worker),
            "agent",
            stats,
            f"agent-{agent['username']}",
        )
        await peer.open({"type": "hello", "token": agent["token"]}, args.connect_timeout)
        await peer.send({"type": "presence", "status": "online"})
        peers.append(peer)
    # Presence is written asynchronously; give it a moment before chats arrive.
    await asyncio.sleep(1.0)
    return peers


async def open_conversation(args, index: int, stats: Stats) -> Conversation:
    worker = args.worker[index % len(args.worker)]
    visitor = Peer(
        f"{worker}/ws/widget/",
        args.origin or origin_for(worker),
        "visitor",
        stats,
        f"visitor-{index}",
    )
    await visitor.open(
        {
            "type": "hello",
            "token": None,
            "department": args.department,
            "profile": {"name": f"Load {index}"},
            "locale": "en",
        },
        args.connect_timeout,
    )
    ack = await visitor.post(
        {"type": "message", "client_id": str(uuid.uuid4()), "body": f"loadgen c{index} opens"},
        args.connect_timeout,
    )
    if ack.get("type") != "ack":
        raise LoadgenError(f"visitor-{index}: first message answered {ack}")
    return Conversation(index=index, visitor=visitor, id=ack["conversation"])


async def collect_assignments(
    conversations: list[Conversation], agents: list[Peer], wait_s: float, accept_wait_s: float
) -> int:
    """Map each conversation to the agent socket it was routed to; accept leftovers."""
    by_id = {c.id: c for c in conversations}
    unassigned = {c.id for c in conversations}
    all_assigned = asyncio.Event()

    async def drain(agent: Peer) -> None:
        while True:
            conv_id = await agent.assigned.get()
            conv = by_id.get(conv_id)
            if conv is not None and conv.agent is None:
                conv.agent = agent
                unassigned.discard(conv_id)
                if not unassigned:
                    all_assigned.set()

    drains = [asyncio.create_task(drain(a)) for a in agents]
    accepted = 0
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_assigned.wait(), wait_s)
        # Manual-routing departments (or a full house): agents pick what is left.
        leftovers = [c for c in conversations if c.agent is None]
        for i, conv in enumerate(leftovers):
            agent = agents[i % len(agents)]
            agent.accepted.add(conv.id)
            await agent.send({"type": "accept", "conversation": conv.id})
            accepted += 1
        if leftovers:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(all_assigned.wait(), accept_wait_s)
    finally:
        for task in drains:
            task.cancel()
    missing = [c.index for c in conversations if c.agent is None]
    if missing:
        errors = dict(agents[0].stats.error_details) if agents else {}
        raise LoadgenError(
            f"{len(missing)} conversations never got an agent (e.g. {missing[:5]}); errors so far: {errors}"
        )
    return accepted


async def settle(agents: list[Peer], *, quiet_ms: float, wait_s: float) -> dict[str, Any]:
    """Wait until the workers have worked off the setup backlog.

    Opening hundreds of chats leaves every worker with a queue of doorbells
    (queue changes fan out to every agent). Measuring on top of that backlog
    would measure the setup, so ping every agent socket (a ping does a
    database round trip on the worker's one sync thread, behind that
    backlog) until every pong is quick twice in a row.
    """
    started = time.monotonic()
    rounds, quick_in_a_row, worst_ms = 0, 0, float("inf")
    while time.monotonic() - started < wait_s:
        rounds += 1
        sent_at = time.monotonic()
        for agent in agents:
            await agent.send({"type": "ping"})
        with contextlib.suppress(TimeoutError):
            pongs = await asyncio.wait_for(asyncio.gather(*(a.pongs.get() for a in agents)), wait_s)
            worst_ms = (max(pongs) - sent_at) * 1000
            quick_in_a_row = quick_in_a_row + 1 if worst_ms <= quiet_ms else 0
            if quick_in_a_row >= 2:
                break
        await asyncio.sleep(0.5)
    return {
        "rounds": rounds,
        "last_worst_pong_ms": round(worst_ms, 1),
        "seconds": round(time.monotonic() - started, 1),
        "settled": quick_in_a_row >= 2,
    }


async def run_side(conv: Conversation, side: str, args, stats: Stats, t0: float) -> None:
    assert conv.id is not None
    interval = 1.0 / args.rate
    # A random phase per conversation and side spreads sends over the interval.
    phase = random.random() * interval  # noqa: S311 (not security-relevant)
    count = int(args.duration * args.rate)
    for k in range(count):
        scheduled = t0 + phase + k * interval
        delay = scheduled - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        # The agent side follows reassignments (offer timeouts, requeues).
        peer = conv.visitor if side == "visitor" else conv.agent
        if peer is None:
            stats.skipped_no_agent += 1
            continue
        client_id = str(uuid.uuid4())
        record = Sent(client_id, conv.index, side, scheduled)
        stats.sent[client_id] = record
        frame: dict[str, Any] = {
            "type": "message",
            "client_id": client_id,
            "body": body_for(conv.index, side, k),
        }
        if side == "agent":
            frame.update(conversation=conv.id, internal=False)
        record.sent_at = time.monotonic()
        try:
            await peer.send(frame)
        except ConnectionClosed:
            record.error = "socket_closed"
            if side == "visitor":
                return


async def run(args: argparse.Namespace) -> dict[str, Any]:
    stats = Stats()
    agents_conf = load_agents(args.agents_file)
    setup: dict[str, Any] = {"agents": len(agents_conf)}
    t_setup = time.monotonic()
    agents = await open_agents(args, agents_conf, stats)
    conversations: list[Conversation] = []
    try:
        for start in range(0, args.conversations, OPEN_BATCH):
            batch = range(start, min(start + OPEN_BATCH, args.conversations))
            conversations += await asyncio.gather(
                *(open_conversation(args, i, stats) for i in batch)
            )
        setup["accepted_manually"] = await collect_assignments(
            conversations, agents, args.assign_timeout, args.accept_timeout
        )
        setup["per_agent"] = dict(Counter(c.agent.name for c in conversations if c.agent))
        setup["settle"] = await settle(agents, quiet_ms=args.settle_ms, wait_s=args.settle_timeout)
        setup["seconds"] = round(time.monotonic() - t_setup, 2)
        # The setup traffic (the first messages) is not part of the measurement.
        stats.sent.clear()
        stats.duplicates = stats.out_of_order = 0
        stats.errors.clear()
        stats.error_details.clear()
        stats.registry = {c.id: c for c in conversations if c.id}

        t0 = time.monotonic() + 0.5
        # A marker for wrappers (bench/run_chat_bench.py starts its profiler here).
        print(f"STEADY {json.dumps(setup)}", file=sys.stderr, flush=True)
        senders = [
            asyncio.create_task(run_side(conv, side, args, stats, t0))
            for conv in conversations
            for side in ("visitor", "agent")
        ]
        await asyncio.gather(*senders)
        t_end_send = time.monotonic()
        deadline = t_end_send + args.drain
        while time.monotonic() < deadline:
            pending = [
                r
                for r in stats.sent.values()
                if r.error is None and (r.acked_at is None or not r.delivered_at)
            ]
            if not pending:
                break
            await asyncio.sleep(0.25)
        return summarize(args, stats, (t0, t_end_send + 1.0), setup)
    finally:
        await asyncio.gather(*(c.visitor.close() for c in conversations), return_exceptions=True)
        await asyncio.gather(*(a.close() for a in agents), return_exceptions=True)


def positive(kind, upper: float):
    def parse(text: str):
        value = kind(text)
        if not 0 < value <= upper:
            raise argparse.ArgumentTypeError(f"must be in (0, {upper}]")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--worker",
        action="append",
        type=check_loopback,
        required=True,
        help="base WebSocket URL of a worker, e.g. ws://127.0.0.1:8001 (repeat for several)",
    )
    parser.add_argument(
        "--agents-file",
        type=Path,
        required=True,
        help='JSON: [{"username": "...", "token": "..."}] or {"username": "token"}',
    )
    parser.add_argument("--conversations", type=positive(int, MAX_CONVERSATIONS), default=20)
    parser.add_argument(
        "--rate",
        type=positive(float, MAX_RATE_PER_SIDE),
        default=1.0,
        help="messages per second per side of each conversation",
    )
    parser.add_argument("--duration", type=positive(float, MAX_DURATION_S), default=30.0)
    parser.add_argument(
        "--drain",
        type=positive(float, 120),
        default=15.0,
        help="seconds to wait for outstanding acks and deliveries after the last send",
    )
    parser.add_argument("--department", default="support")
    parser.add_argument(
        "--origin", default=None, help="Origin header (default: the worker's own origin)"
    )
    parser.add_argument("--connect-timeout", type=positive(float, 120), default=30.0)
    parser.add_argument(
        "--assign-timeout",
        type=positive(float, 300),
        default=5.0,
        help="seconds to wait for routing before agents accept what is left",
    )
    parser.add_argument(
        "--accept-timeout",
        type=positive(float, 600),
        default=120.0,
        help="seconds to wait for the answers to those accepts",
    )
    parser.add_argument(
        "--settle-ms",
        type=positive(float, 5000),
        default=150.0,
        help="after setup, wait until every agent's ping answers within this",
    )
    parser.add_argument("--settle-timeout", type=positive(float, 600), default=180.0)
    parser.add_argument(
        "--output", type=Path, default=None, help="also write the JSON summary here"
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed for send phases")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.seed is not None:
        random.seed(args.seed)
    try:
        summary = asyncio.run(asyncio.wait_for(run(args), timeout=args.duration + args.drain + 600))
    except (LoadgenError, TimeoutError) as exc:
        print(json.dumps({"error": str(exc) or type(exc).__name__}), file=sys.stderr)
        return 2
    text = json.dumps(summary, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")
    e2e = summary["latency_ms"]["end_to_end_from_schedule"]
    counts = summary["counts"]
    print(
        f"e2e p50={e2e['p50']} p90={e2e['p90']} p99={e2e['p99']} max={e2e['max']} ms;"
        f" acked {summary['throughput_msg_s']['acked']} msg/s of {summary['throughput_msg_s']['target']};"
        f" lost={counts['lost']} duplicated={counts['duplicated']} out_of_order={counts['out_of_order']}",
        file=sys.stderr,
    )
    return (
        0
        if counts["lost"] == 0 and counts["duplicated"] == 0 and counts["out_of_order"] == 0
        else 1
    )


if __name__ == "__main__":
    sys.exit(main())
