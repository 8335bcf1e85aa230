"""Chaos over the scale-out set: the delivery guarantees of
docs/decisions/design.md#delivery-guarantees under faults (issue 7).

Two daphne workers on PostgreSQL and a Redis of the test's own, 50
conversations of 40 messages (20 from the visitor, 20 from the agent, every
fifth of those an internal note), visitors and agents spread over both
workers, real WebSocket clients that behave like the widget and a console
(tests/multiprocess/chaos_clients.py). While they talk:

- sockets are aborted at random (no close frame) and reconnect to either
  worker with `resume`, resending unacked messages with the same client_id;
- worker b is killed with SIGKILL mid-conversation and started again; one
  agent lived only there and never comes back (a crashed console);
- Redis is shut down (NOSAVE) and started again on the same port, empty:
  every group membership is gone, and open sockets must notice by
  themselves.

Afterwards, per conversation, against the database: every event (so every
acked message) reached the visitor (internal notes excepted: never) and the
agent holding the chat exactly once, in seq order, nothing missing; the dead
agent is offline and holds nothing; every chat is with a live agent; every
client resumed within 10 s; live delivery came back within 20 s of Redis.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.live_server import LiveServer, scaleout_deployment
from tests.multiprocess.chaos_clients import Agent, Participant, Visitor
from tests.multiprocess.private_redis import PrivateRedis
from tests.multiprocess.routing_clients import connect_db, create_agents

pytestmark = [pytest.mark.services, pytest.mark.timeout(900)]

SEED = 20261201
CONVERSATIONS = 50
MESSAGES_PER_SIDE = 20  # 40 per conversation
NOTE_EVERY = 5  # every fifth agent message is an internal note
LIVE_AGENTS = 5
MAX_CHATS = 14  # 5 live agents hold all 50 chats once the dead one's are requeued
PAUSE_S = (0.8, 2.2)  # between one side's messages
TTL_S, GRACE_S = 9, 3
KILL_AT_S = 10.0  # after the conversations started
REDIS_RESTART_AT_S = 30.0
ABORT_EVERY_S = 0.7
MAX_RESUME_S = 10.0
MAX_DELIVERY_BACK_S = 20.0
SETTLE_S = 50.0  # > the clients' 20 s ping, twice


@pytest.fixture
def private_redis(tmp_path: Path):
    redis = PrivateRedis(tmp_path / "redis").start()
    try:
        yield redis
    finally:
        redis.shutdown()


@pytest.fixture
def chaos_server(scaleout_services, scaleout_template, tmp_path, live_secret_key, private_redis):
    with scaleout_deployment(
        scaleout_services,
        template=scaleout_template,
        work_dir=tmp_path,
        secret_key=live_secret_key,
        workers=2,
        extra_env={
            "REDIS_URL": private_redis.url,
            "CHATPORTAL_PRESENCE_TTL_S": str(TTL_S),
            "CHATPORTAL_PRESENCE_GRACE_S": str(GRACE_S),
        },
    ) as server:
        yield server


# --------------------------------------------------------------------------
# The database, read directly (what an operator would see)


@dataclass
class DbEvent:
    seq: int
    kind: str
    internal: bool
    client_id: str | None
    body: str | None
    created_at: float  # epoch seconds


def load_events(server: LiveServer, public_ids: list[str]) -> dict[str, list[DbEvent]]:
    query = (
        "SELECT c.public_id, e.seq, e.kind, e.internal, e.payload->>'client_id', e.payload->>'body',"
        " extract(epoch FROM e.created_at)"
        " FROM chat_conversationevent e JOIN chat_conversation c ON c.id = e.conversation_id"
        " WHERE c.public_id = ANY(%s) ORDER BY c.public_id, e.seq"
    )
    events: dict[str, list[DbEvent]] = defaultdict(list)
    with connect_db(server) as conn:
        for public_id, seq, kind, internal, client_id, body, created_at in conn.execute(
            query, ([uuid.UUID(p) for p in public_ids],)
        ):
            events[str(public_id)].append(
                DbEvent(seq, kind, internal, client_id, body, float(created_at))
            )
    return events


def conversation_states(
    server: LiveServer, public_ids: list[str]
) -> dict[str, tuple[str, str | None]]:
    query = (
        "SELECT c.public_id, c.state, u.username FROM chat_conversation c"
        " LEFT JOIN auth_user u ON u.id = c.assigned_agent_id WHERE c.public_id = ANY(%s)"
    )
    with connect_db(server) as conn:
        rows = conn.execute(query, ([uuid.UUID(p) for p in public_ids],)).fetchall()
    return {str(public_id): (state, agent) for public_id, state, agent in rows}


def presence_of(
    server: LiveServer, usernames: list[str]
) -> dict[str, tuple[str, int, float | None]]:
    """username -> (published status, live connection rows, age of the stalest row in s)."""
    query = (
        "SELECT u.username, coalesce(p.published_status, 'offline'), count(c.id),"
        " extract(epoch FROM now() - min(c.last_seen))"
        " FROM auth_user u LEFT JOIN queues_agentpresence p ON p.user_id = u.id"
        " LEFT JOIN queues_agentconnection c ON c.user_id = u.id"
        " WHERE u.username = ANY(%s) GROUP BY u.username, p.published_status"
    )
    with connect_db(server) as conn:
        rows = conn.execute(query, (usernames,)).fetchall()
    return {
        name: (status, count, float(age) if age is not None else None)
        for name, status, count, age in rows
    }


# --------------------------------------------------------------------------
# The scene


@dataclass
class Chat:
    visitor: Visitor
    conversation: str | None = None
    holders: list[str] = field(default_factory=list)  # agents in the order they got it
    started: asyncio.Event = field(default_factory=asyncio.Event)
    sent: dict[str, int] = field(default_factory=lambda: {"visitor": 0, "agent": 0})


class Scene:
    def __init__(self, server: LiveServer, redis: PrivateRedis) -> None:
        self.server = server
        self.redis = redis
        self.rng = random.Random(SEED)
        self.agents: list[Agent] = []
        self.dead_agent: Agent | None = None
        self.chats: list[Chat] = []
        self.holder: dict[str, Agent] = {}
        self.holder_changed = asyncio.Event()
        self.timeline: dict[str, float] = {}
        self.aborts = 0
        self.script_failures: list[str] = []

    def child_rng(self) -> random.Random:
        return random.Random(self.rng.getrandbits(64))

    def assigned(self, agent: Agent, conversation: str) -> None:
        self.holder[conversation] = agent
        for chat in self.chats:
            if chat.conversation == conversation:
                chat.holders.append(agent.name)
        self.holder_changed.set()

    def unassigned(self, agent: Agent, conversation: str) -> None:
        if self.holder.get(conversation) is agent:
            del self.holder[conversation]

    @property
    def participants(self) -> list[Participant]:
        return [*self.agents, *(c.visitor for c in self.chats)]

    async def start_agents(self) -> None:
        accounts = await asyncio.to_thread(
            create_agents, self.server, LIVE_AGENTS + 1, prefix="chaos", max_chats=MAX_CHATS
        )
        for index, account in enumerate(accounts):
            dead = index == LIVE_AGENTS
            agent = Agent(
                self.server,
                account.username,
                worker=1 if dead else index % 2,
                rng=self.child_rng(),
                reconnect=not dead,
                token=account.token,
                display_name=account.display_name,
                on_assigned=self.assigned,
                on_unassigned=self.unassigned,
            )
            self.agents.append(agent)
            if dead:
                self.dead_agent = agent
            agent.start()
        await asyncio.wait_for(asyncio.gather(*(a.ready.wait() for a in self.agents)), 60)
        names = [a.name for a in self.agents]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            states = await asyncio.to_thread(presence_of, self.server, names)
            if all(states.get(n, ("",))[0] == "online" for n in names):
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"agents not online: {states}")

    async def start_visitors(self) -> None:
        for index in range(CONVERSATIONS):
            visitor = Visitor(
                self.server, f"Visitor {index:02d}", worker=index % 2, rng=self.child_rng()
            )
            self.chats.append(Chat(visitor))
            visitor.start()
        await asyncio.wait_for(asyncio.gather(*(c.visitor.ready.wait() for c in self.chats)), 60)

    # --- the conversations ----------------------------------------------------------

    async def visitor_side(self, index: int, chat: Chat, rng: random.Random) -> None:
        first = await chat.visitor.post(f"c{index:02d} visitor 00: my relay shows E42")
        if first.error is not None:
            raise AssertionError(f"{chat.visitor.name}: the first message answered {first.error}")
        chat.conversation = first.conversation
        chat.sent["visitor"] += 1
        chat.started.set()
        held_by = self.holder.get(chat.conversation)
        if held_by is not None and held_by.name not in chat.holders:
            chat.holders.append(held_by.name)
        for k in range(1, MESSAGES_PER_SIDE):
            await asyncio.sleep(rng.uniform(*PAUSE_S))
            sent = await chat.visitor.post(f"c{index:02d} visitor {k:02d}")
            if sent.error is not None:
                raise AssertionError(f"{chat.visitor.name}: {sent.error}")
            chat.sent["visitor"] += 1

    async def agent_side(self, index: int, chat: Chat, rng: random.Random) -> None:
        await asyncio.wait_for(chat.started.wait(), 120)
        assert chat.conversation is not None
        for k in range(MESSAGES_PER_SIDE):
            await asyncio.sleep(rng.uniform(*PAUSE_S))
            agent = await self.live_holder(chat.conversation)
            internal = k % NOTE_EVERY == NOTE_EVERY - 1
            sent = await agent.post(
                f"c{index:02d} {'note' if internal else 'agent'} {k:02d} from {agent.name}",
                conversation=chat.conversation,
                internal=internal,
            )
            if sent.error is not None:
                raise AssertionError(f"{agent.name} in {chat.conversation}: {sent.error}")
            chat.sent["agent"] += 1

    async def live_holder(self, conversation: str) -> Agent:
        """The agent that holds the chat now; a dead one's chat waits for its requeue."""
        while True:
            agent = self.holder.get(conversation)
            if agent is not None and agent is not self.dead_agent:
                return agent
            self.holder_changed.clear()
            await asyncio.wait_for(self.holder_changed.wait(), 120)

    async def converse(self) -> None:
        async def guarded(coro, what: str) -> None:
            try:
                await coro
            except Exception as exc:
                self.script_failures.append(f"{what}: {exc!r}")

        scripts = []
        for index, chat in enumerate(self.chats):
            scripts.append(
                guarded(self.visitor_side(index, chat, self.child_rng()), f"visitor {index}")
            )
            scripts.append(
                guarded(self.agent_side(index, chat, self.child_rng()), f"agent side {index}")
            )
        await asyncio.gather(*scripts)

    # --- the faults -----------------------------------------------------------------

    async def abort_at_random(self, rng: random.Random) -> None:
        candidates = [p for p in self.participants if p is not self.dead_agent]
        while True:
            await asyncio.sleep(rng.uniform(0.5, 1.5) * ABORT_EVERY_S)
            if rng.choice(candidates).abort():
                self.aborts += 1

    async def kill_and_restart_worker(self, start: float) -> None:
        await asyncio.sleep(max(0.0, start + KILL_AT_S - time.monotonic()))
        worker = self.server.workers[1]
        self.timeline["worker_killed"] = time.monotonic()
        await asyncio.to_thread(worker.kill)
        await asyncio.to_thread(worker.start)
        self.timeline["worker_back"] = time.monotonic()

    async def restart_redis(self, start: float) -> None:
        await asyncio.sleep(max(0.0, start + REDIS_RESTART_AT_S - time.monotonic()))
        self.timeline["redis_down"] = time.monotonic()
        self.timeline["redis_up"] = await asyncio.to_thread(self.redis.restart)
        self.redis_up_wall = time.time() - (time.monotonic() - self.timeline["redis_up"])

    # --- afterwards -----------------------------------------------------------------

    def progress(self) -> str:
        """Where each unfinished conversation stands (for a run that did not finish)."""
        lines = []
        for index, chat in enumerate(self.chats):
            if chat.sent["visitor"] == chat.sent["agent"] == MESSAGES_PER_SIDE:
                continue
            holder = self.holder.get(chat.conversation or "")
            lines.append(
                f"c{index:02d} {chat.conversation} sent {chat.sent} holders {chat.holders}"
                f" now {holder.name if holder else None} visitor connected {chat.visitor.connected}"
                f" pending {[s.body for s in chat.visitor.pending.values()]}"
                f" holder pending {[s.body for s in holder.pending.values()] if holder else None}"
            )
        failures = [f for p in self.participants for f in p.failures]
        errors = [(p.name, e) for p in self.participants for e in p.errors]
        return "\n".join(
            [
                *lines,
                f"script failures {self.script_failures[:5]}",
                f"client failures {failures[:5]}",
                f"errors {errors[:5]}",
            ]
        )

    def expected(self, participant: Participant, events: list[DbEvent]) -> list[int]:
        if isinstance(participant, Visitor):
            return [e.seq for e in events if not e.internal]
        return [e.seq for e in events]

    def audiences(self, chat: Chat) -> list[Participant]:
        """Who must have every event: the visitor and the live agent holding the chat."""
        assert chat.conversation is not None
        holder = self.holder.get(chat.conversation)
        return [chat.visitor, *([holder] if holder is not None else [])]

    async def settle(self) -> dict[str, list[DbEvent]]:
        ids = [c.conversation for c in self.chats if c.conversation]
        deadline = time.monotonic() + SETTLE_S
        while True:
            events = await asyncio.to_thread(load_events, self.server, ids)
            behind = [
                (p.name, c.conversation)
                for c in self.chats
                for p in self.audiences(c)
                if [r.seq for r in p.transcript.get(c.conversation, [])]
                != self.expected(p, events[c.conversation])
            ]
            if not behind or time.monotonic() > deadline:
                return events
            await asyncio.sleep(0.5)


