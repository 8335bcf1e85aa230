"""Clients and database probes for the routing and presence proofs (Issue 4).

Everything here talks to a real deployment (`tests.live_server.LiveServer`):
agents and visitors over WebSockets, and PostgreSQL read directly with
psycopg, never through the server's ORM, so what the tests assert is what a
client and an operator would see.

- `create_agents(server, count, ...)` makes agents in one `chatportal shell`
  run and returns their API tokens (one process, not one per agent).
- `AgentBot` is an agent that serves every chat routing gives it: accept,
  one reply, a short hold, close. It tracks, from its own frames, how many
  chats it holds at once.
- `VisitorClient` opens a widget socket, says hello and starts a chat.
- `ActiveSampler` polls `chat_conversation` while a test runs and keeps the
  highest number of active chats seen per agent.
- `load_conversations`, `assignment_intervals`, `max_overlap`,
  `fifo_inversions` turn the database's event log into the facts the tests
  assert.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import json
import random
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from tests.live_server import LiveServer, _normalise_pg_url
from tests.multiprocess.wsclient import Frame, ProtocolError, ProtocolSocket

AGENTS_MARKER = "STRESS_AGENTS="

_CREATE_AGENTS = """
import json
from django.contrib.auth import get_user_model
from django.db import transaction
from queues.models import AgentProfile, Department
from queues.tokens import issue_agent_token

spec = json.loads({spec!r})
users = get_user_model()
tokens = {{}}
with transaction.atomic():
    departments = list(Department.objects.filter(slug__in=spec["departments"]))
    for username, first, last in spec["agents"]:
        user, _ = users.objects.update_or_create(
            username=username,
            defaults={{"first_name": first, "last_name": last, "is_active": True}},
        )
        profile, _ = AgentProfile.objects.update_or_create(
            user=user, defaults={{"max_chats": spec["max_chats"]}}
        )
        profile.departments.set(departments)
for username, _first, _last in spec["agents"]:
    tokens[username] = issue_agent_token(users.objects.get(username=username))
print({marker!r} + json.dumps(tokens))
"""


@dataclasses.dataclass(frozen=True)
class AgentAccount:
    username: str
    # What the server shows as the agent's name (`get_full_name()`).
    display_name: str
    token: str


def create_agents(
    server: LiveServer,
    count: int,
    *,
    prefix: str = "stress",
    departments: Sequence[str] = ("support",),
    max_chats: int = 3,
) -> list[AgentAccount]:
    """`count` agents in `departments` with `max_chats`, and their API tokens."""
    agents = [(f"{prefix}{i:02d}", prefix.capitalize(), f"{i:02d}") for i in range(1, count + 1)]
    spec = json.dumps({"agents": agents, "departments": list(departments), "max_chats": max_chats})
    out = server.run("shell", "-c", _CREATE_AGENTS.format(spec=spec, marker=AGENTS_MARKER))
    line = next((line for line in out.splitlines() if line.startswith(AGENTS_MARKER)), None)
    if line is None:
        raise AssertionError(f"creating agents printed no tokens:\n{out[-2000:]}")
    tokens = json.loads(line[len(AGENTS_MARKER) :])
    missing = sorted({a for a, _, _ in agents} - set(tokens))
    if missing:
        raise AssertionError(f"no token for {missing}")
    return [
        AgentAccount(username, f"{first} {last}", tokens[username])
        for username, first, last in agents
    ]


# --------------------------------------------------------------------------
# Sockets


def assigned_id(frame: Frame) -> str | None:
    """The conversation id of an agent's `assigned` frame (None for any other frame)."""
    if frame.get("type") != "assigned":
        return None
    conversation = frame.get("conversation")
    return conversation.get("id") if isinstance(conversation, dict) else None


def is_event(frame: Frame, kind: str, conversation: str | None = None) -> bool:
    return (
        frame.get("type") == "event"
        and frame.get("kind") == kind
        and (conversation is None or frame.get("conversation") == conversation)
    )


