"""Clients that survive chaos the way the widget and a console do (PROTOCOL.md §1).

A `Participant` is a person, not a socket: when its socket dies (aborted,
worker killed, closed by daphne's time limit) it reconnects to either worker
after a short random pause, says hello again with its token and
`resume` (what it has of each conversation), and
resends every message not yet acked with the same `client_id`. It pings
every 20 s as the widget does, and resumes when a pong shows it is behind.

Each participant keeps its transcript per conversation (events with a seq
above its mark, in the order they came) and counts, per socket, what the
protocol forbids:

- a duplicate: a seq it already had, arriving again without a replay it
  asked for (a `resume` re-sends what it covers; that is not a duplicate);
- out of order: a seq below its mark that it never had (a gap filled late).

Frames are also tagged for the Redis-restart measurement: an event is
*live* when it came through a doorbell, not in a replay the client asked
for (hello, resume) and not while a ping was outstanding.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from tests.live_server import LiveServer

Frame = dict[str, Any]
PING_EVERY_S = 20.0  # the widget's PING_MS


@dataclass
class Sent:
    client_id: str
    body: str
    author: str
    conversation: str | None
    internal: bool = False
    first_sent_at: float = 0.0
    acked_at: float | None = None
    seq: int | None = None
    sends: int = 0
    error: Frame | None = None
    acked: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Received:
    seq: int
    kind: str
    body: str | None
    client_id: str | None
    at: float
    session: int
    live: bool


@dataclass
class Session:
    number: int
    worker: int
    opened_at: float
    ready_at: float | None = None
    closed_at: float | None = None
    close_code: int | None = None
    # conversation -> the seq up to which this session's replays reach
    replay_top: dict[str, int] = field(default_factory=dict)
    # conversation -> the lowest after_seq this session asked to replay from
    requested_after: dict[str, int] = field(default_factory=dict)
    ping_outstanding: bool = False


class Participant:
    path = ""
    role = ""
    ping_every_s = PING_EVERY_S

    def __init__(
        self,
        server: LiveServer,
        name: str,
        *,
        worker: int,
        rng: random.Random,
        reconnect: bool = True,
    ) -> None:
        self.server = server
        self.name = name
        self.preferred_worker = worker
        self.rng = rng
        self.reconnect = reconnect
        self.conn: ClientConnection | None = None
        self.sessions: list[Session] = []
        self.marks: dict[str, int] = {}
        self.transcript: dict[str, list[Received]] = {}
        self.duplicates: list[tuple[str, int, int]] = []
        self.out_of_order: list[tuple[str, int, int]] = []
        # (conversation, seq, session, received at, mark before): every event frame, for post-mortems
        self.raw: list[tuple[str, int, int, float, int]] = []
        self.pending: dict[str, Sent] = {}
        self.own_client_ids: set[str] = set()
        self.errors: list[Frame] = []
        self.failures: list[str] = []
        # (lost at, resumed at) for every reconnect
        self.resumes: list[tuple[float, float]] = []
        self.lost_at: float | None = None
        self.stopping = False
        self.ready = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._pinger: asyncio.Task[None] | None = None

    # --- connection loop --------------------------------------------------------------

    def start(self) -> Participant:
        self._runner = asyncio.create_task(self._run(), name=f"run-{self.name}")
        self._pinger = asyncio.create_task(self._ping_loop(), name=f"ping-{self.name}")
        return self

    @property
    def session(self) -> Session | None:
        return self.sessions[-1] if self.sessions else None

    @property
    def connected(self) -> bool:
        return self.conn is not None and self.ready.is_set()

    async def _run(self) -> None:
        worker = self.preferred_worker
        while not self.stopping:
            try:
                await self._session(worker)
            except (OSError, TimeoutError, WebSocketException) as exc:
                # Refused (a worker restarting) or cut during the handshake:
                # the other worker, as a load balancer's health check would.
                if self.lost_at is None:
                    self.lost_at = time.monotonic()
                worker = 1 - worker
                self.note_close(None, repr(exc))
                await asyncio.sleep(self.rng.uniform(0.1, 0.4))
                continue
            except Exception as exc:  # a bug in this client or a protocol breach: recorded
                self.failures.append(f"{self.name}: {exc!r}")
                return
            if self.stopping or not self.reconnect:
                return
            self.lost_at = time.monotonic()
            await asyncio.sleep(self.rng.uniform(0.05, 0.5))
            worker = self.rng.randrange(len(self.server.workers))

    def note_close(self, code: int | None, why: str = "") -> None:
        self.ready.clear()
        self.conn = None
        session = self.session
        if session is not None and session.closed_at is None:
            session.closed_at = time.monotonic()
            session.close_code = code

    async def _session(self, worker: int) -> None:
        server = self.server
        conn = await connect(
            server.ws_url(self.path, worker),
            origin=server.workers[worker].origin,
            open_timeout=10,
            close_timeout=2,
            max_size=2**20,
            ping_interval=None,
        )
        self.sessions.append(Session(len(self.sessions) + 1, worker, time.monotonic()))
        self.conn = conn
        try:
            await conn.send(json.dumps(self.hello()))
            async for raw in conn:
                frame = json.loads(raw)
                frame["_received_at"] = time.monotonic()
                await self.on_frame(frame)
        except ConnectionClosed:
            pass
        finally:
            code = conn.close_code
            if code is None and conn.protocol.close_rcvd is not None:
                code = conn.protocol.close_rcvd.code
            self.note_close(code)

    async def send(self, frame: Frame) -> bool:
        conn = self.conn
        if conn is None:
            return False
        try:
            await conn.send(json.dumps(frame))
        except ConnectionClosed:
            return False
        return True

    def abort(self) -> bool:
        """Cut the TCP connection: no close frame (a network drop)."""
        conn = self.conn
        if conn is None or not self.ready.is_set():
            return False
        conn.transport.abort()
        return True

    async def stop(self) -> None:
        self.stopping = True
        for task in (self._pinger, self._runner):
            if task is not None:
                task.cancel()
        conn = self.conn
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 3)
        for task in (self._pinger, self._runner):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _ping_loop(self) -> None:
        while not self.stopping:
            await asyncio.sleep(self.ping_every_s * self.rng.uniform(0.9, 1.1))
            session = self.session
            if self.connected and session is not None and not session.ping_outstanding:
                session.ping_outstanding = True
                await self.send({"type": "ping"})

    # --- frames -------------------------------------------------------------------------

    def hello(self) -> Frame:
        raise NotImplementedError

    async def became_ready(self, welcome: Frame) -> None:
        """Subclasses: resume, announce presence."""

    async def on_frame(self, frame: Frame) -> None:
        kind = frame["type"]
        session = self.session
        assert session is not None
        if kind == "welcome":
            session.ready_at = frame["_received_at"]
            if self.lost_at is not None:
                self.resumes.append((self.lost_at, session.ready_at))
                self.lost_at = None
            await self.became_ready(frame)
            self.ready.set()
            for sent in list(self.pending.values()):
                await self.transmit(sent)
        elif kind == "event":
            self.on_event(frame, session)
        elif kind == "ack":
            self.on_ack(frame)
        elif kind == "pong":
            session.ping_outstanding = False
            for conversation, top in (frame.get("last_seq") or {}).items():
                if top > self.marks.get(conversation, 0) and conversation in self.followed():
                    await self.resume(conversation, session, top)
        elif kind == "error":
            await self.on_error(frame)
        else:
            await self.on_other(frame)

    def followed(self) -> set[str]:
        return set(self.marks)

    async def resume(self, conversation: str, session: Session, top: int) -> None:
        after = self.marks.get(conversation, 0)
        session.requested_after[conversation] = min(
            after, session.requested_after.get(conversation, after)
        )
        session.replay_top[conversation] = max(top, session.replay_top.get(conversation, 0))
        await self.send({"type": "resume", "conversation": conversation, "after_seq": after})

    def on_event(self, frame: Frame, session: Session) -> None:
        conversation, seq = frame["conversation"], frame["seq"]
        mark = self.marks.get(conversation, 0)
        have = self.transcript.setdefault(conversation, [])
        self.raw.append((conversation, seq, session.number, frame["_received_at"], mark))
        if seq <= mark:
            if any(r.seq == seq for r in have):
                asked = session.requested_after.get(conversation)
                if asked is None or seq <= asked:
                    # Not in a replay this socket asked for.
                    self.duplicates.append((conversation, seq, session.number))
            else:
                # Below the mark and never had: it came after a later event.
                self.out_of_order.append((conversation, seq, session.number))
                have.append(self.received(frame, session, live=False))
                have.sort(key=lambda r: r.seq)
            return
        live = (
            not session.ping_outstanding
            and seq > session.replay_top.get(conversation, 0)
            and frame.get("client_id") not in self.own_client_ids
        )
        have.append(self.received(frame, session, live=live))
        self.marks[conversation] = seq
        self.on_new_event(frame)

    def received(self, frame: Frame, session: Session, *, live: bool) -> Received:
        return Received(
            seq=frame["seq"],
            kind=frame["kind"],
            body=frame.get("body"),
            client_id=frame.get("client_id"),
            at=frame["_received_at"],
            session=session.number,
            live=live,
        )

    def on_new_event(self, frame: Frame) -> None:
        """Subclasses react to a new event (e.g. an agent's chat requeued)."""

    def on_ack(self, frame: Frame) -> None:
        sent = self.pending.pop(frame.get("client_id"), None)
        if sent is None:
            return
        sent.seq = frame["seq"]
        sent.conversation = frame["conversation"]
        sent.acked_at = frame["_received_at"]
        self.marks.setdefault(frame["conversation"], 0)
        sent.acked.set()

    async def on_error(self, frame: Frame) -> None:
        sent = self.pending.get(frame.get("client_id") or "")
        if sent is not None and frame.get("code") == "rate_limited":
            await asyncio.sleep(float(frame.get("retry_after_s") or 1))
            await self.transmit(sent)
            return
        self.errors.append(frame)
        if sent is not None:
            self.pending.pop(sent.client_id, None)
            sent.error = frame
            sent.acked.set()

    async def on_other(self, frame: Frame) -> None:
        pass

    # --- sending ------------------------------------------------------------------------

    def message_frame(self, sent: Sent) -> Frame:
        return {"type": "message", "client_id": sent.client_id, "body": sent.body}

    async def transmit(self, sent: Sent) -> None:
        if not sent.first_sent_at:
            sent.first_sent_at = time.monotonic()
        sent.sends += 1
        await self.send(self.message_frame(sent))

    async def post(
        self,
        body: str,
        *,
        conversation: str | None = None,
        internal: bool = False,
        timeout: float = 120.0,
    ) -> Sent:
        """Send until acked, across reconnects, with one client_id (what the widget does)."""
        sent = Sent(str(uuid.uuid4()), body, self.name, conversation, internal)
        self.own_client_ids.add(sent.client_id)
        self.pending[sent.client_id] = sent
        if self.connected:
            await self.transmit(sent)
        # Otherwise the next welcome sends it.
        await asyncio.wait_for(sent.acked.wait(), timeout)
        return sent


class Visitor(Participant):
    path = "/ws/widget/"
    role = "visitor"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.token: str | None = None
        self.conversation: str | None = None

    def hello(self) -> Frame:
        hello: Frame = {
            "type": "hello",
            "token": self.token,
            "department": "support",
            "profile": {"name": self.name},
            "locale": "en",
        }
        if self.conversation is not None:
            hello["resume"] = {self.conversation: self.marks.get(self.conversation, 0)}
            session = self.session
            assert session is not None
            session.requested_after[self.conversation] = self.marks.get(self.conversation, 0)
        return hello

    async def became_ready(self, welcome: Frame) -> None:
        self.token = welcome["token"]
        snapshot = welcome.get("conversation")
        session = self.session
        if snapshot and session is not None:
            # The hello's replay reaches at least the snapshot's seq.
            session.replay_top[snapshot["id"]] = snapshot["last_seq"]
            if self.conversation is None:
                # Started before we lost the socket, its ack never came: the
                # socket follows from the snapshot on; the rest we ask for.
                self.conversation = snapshot["id"]
                self.marks.setdefault(self.conversation, 0)
                await self.resume(self.conversation, session, snapshot["last_seq"])

    def on_ack(self, frame: Frame) -> None:
        if self.conversation is None and frame.get("conversation"):
            self.conversation = frame["conversation"]
        super().on_ack(frame)


class Agent(Participant):
    path = "/ws/agent/"
    role = "agent"
    # The console pings every third of the presence TTL (9 s in the chaos run):
    # an agent's presence lives on its client's frames, not on the open socket.
    ping_every_s = 3.0

    def __init__(
        self,
        *args: Any,
        token: str,
        display_name: str,
        on_assigned: Callable[[Agent, str], None],
        on_unassigned: Callable[[Agent, str], None],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.token = token
        self.display_name = display_name
        self.holding: set[str] = set()
        self.on_assigned = on_assigned
        self.on_unassigned = on_unassigned
        self.went_online = False

    def hello(self) -> Frame:
        # What this console has; the server replays the rest inside the hello.
        known = {c: self.marks.get(c, 0) for c in sorted(self.followed())}
        session = self.session
        assert session is not None
        session.requested_after.update(known)
        return {"type": "hello", "token": self.token, "resume": known}

    def followed(self) -> set[str]:
        return set(self.marks) | self.holding

    async def became_ready(self, welcome: Frame) -> None:
        session = self.session
        assert session is not None
        if not self.went_online:
            self.went_online = True
            await self.send({"type": "presence", "status": "online"})
        for snapshot in welcome.get("conversations") or []:
            conversation = snapshot["id"]
            # Replayed by the hello: after our mark, or from the start if we did not know it.
            session.requested_after.setdefault(conversation, 0)
            session.replay_top[conversation] = snapshot["last_seq"]
            if conversation not in self.holding:
                await self.take(conversation)

    async def take(self, conversation: str) -> None:
        self.holding.add(conversation)
        self.marks.setdefault(conversation, 0)
        await self.send({"type": "accept", "conversation": conversation})
        self.on_assigned(self, conversation)

    async def on_other(self, frame: Frame) -> None:
        if frame["type"] == "assigned":
            conversation = frame["conversation"]["id"]
            if conversation not in self.holding:
                await self.take(conversation)
        elif frame["type"] == "unassigned":
            self.drop(frame["conversation"])

    def drop(self, conversation: str) -> None:
        if conversation in self.holding:
            self.holding.discard(conversation)
            self.on_unassigned(self, conversation)

    def message_frame(self, sent: Sent) -> Frame:
        return {
            "type": "message",
            "client_id": sent.client_id,
            "body": sent.body,
            "conversation": sent.conversation,
            "internal": sent.internal,
        }