def audit(scene: Scene, events: dict[str, list[DbEvent]]) -> dict[str, object]:
    lost: list[tuple[str, str, int]] = []
    extra: list[tuple[str, str, int]] = []
    wrong_body: list[tuple[str, int]] = []
    short: list[tuple[str, int]] = []
    acked_messages = 0
    for chat in scene.chats:
        conversation = chat.conversation
        assert conversation is not None
        log = events[conversation]
        by_seq = {e.seq: e for e in log}
        for participant in scene.audiences(chat):
            got = [r.seq for r in participant.transcript.get(conversation, [])]
            want = scene.expected(participant, log)
            lost += [(participant.name, conversation, s) for s in sorted(set(want) - set(got))]
            extra += [(participant.name, conversation, s) for s in sorted(set(got) - set(want))]
            for received in participant.transcript.get(conversation, []):
                event = by_seq.get(received.seq)
                if event is not None and (received.body, received.client_id) != (
                    event.body,
                    event.client_id,
                ):
                    wrong_body.append((conversation, received.seq))
        messages = [e for e in log if e.kind == "message"]
        if len(messages) != 2 * MESSAGES_PER_SIDE:
            short.append((conversation, len(messages)))
    for participant in scene.participants:
        for sent in [*participant.pending.values()]:
            lost.append((participant.name, sent.conversation or "?", -1))
    for chat in scene.chats:
        acked_messages += sum(1 for e in events[chat.conversation] if e.kind == "message")
    everyone = [p for p in scene.participants if p is not scene.dead_agent]
    duplicated = sum(len(p.duplicates) for p in everyone)
    out_of_order = sum(len(p.out_of_order) for p in everyone)
    resumes = [ready - lost_at for p in everyone for lost_at, ready in p.resumes]
    up = scene.timeline["redis_up"]
    down = scene.timeline["redis_down"]
    live_after = [
        r.at - up
        for p in everyone
        for t in p.transcript.values()
        for r in t
        if r.live and r.at > up
    ]
    # Sockets open across the restart: each must hear live again by itself.
    survivors_back: list[float] = []
    silent_survivors: list[str] = []
    slow_survivors: list[tuple] = []
    for p in everyone:
        for session in p.sessions:
            if session.opened_at < down and (
                session.closed_at is None or session.closed_at > up + MAX_DELIVERY_BACK_S
            ):
                after = [
                    r
                    for t in p.transcript.values()
                    for r in t
                    if r.session == session.number
                    and r.at > up
                    and r.client_id not in p.own_client_ids
                ]
                if not after:
                    continue  # nothing was said to it after the restart (its chat had ended)
                heard = [r.at - up for r in after if r.live]
                if heard:
                    survivors_back.append(min(heard))
                    if min(heard) > MAX_DELIVERY_BACK_S / 2:
                        chat = next((c for c in scene.chats if c.visitor is p), None)
                        log = (
                            events.get(chat.conversation, []) if chat and chat.conversation else []
                        )
                        slow_survivors.append(
                            (
                                p.name,
                                session.number,
                                chat.holders if chat else None,
                                [(r.seq, round(r.at - up, 2), r.live) for r in after[:3]],
                                [
                                    (e.seq, e.kind, round(e.created_at - scene.redis_up_wall, 2))
                                    for e in log
                                    if -8 < e.created_at - scene.redis_up_wall < min(heard) + 1
                                ],
                            )
                        )
                else:
                    silent_survivors.append(p.name)
    post_mortem = []
    by_name = {p.name: p for p in scene.participants}
    for name, conversation, seq in lost[:3]:
        participant = by_name[name]
        event = next((e for e in events.get(conversation, []) if e.seq == seq), None)
        frames = [
            (s, session, round(at - scene.timeline.get("start", 0), 2), mark)
            for c, s, session, at, mark in participant.raw
            if c == conversation
        ]
        sessions = [
            (
                x.number,
                x.worker,
                round(x.opened_at - scene.timeline.get("start", 0), 2),
                round((x.closed_at or 0) - scene.timeline.get("start", 0), 2),
                x.close_code,
                x.requested_after.get(conversation),
                x.replay_top.get(conversation),
            )
            for x in participant.sessions
        ]
        post_mortem.append(
            {"who": name, "seq": seq, "event": event, "frames": frames, "sessions": sessions}
        )
    return {
        "post_mortem": post_mortem,
        "lost": len(lost),
        "lost_detail": lost[:10],
        "short_conversations": short[:10],
        "leaked_or_extra": extra[:10],
        "wrong_body": wrong_body[:10],
        "duplicated": duplicated,
        "out_of_order": out_of_order,
        "acked_messages": acked_messages,
        "reconnects": len(resumes),
        "max_resume_s": round(max(resumes, default=0.0), 2),
        "delivery_back_s": round(min(live_after, default=float("inf")), 2),
        "survivors_back_max_s": round(max(survivors_back, default=float("inf")), 2),
        "survivors": len(survivors_back),
        "silent_survivors": silent_survivors,
        "slow_survivors": slow_survivors[:5],
    }