async def open_agent_socket(
    server: LiveServer,
    worker: int,
    account: AgentAccount | str,
    *,
    online: bool = True,
    heartbeat_s: float | None = None,
) -> tuple[ProtocolSocket, Frame]:
    """An agent socket on `worker`, authenticated by token and (by default) online.

    `heartbeat_s`: ping that often, as the console does; a socket that sends
    nothing for the presence TTL counts as gone.
    """
    if isinstance(account, str):
        username = account
        token = await asyncio.to_thread(server.agent_token, account)
    else:
        username, token = account.username, account.token
    sock = ProtocolSocket(
        server.ws_url("/ws/agent/", worker),
        origin=server.workers[worker].origin,
        name=f"agent {username}@{server.workers[worker].name}",
    )
    await sock.open()
    await sock.send({"type": "hello", "token": token})
    welcome = await sock.wait_for(
        lambda f: f["type"] in {"welcome", "error"}, what="the agent welcome"
    )
    if welcome["type"] != "welcome":
        raise ProtocolError(f"{sock.name}: hello answered {welcome}")
    if online:
        start = len(sock.frames)
        await sock.send({"type": "presence", "status": "online"})
        await sock.wait_for(
            lambda f: (
                f["type"] == "presence"
                and f.get("agent") == username
                and f.get("status") == "online"
            ),
            start=start,
            what="its own presence online",
        )
    if heartbeat_s is not None:
        sock.start_heartbeat(heartbeat_s)
    return sock, welcome


async def open_visitor_socket(
    server: LiveServer,
    worker: int,
    *,
    name: str,
    token: str | None = None,
    department: str = "support",
    open_timeout: float = 30.0,
) -> tuple[ProtocolSocket, Frame]:
    sock = ProtocolSocket(
        server.ws_url("/ws/widget/", worker),
        origin=server.workers[worker].origin,
        name=f"visitor {name}@{server.workers[worker].name}",
    )
    await sock.open()
    await sock.send(
        {
            "type": "hello",
            "token": token,
            "department": department,
            "profile": {"name": name},
            "locale": "en",
        }
    )
    welcome = await sock.wait_for(
        lambda f: f["type"] in {"welcome", "error"},
        timeout=open_timeout,
        what="the visitor welcome",
    )
    if welcome["type"] != "welcome":
        raise ProtocolError(f"{sock.name}: hello answered {welcome}")
    return sock, welcome


@dataclasses.dataclass
class VisitorClient:
    """One waiting visitor: its socket, its conversation and when things happened."""

    name: str
    worker: int
    sock: ProtocolSocket | None = None
    conversation: str | None = None
    sent_at: float | None = None
    acked_at: float | None = None

    async def open(self, server: LiveServer) -> None:
        self.sock, _welcome = await open_visitor_socket(server, self.worker, name=self.name)

    async def start_chat(self, body: str, *, timeout: float = 60.0) -> None:
        assert self.sock is not None, "open() first"
        self.sent_at = time.monotonic()
        ack = await self.sock.post_message(body, timeout=timeout)
        self.acked_at = time.monotonic()
        self.conversation = ack["conversation"]

    def events(self, kind: str | None = None) -> list[Frame]:
        if self.sock is None or self.conversation is None:
            return []
        return [
            e for e in self.sock.events(self.conversation) if kind is None or e.get("kind") == kind
        ]

    def queue_frames(self) -> list[Frame]:
        if self.sock is None or self.conversation is None:
            return []
        return [
            f
            for f in self.sock.frames
            if f["type"] == "queue" and f.get("conversation") == self.conversation
        ]

    @property
    def closed(self) -> bool:
        return bool(self.events("closed"))

    def first_at(self, kind: str) -> float | None:
        found = self.events(kind)
        return found[0]["_received_at"] if found else None


@dataclasses.dataclass
class ServedChat:
    conversation: str
    assigned_at: float
    closed_at: float | None = None
    reply_seq: int | None = None


