"""An agent who vanishes loses its chats; an agent who reloads does not.

(docs/decisions/peers.md#agents-shown-online-after-they-left,
docs/decisions/peers.md#transfers-and-stranded-chats)

Agent A serves a chat; agent B, in the same department, is online with room.

- A's TCP connection is cut without a close frame: within TTL + grace + a
  sweep or two, colleagues see A offline (a `presence` frame, and
  `queues_agentpresence.published_status` in the database), the visitor sees
  the chat go back to the queue (`event` kind `queued`) and then to B
  (`assigned` to B, `event` kind `assigned` with B's name).
- A's whole worker dies (SIGKILL: no close frame, no disconnect handler, the
  connection row just stops being refreshed): the same, once the row is
  older than the TTL and the grace has passed.
- A closes its socket and reconnects at once (a page reload, here on the
  other worker): the chat stays with A, nobody sees A offline.

The two-worker variants run on PostgreSQL + Redis; the embedded variant runs
the first scenario on one worker with SQLite and the in-memory layer.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.live_server import LiveServer
from tests.multiprocess.routing_clients import (
    abort_transport,
    assigned_id,
    conversation_row,
    is_event,
    open_agent_socket,
    open_visitor_socket,
    published_status,
)
from tests.multiprocess.wsclient import ProtocolSocket

pytestmark = [pytest.mark.timeout(300)]

# An agent's presence lives on its client's frames: every console here pings
# as the real one does, well inside the shortest TTL below.
HEARTBEAT_S = 2.0
TTL_S = 12
GRACE_S = 2
SHORT_TTL_S = 6
# The sweep runs every TTL/3 s on each worker; allow two sweeps and a busy machine.
SLACK_S = 2 * max(1.0, TTL_S / 3) + 4
PRESENCE_ENV = {
    "CHATPORTAL_PRESENCE_TTL_S": str(TTL_S),
    "CHATPORTAL_PRESENCE_GRACE_S": str(GRACE_S),
}
SHORT_TTL_ENV = {**PRESENCE_ENV, "CHATPORTAL_PRESENCE_TTL_S": str(SHORT_TTL_S)}

AGENT_A = "boris"  # support
AGENT_B = "ana"  # sales and support
AGENT_B_NAME = "Ana Ionescu"


@pytest.fixture
def two_workers_env() -> dict[str, str]:
    return dict(PRESENCE_ENV)


@pytest.fixture
def embedded_server_env() -> dict[str, str]:
    return dict(PRESENCE_ENV)


class Scene:
    """A visitor whose chat agent A holds, and agent B online with room."""

    def __init__(self) -> None:
        self.sockets: list[ProtocolSocket] = []
        self.a: ProtocolSocket
        self.b: ProtocolSocket
        self.visitor: ProtocolSocket
        self.conversation: str

    async def set_up(
        self, server: LiveServer, *, a_worker: int, b_worker: int, visitor_worker: int
    ) -> Scene:
        self.a, _ = await open_agent_socket(server, a_worker, AGENT_A, heartbeat_s=HEARTBEAT_S)
        self.sockets.append(self.a)
        self.visitor, _ = await open_visitor_socket(server, visitor_worker, name="Vanishing Act")
        self.sockets.append(self.visitor)
        ack = await self.visitor.post_message("Is anyone there?")
        self.conversation = ack["conversation"]
        # A is the only support agent online, so routing gives it the chat.
        await self.a.wait_for(
            lambda f: assigned_id(f) == self.conversation, what="the assignment to A"
        )
        await self.a.send({"type": "accept", "conversation": self.conversation})
        await self.a.post_message(
            "Boris here, one moment.", conversation=self.conversation, internal=False
        )
        await self.visitor.wait_for(
            lambda f: is_event(f, "message", self.conversation) and f["author"]["role"] == "agent",
            what="A's reply",
        )
        # B comes online only now, so it cannot have taken the chat first.
        self.b, _ = await open_agent_socket(server, b_worker, AGENT_B, heartbeat_s=HEARTBEAT_S)
        self.sockets.append(self.b)
        return self

    async def close(self) -> None:
        await asyncio.gather(*(s.close() for s in self.sockets), return_exceptions=True)


async def assert_moves_to_b(
    server: LiveServer, scene: Scene, *, since: float, b_from: int, visitor_from: int
):
    """A goes offline, the chat is requeued and routed to B; returns the timings."""
    limit = TTL_S + GRACE_S + SLACK_S
    offline = await scene.b.wait_for(
        lambda f: (
            f["type"] == "presence" and f.get("agent") == AGENT_A and f.get("status") == "offline"
        ),
        start=b_from,
        timeout=limit,
        what=f"{AGENT_A} offline",
    )
    queued = await scene.visitor.wait_for(
        lambda f: is_event(f, "queued", scene.conversation),
        start=visitor_from,
        timeout=limit,
        what="the requeue",
    )
    reassigned = await scene.b.wait_for(
        lambda f: assigned_id(f) == scene.conversation,
        start=b_from,
        timeout=limit,
        what="the chat routed to B",
    )
    seen = await scene.visitor.wait_for(
        lambda f: is_event(f, "assigned", scene.conversation) and f["seq"] > queued["seq"],
        start=visitor_from,
        timeout=limit,
        what="the assignment to B, as the visitor sees it",
    )
    assert seen["agent"]["name"] == AGENT_B_NAME, seen
    assert await asyncio.to_thread(published_status, server, AGENT_A) == "offline"
    # B serves it like any chat.
    await scene.b.send({"type": "accept", "conversation": scene.conversation})
    await scene.b.post_message(
        "Ana here, I will take over.", conversation=scene.conversation, internal=False
    )
    await scene.visitor.wait_for(
        lambda f: (
            is_event(f, "message", scene.conversation) and f["author"]["name"] == AGENT_B_NAME
        ),
        start=visitor_from,
        what="B's reply",
    )
    state, agent, kinds = await asyncio.to_thread(conversation_row, server, scene.conversation)
    assert (state, agent) == ("active", AGENT_B), (state, agent, kinds)
    # queued, A assigned, messages, queued again, B assigned, B's message.
    assert kinds.count("queued") == 2 and kinds.count("assigned") == 2, kinds
    assert kinds.index("assigned") < len(kinds) - 1 - kinds[::-1].index("queued"), kinds
    timings = {
        "offline_after_s": offline["_received_at"] - since,
        "requeued_after_s": queued["_received_at"] - since,
        "assigned_to_b_after_s": reassigned["_received_at"] - since,
    }
    print(f"\npresence ({TTL_S=} {GRACE_S=}):", {k: round(v, 2) for k, v in timings.items()})
    assert timings["assigned_to_b_after_s"] <= limit, timings
    return timings


async def abort_scenario(
    server: LiveServer, *, a_worker: int, b_worker: int, visitor_worker: int
) -> None:
    scene = await Scene().set_up(
        server, a_worker=a_worker, b_worker=b_worker, visitor_worker=visitor_worker
    )
    try:
        b_from, visitor_from = len(scene.b.frames), len(scene.visitor.frames)
        since = time.monotonic()
        abort_transport(scene.a)
        await assert_moves_to_b(
            server, scene, since=since, b_from=b_from, visitor_from=visitor_from
        )
    finally:
        await scene.close()


@pytest.mark.services
async def test_an_agent_whose_connection_is_cut_goes_offline_and_its_chat_moves_to_a_colleague(
    two_workers: LiveServer,
):
    await abort_scenario(two_workers, a_worker=0, b_worker=1, visitor_worker=1)


async def test_on_one_embedded_worker_a_cut_connection_also_moves_the_chat(
    embedded_server: LiveServer,
):
    await abort_scenario(embedded_server, a_worker=0, b_worker=0, visitor_worker=0)


@pytest.mark.services
async def test_an_agent_whose_worker_dies_goes_offline_after_the_ttl_and_its_chat_moves(
    two_workers: LiveServer,
):
    server = two_workers
    scene = await Scene().set_up(server, a_worker=0, b_worker=1, visitor_worker=1)
    try:
        b_from, visitor_from = len(scene.b.frames), len(scene.visitor.frames)
        since = time.monotonic()
        server.workers[0].kill()
        await assert_moves_to_b(
            server, scene, since=since, b_from=b_from, visitor_from=visitor_from
        )
    finally:
        await scene.close()


@pytest.mark.services
async def test_a_reload_within_the_grace_keeps_the_chat_with_its_agent(two_workers: LiveServer):
    server = two_workers
    scene = await Scene().set_up(server, a_worker=0, b_worker=1, visitor_worker=1)
    try:
        b_from, visitor_from = len(scene.b.frames), len(scene.visitor.frames)
        await scene.a.close()
        # The reload lands on the other worker, as a load balancer may send it.
        reloaded, welcome = await open_agent_socket(
            server, 1, AGENT_A, online=False, heartbeat_s=HEARTBEAT_S
        )
        scene.sockets.append(reloaded)
        assert welcome["agent"]["status"] == "online", welcome
        assert [c["id"] for c in welcome["conversations"]] == [scene.conversation], welcome
        # Long enough for a dead agent to have been swept, requeued and routed twice over.
        await asyncio.sleep(TTL_S + GRACE_S + SLACK_S)

        assert not [f for f in scene.visitor.frames[visitor_from:] if is_event(f, "queued")]
        assert not [f for f in scene.b.frames[b_from:] if assigned_id(f) == scene.conversation]
        assert not [
            f
            for f in scene.b.frames[b_from:]
            if f["type"] == "presence" and f.get("agent") == AGENT_A and f.get("status") != "online"
        ], scene.b.frames[b_from:]
        assert not [f for f in reloaded.frames if f["type"] == "unassigned"], reloaded.frames
        assert await asyncio.to_thread(published_status, server, AGENT_A) == "online"
        state, agent, kinds = await asyncio.to_thread(conversation_row, server, scene.conversation)
        assert (state, agent) == ("active", AGENT_A), (state, agent, kinds)
        assert kinds.count("queued") == 1 and kinds.count("assigned") == 1, kinds

        # And the reloaded console still works the chat.
        await reloaded.post_message("Still here.", conversation=scene.conversation, internal=False)
        await scene.visitor.wait_for(
            lambda f: is_event(f, "message", scene.conversation) and f.get("body") == "Still here.",
            start=visitor_from,
            what="A's reply after the reload",
        )
    finally:
        await scene.close()


@pytest.mark.services
@pytest.mark.parametrize("two_workers_env", [SHORT_TTL_ENV], ids=[f"ttl{SHORT_TTL_S}"])
async def test_an_idle_agent_whose_console_pings_keeps_its_chat_with_a_ttl_under_ten_seconds(
    two_workers: LiveServer,
):
    server = two_workers
    scene = await Scene().set_up(server, a_worker=0, b_worker=1, visitor_worker=1)
    try:
        b_from, visitor_from = len(scene.b.frames), len(scene.visitor.frames)
        # Nobody writes but the consoles' pings. Past a TTL plus the grace, twice.
        await asyncio.sleep(2 * (SHORT_TTL_S + GRACE_S) + 2)
        assert not [f for f in scene.visitor.frames[visitor_from:] if is_event(f, "queued")]
        assert not [f for f in scene.a.frames if f["type"] == "unassigned"]
        assert not [
            f
            for f in scene.b.frames[b_from:]
            if f["type"] == "presence" and f.get("status") != "online"
        ], scene.b.frames[b_from:]
        state, agent, _kinds = await asyncio.to_thread(conversation_row, server, scene.conversation)
        assert (state, agent) == ("active", AGENT_A)
    finally:
        await scene.close()