async def test_every_acked_message_arrives_once_in_order_through_kills_restarts_and_aborts(
    chaos_server: LiveServer,
    private_redis: PrivateRedis,
):
    server = chaos_server
    scene = Scene(server, private_redis)
    started = time.monotonic()
    faults: list[asyncio.Task] = []
    try:
        await scene.start_agents()
        await scene.start_visitors()
        start = scene.timeline["start"] = time.monotonic()
        faults = [
            asyncio.create_task(scene.abort_at_random(scene.child_rng())),
            asyncio.create_task(scene.kill_and_restart_worker(start)),
            asyncio.create_task(scene.restart_redis(start)),
        ]
        talking = asyncio.ensure_future(scene.converse())
        done, _ = await asyncio.wait({talking}, timeout=420)
        if not done:
            talking.cancel()
            raise AssertionError(f"the conversations did not finish:\n{scene.progress()}")
        faults[0].cancel()
        # The kill and the restart are part of the run: they must have happened.
        await asyncio.wait_for(asyncio.gather(*faults[1:]), 120)
        talk_s = time.monotonic() - start
        events = await scene.settle()
        report = audit(scene, events)

        ids = [c.conversation for c in scene.chats]
        states = await asyncio.to_thread(conversation_states, server, ids)
        dead = scene.dead_agent
        assert dead is not None
        presence = await asyncio.to_thread(presence_of, server, [a.name for a in scene.agents])
        live_names = {a.name for a in scene.agents if a is not dead}
        not_with_live_agent = {
            c: s for c, s in states.items() if s[0] != "active" or s[1] not in live_names
        }
        dead_requeued = sum(1 for c in scene.chats if dead.name in c.holders)
        stale_rows = {n: p for n, p in presence.items() if p[2] is not None and p[2] > TTL_S + 2}

        print(
            "\nchaos: {c} conversations x {m} messages, {a} aborts, {r} reconnects:"
            " lost {lost}, duplicated {dup}, out-of-order {ooo}, max resume {res} s,"
            " delivery back {back} s (every surviving socket {surv} s, {n} sockets),"
            " dead agent's chats requeued {dr}, talk {t:.0f} s, total {tot:.0f} s".format(
                c=CONVERSATIONS,
                m=2 * MESSAGES_PER_SIDE,
                a=scene.aborts,
                r=report["reconnects"],
                lost=report["lost"],
                dup=report["duplicated"],
                ooo=report["out_of_order"],
                res=report["max_resume_s"],
                back=report["delivery_back_s"],
                surv=report["survivors_back_max_s"],
                n=report["survivors"],
                dr=dead_requeued,
                t=talk_s,
                tot=time.monotonic() - started,
            )
        )
        print("timeline:", {k: round(v - start, 1) for k, v in scene.timeline.items()})
        for entry in report["post_mortem"]:
            print("post-mortem:", entry)
        print("report:", report)
        print("script failures:", scene.script_failures[:5])

        assert not scene.script_failures, scene.script_failures[:5]
        failures = [f for p in scene.participants for f in p.failures]
        assert not failures, failures[:5]
        errors = [(p.name, e) for p in scene.participants for e in p.errors]
        assert not errors, errors[:5]
        assert report["acked_messages"] == CONVERSATIONS * 2 * MESSAGES_PER_SIDE, report
        assert report["lost"] == 0, report["lost_detail"]
        assert not report["leaked_or_extra"], report["leaked_or_extra"]
        assert not report["wrong_body"], report["wrong_body"]
        assert report["duplicated"] == 0, [p.duplicates for p in scene.participants if p.duplicates]
        assert report["out_of_order"] == 0, [
            p.out_of_order for p in scene.participants if p.out_of_order
        ]
        assert report["reconnects"] >= 20 and scene.aborts >= 20, report
        assert report["max_resume_s"] <= MAX_RESUME_S, report
        assert report["delivery_back_s"] <= MAX_DELIVERY_BACK_S, report
        assert not report["silent_survivors"], report
        assert report["survivors"] > 0 and report["survivors_back_max_s"] <= MAX_DELIVERY_BACK_S, (
            report
        )
        # Presence and routing recovered: the dead agent is offline with no
        # connection left and holds nothing; every chat is with a live agent.
        assert dead_requeued > 0, (
            "the dead agent held no chat: the kill proved nothing about requeues"
        )
        assert presence[dead.name][:2] == ("offline", 0), presence[dead.name]
        assert not not_with_live_agent, not_with_live_agent
        assert all(presence[n][0] == "online" for n in live_names), presence
        assert not stale_rows, stale_rows
    finally:
        for task in faults:
            task.cancel()
        await asyncio.gather(*(p.stop() for p in scene.participants), return_exceptions=True)