class AgentBot:
    """An agent that serves whatever routing gives it, and keeps the score.

    On each `assigned` frame: `accept`, one reply, a random hold in
    `hold_s`, then `close` with reason "done". The number of chats it holds
    goes up on `assigned` and down on the `closed` event (or `unassigned`)
    of that chat, as its own socket shows them: that is what an agent
    console would display, and the cap must hold there too.
    """

    def __init__(
        self,
        sock: ProtocolSocket,
        account: AgentAccount,
        *,
        max_chats: int,
        hold_s: tuple[float, float] = (0.2, 1.0),
        rng: random.Random | None = None,
        ping_every_s: float | None = None,
    ) -> None:
        self.sock = sock
        self.account = account
        self.max_chats = max_chats
        self.hold_s = hold_s
        self.rng = rng or random.Random()
        self.ping_every_s = ping_every_s
        self.holding: set[str] = set()
        self.max_held = 0
        self.over_cap: list[tuple[float, list[str]]] = []
        self.served: dict[str, ServedChat] = {}
        self.assigned_frames: dict[str, int] = defaultdict(int)
        self.unassigned: list[str] = []
        self.failures: list[str] = []
        self.errors: list[Frame] = []
        # Its own presence as the server published it, when that was not online
        # (e.g. set away by the system after a missed offer).
        self.not_online: list[Frame] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> AgentBot:
        self._runner = asyncio.create_task(self._run(), name=f"bot-{self.account.username}")
        if self.ping_every_s:
            self._spawn(self._ping_loop())
        return self

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self) -> None:
        index = 0
        changed = self.sock._changed
        while not self._stopping:
            while index < len(self.sock.frames):
                self._on_frame(self.sock.frames[index])
                index += 1
            if self.sock.closed_code is not None:
                if not self._stopping:
                    self.failures.append(f"socket closed ({self.sock.closed_code})")
                return
            changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), 1.0)

    def _on_frame(self, frame: Frame) -> None:
        conversation = assigned_id(frame)
        if conversation is not None:
            self.assigned_frames[conversation] += 1
            if conversation in self.holding:
                return
            self.holding.add(conversation)
            self.max_held = max(self.max_held, len(self.holding))
            if len(self.holding) > self.max_chats:
                self.over_cap.append((frame["_received_at"], sorted(self.holding)))
            self.served[conversation] = ServedChat(conversation, frame["_received_at"])
            self._spawn(self._serve(conversation))
        elif frame.get("type") == "unassigned":
            conversation = frame.get("conversation")
            if isinstance(conversation, dict):
                conversation = conversation.get("id")
            self.unassigned.append(str(conversation))
            self.holding.discard(str(conversation))
        elif is_event(frame, "closed") and frame["conversation"] in self.holding:
            self.holding.discard(frame["conversation"])
            chat = self.served.get(frame["conversation"])
            if chat is not None:
                chat.closed_at = frame["_received_at"]
        elif frame.get("type") == "error":
            self.errors.append(frame)
        elif (
            frame.get("type") == "presence"
            and frame.get("agent") == self.account.username
            and frame.get("status") != "online"
        ):
            self.not_online.append(frame)

    async def _serve(self, conversation: str) -> None:
        try:
            await self.sock.send({"type": "accept", "conversation": conversation})
            ack = await self.sock.post_message(
                f"Hello, {self.account.display_name} here.",
                conversation=conversation,
                internal=False,
                timeout=60,
            )
            self.served[conversation].reply_seq = ack["seq"]
            await asyncio.sleep(self.rng.uniform(*self.hold_s))
            await self.sock.send({"type": "close", "conversation": conversation, "reason": "done"})
        except Exception as exc:  # recorded and asserted by the test, not raised in a task
            if not self._stopping:
                self.failures.append(f"serving {conversation}: {exc!r}")

    async def _ping_loop(self) -> None:
        assert self.ping_every_s
        while not self._stopping and self.sock.closed_code is None:
            await asyncio.sleep(self.ping_every_s)
            with contextlib.suppress(Exception):
                await self.sock.send({"type": "ping"})

    async def stop(self) -> None:
        self._stopping = True
        for task in list(self._tasks):
            task.cancel()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._runner
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


# --------------------------------------------------------------------------
# The database, read directly


def connect_db(server: LiveServer):
    import psycopg

    return psycopg.connect(
        _normalise_pg_url(server.env["DATABASE_URL"]), autocommit=True, connect_timeout=10
    )


