"""Sockets closed by daphne's own time limit reconnect and resume like any other.

daphne closes every WebSocket older than `--websocket_timeout` (1000, a
normal close, in the middle of whatever the client was doing). Here the
limit is 3 s and a visitor and an agent keep talking for much longer, so
each of their sockets is closed several times mid-conversation; the
clients (tests/multiprocess/chaos_clients.py) reconnect, resume and resend
unacked messages, as the widget does. Afterwards each has every event of
the conversation exactly once, in seq order (internal notes: the agent
only), and each resumed within 10 s.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator

import pytest

from tests.live_server import DaphneWorker, LiveServer, _copy_sqlite, embedded_env
from tests.multiprocess.chaos_clients import Agent, Visitor
from tests.multiprocess.routing_clients import conversation_row

pytestmark = [pytest.mark.timeout(300)]

WEBSOCKET_TIMEOUT_S = 3
MESSAGES_PER_SIDE = 24
PAUSE_S = (0.5, 1.0)
MAX_RESUME_S = 10.0


@pytest.fixture
def short_lived_sockets_server(
    tmp_path, embedded_template, live_secret_key
) -> Iterator[LiveServer]:
    data_dir = tmp_path / "data"
    _copy_sqlite(embedded_template, data_dir)
    env = embedded_env(data_dir, secret_key=live_secret_key)
    worker = DaphneWorker(
        env,
        tmp_path / "worker.log",
        name="short-lived",
        daphne_args=["--websocket_timeout", str(WEBSOCKET_TIMEOUT_S)],
    )
    worker.start()
    server = LiveServer(env=env, workers=[worker], data_dir=data_dir)
    try:
        yield server
    finally:
        server.stop()
        print(server.log_tails())


def event_seqs(server: LiveServer, conversation: str) -> tuple[list[int], list[int]]:
    """(every seq, the seqs a visitor may see) from the database."""
    import contextlib
    import sqlite3
    import uuid

    with contextlib.closing(
        sqlite3.connect(server.data_dir / "chatportal.sqlite3", timeout=10)
    ) as conn:
        rows = conn.execute(
            "SELECT e.seq, e.internal FROM chat_conversationevent e"
            " JOIN chat_conversation c ON c.id = e.conversation_id WHERE c.public_id = ? ORDER BY e.seq",
            (uuid.UUID(conversation).hex,),
        ).fetchall()
    return [seq for seq, _ in rows], [seq for seq, internal in rows if not internal]


async def test_sockets_closed_by_daphnes_time_limit_resume_with_nothing_lost(
    short_lived_sockets_server: LiveServer,
):
    server = short_lived_sockets_server
    rng = random.Random(7)
    token = await asyncio.to_thread(server.agent_token, "boris")
    holder: dict[str, Agent] = {}
    agent = Agent(
        server,
        "boris",
        worker=0,
        rng=random.Random(rng.random()),
        token=token,
        display_name="Boris",
        on_assigned=lambda a, c: holder.__setitem__(c, a),
        on_unassigned=lambda a, c: holder.pop(c, None),
    ).start()
    visitor = Visitor(server, "Time Limited", worker=0, rng=random.Random(rng.random())).start()
    try:
        await asyncio.wait_for(asyncio.gather(agent.ready.wait(), visitor.ready.wait()), 30)
        await asyncio.sleep(0.5)  # the agent's presence is published
        first = await visitor.post("My relay shows E42")
        assert first.error is None, first.error
        conversation = first.conversation
        assert conversation is not None

        async def visitor_side() -> None:
            for k in range(1, MESSAGES_PER_SIDE):
                await asyncio.sleep(rng.uniform(*PAUSE_S))
                sent = await visitor.post(f"visitor {k:02d}")
                assert sent.error is None, sent.error

        async def agent_side() -> None:
            deadline = time.monotonic() + 30
            while conversation not in holder:
                assert time.monotonic() < deadline, "the chat was never routed to boris"
                await asyncio.sleep(0.1)
            for k in range(MESSAGES_PER_SIDE):
                await asyncio.sleep(rng.uniform(*PAUSE_S))
                internal = k % 4 == 3
                sent = await agent.post(
                    f"agent {k:02d}", conversation=conversation, internal=internal
                )
                assert sent.error is None, sent.error

        await asyncio.wait_for(asyncio.gather(visitor_side(), agent_side()), 180)

        all_seqs, visible = await asyncio.to_thread(event_seqs, server, conversation)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (
            [r.seq for r in agent.transcript.get(conversation, [])] != all_seqs
            or [r.seq for r in visitor.transcript.get(conversation, [])] != visible
        ):
            await asyncio.sleep(0.3)
            all_seqs, visible = await asyncio.to_thread(event_seqs, server, conversation)

        closed_by_limit = {
            p.name: sum(1 for s in p.sessions if s.close_code == 1000) for p in (agent, visitor)
        }
        resumes = [ready - lost for p in (agent, visitor) for lost, ready in p.resumes]
        print(
            f"\ntime limit {WEBSOCKET_TIMEOUT_S} s: closes by daphne {closed_by_limit},"
            f" {len(resumes)} resumes, max {max(resumes, default=0):.2f} s"
        )
        assert [r.seq for r in agent.transcript[conversation]] == all_seqs
        assert [r.seq for r in visitor.transcript[conversation]] == visible
        assert visible != all_seqs, "no internal note: the visitor's filter went untested"
        for participant in (agent, visitor):
            assert not participant.duplicates, participant.duplicates
            assert not participant.out_of_order, participant.out_of_order
            assert not participant.errors, participant.errors
            assert not participant.failures, participant.failures
            # Several sockets, each ended by daphne's limit (1000), none by us.
            assert closed_by_limit[participant.name] >= 2, participant.sessions
        assert max(resumes) <= MAX_RESUME_S, resumes
        state, agent_name, _kinds = await asyncio.to_thread(conversation_row, server, conversation)
        assert (state, agent_name) == ("active", "boris")
    finally:
        await asyncio.gather(agent.stop(), visitor.stop(), return_exceptions=True)