class ActiveSampler:
    """Polls active chats per agent in a thread; keeps the maximum seen per agent."""

    QUERY = (
        "SELECT assigned_agent_id, count(*) FROM chat_conversation"
        " WHERE state = 'active' AND assigned_agent_id IS NOT NULL GROUP BY assigned_agent_id"
    )

    def __init__(self, server: LiveServer, *, interval_s: float = 0.05) -> None:
        self.server = server
        self.interval_s = interval_s
        self.max_active: dict[int, int] = defaultdict(int)
        self.samples = 0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        try:
            with connect_db(self.server) as conn:
                while not self._stop.is_set():
                    for agent_id, count in conn.execute(self.QUERY).fetchall():
                        self.max_active[agent_id] = max(self.max_active[agent_id], count)
                    self.samples += 1
                    self._stop.wait(self.interval_s)
        except BaseException as exc:
            self.error = exc

    def __enter__(self) -> ActiveSampler:
        self._thread = threading.Thread(target=self._run, name="active-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


@dataclasses.dataclass
class DbEvent:
    seq: int
    kind: str
    payload: dict[str, Any]
    created_at: datetime.datetime
    author_user_id: int | None


@dataclasses.dataclass
class DbConversation:
    pk: int
    public_id: str
    state: str
    department: str
    contact_id: int | None
    queued_at: datetime.datetime | None
    assigned_agent_id: int | None
    events: list[DbEvent]

    def of_kind(self, kind: str) -> list[DbEvent]:
        return [e for e in self.events if e.kind == kind]


def load_conversations(conn, public_ids: Iterable[str]) -> dict[str, DbConversation]:
    ids = [uuid.UUID(p) for p in public_ids]
    rows = conn.execute(
        "SELECT c.id, c.public_id, c.state, d.slug, c.contact_id, c.queued_at, c.assigned_agent_id"
        " FROM chat_conversation c JOIN queues_department d ON d.id = c.department_id"
        " WHERE c.public_id = ANY(%s)",
        (ids,),
    ).fetchall()
    by_pk = {
        pk: DbConversation(pk, str(pid), state, slug, contact, queued, agent, [])
        for pk, pid, state, slug, contact, queued, agent in rows
    }
    for conversation_id, seq, kind, payload, created, author in conn.execute(
        "SELECT conversation_id, seq, kind, payload, created_at, author_user_id"
        " FROM chat_conversationevent WHERE conversation_id = ANY(%s) ORDER BY conversation_id, seq",
        (list(by_pk),),
    ):
        if isinstance(payload, str):
            payload = json.loads(payload)
        by_pk[conversation_id].events.append(DbEvent(seq, kind, payload or {}, created, author))
    return {c.public_id: c for c in by_pk.values()}


def agent_ids_by_name(conn, usernames: Iterable[str]) -> dict[str, int]:
    return dict(
        conn.execute(
            "SELECT username, id FROM auth_user WHERE username = ANY(%s)", (list(usernames),)
        ).fetchall()
    )


@dataclasses.dataclass(frozen=True)
class Interval:
    agent: str  # the agent's display name, as the `assigned` event carries it
    conversation: str
    start: datetime.datetime
    end: datetime.datetime | None


def assignment_intervals(conversations: Iterable[DbConversation]) -> list[Interval]:
    """When each agent held each chat, from the event log: `assigned` until the
    next `queued` (a requeue) or `closed` of that conversation."""
    intervals = []
    for conversation in conversations:
        holder: tuple[str, datetime.datetime] | None = None
        for event in conversation.events:
            if event.kind == "assigned":
                if holder is not None:
                    # Assigned again without a requeue in between: the first
                    # holder's interval ends here (and the test sees two
                    # assignments for one chat).
                    intervals.append(
                        Interval(holder[0], conversation.public_id, holder[1], event.created_at)
                    )
                name = ((event.payload.get("agent") or {}).get("name")) or "?"
                holder = (name, event.created_at)
            elif event.kind in {"queued", "closed"} and holder is not None:
                intervals.append(
                    Interval(holder[0], conversation.public_id, holder[1], event.created_at)
                )
                holder = None
        if holder is not None:
            intervals.append(Interval(holder[0], conversation.public_id, holder[1], None))
    return intervals


def max_overlap(intervals: Iterable[Interval]) -> dict[str, int]:
    """The most chats each agent held at one instant (an end at t comes before a start at t)."""
    points: dict[str, list[tuple[datetime.datetime, int]]] = defaultdict(list)
    far = datetime.datetime.max.replace(tzinfo=datetime.UTC)
    for interval in intervals:
        points[interval.agent].append((interval.start, 1))
        points[interval.agent].append((interval.end or far, -1))
    peaks = {}
    for agent, marks in points.items():
        held = peak = 0
        for _at, delta in sorted(marks, key=lambda m: (m[0], m[1])):
            held += delta
            peak = max(peak, held)
        peaks[agent] = peak
    return peaks


@dataclasses.dataclass(frozen=True)
class Inversion:
    earlier: str  # queued first ...
    later: str  # ... but this one was assigned first
    queued_gap_s: float
    assigned_gap_s: float


def fifo_inversions(
    chats: Sequence[tuple[str, datetime.datetime, datetime.datetime]],
) -> list[Inversion]:
    """Pairs served out of arrival order: A queued before B, B assigned before A.

    `chats` are (id, queued_at, first assigned at) of one department and one
    priority. Every inverted pair is returned with how far apart the two
    arrivals were, so a test can allow a window for commits in flight.
    """
    ordered = sorted(chats, key=lambda c: (c[1], c[0]))
    found = []
    for i, (a_id, a_queued, a_assigned) in enumerate(ordered):
        for b_id, b_queued, b_assigned in ordered[i + 1 :]:
            if b_queued > a_queued and b_assigned < a_assigned:
                found.append(
                    Inversion(
                        a_id,
                        b_id,
                        (b_queued - a_queued).total_seconds(),
                        (a_assigned - b_assigned).total_seconds(),
                    )
                )
    return found


def percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def published_status(server: LiveServer, username: str) -> str | None:
    """`queues_agentpresence.published_status` of one agent, from the deployment's database."""
    query = (
        "SELECT p.published_status FROM queues_agentpresence p"
        " JOIN auth_user u ON u.id = p.user_id WHERE u.username = {}"
    )
    if server.env.get("DATABASE_URL"):
        with connect_db(server) as conn:
            row = conn.execute(query.format("%s"), (username,)).fetchone()
    else:
        import sqlite3

        with contextlib.closing(
            sqlite3.connect(server.data_dir / "chatportal.sqlite3", timeout=10)
        ) as conn:
            row = conn.execute(query.format("?"), (username,)).fetchone()
    return row[0] if row else None


def conversation_row(server: LiveServer, public_id: str) -> tuple[str, str | None, list[str]]:
    """(state, assigned agent's username, event kinds in seq order) of one conversation."""
    head = (
        "SELECT c.id, c.state, u.username FROM chat_conversation c"
        " LEFT JOIN auth_user u ON u.id = c.assigned_agent_id WHERE c.public_id = {}"
    )
    kinds = "SELECT kind FROM chat_conversationevent WHERE conversation_id = {} ORDER BY seq"
    if server.env.get("DATABASE_URL"):
        with connect_db(server) as conn:
            pk, state, agent = conn.execute(head.format("%s"), (uuid.UUID(public_id),)).fetchone()
            rows = conn.execute(kinds.format("%s"), (pk,)).fetchall()
    else:
        import sqlite3

        with contextlib.closing(
            sqlite3.connect(server.data_dir / "chatportal.sqlite3", timeout=10)
        ) as conn:
            # Django stores UUIDs on SQLite as 32 hex digits.
            pk, state, agent = conn.execute(
                head.format("?"), (uuid.UUID(public_id).hex,)
            ).fetchone()
            rows = conn.execute(kinds.format("?"), (pk,)).fetchall()
    return state, agent, [r[0] for r in rows]


def abort_transport(sock: ProtocolSocket) -> None:
    """Drop the TCP connection under a socket: no close frame, no goodbye."""
    assert sock._conn is not None, "not open"
    sock.stop_heartbeat()
    sock._conn.transport.abort()


def database_summary(server: LiveServer) -> dict[str, Any]:
    """Counts that say where a stuck run stopped: conversations by state, events by kind."""
    with connect_db(server) as conn:
        states = dict(
            conn.execute("SELECT state, count(*) FROM chat_conversation GROUP BY state").fetchall()
        )
        kinds = dict(
            conn.execute(
                "SELECT kind, count(*) FROM chat_conversationevent GROUP BY kind"
            ).fetchall()
        )
        live = conn.execute("SELECT count(*) FROM queues_agentconnection").fetchone()[0]
        presence = conn.execute(
            "SELECT chosen_status, published_status, set_by, count(*) FROM queues_agentpresence"
            " GROUP BY chosen_status, published_status, set_by"
        ).fetchall()
    return {
        "conversations": states,
        "events": kinds,
        "agent_connections": live,
        "presence (chosen, published, set_by, n)": [list(row) for row in presence],
    }
