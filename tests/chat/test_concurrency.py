"""Many writers at once: gapless seq, no duplicates, every client_id acked once."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from chat.actions.conversations import accept_conversation, post_message, start_conversation
from chat.actions.visitors import create_visitor
from chat.errors import Conflict
from chat.log import agent_author, visitor_author
from chat.models import Conversation, ConversationEvent
from tests.chat.conftest import new_id, open_agent, open_widget, say
from tests.factories import make_agent, make_department

pytestmark = pytest.mark.django_db(transaction=True)

PER_SIDE = 100


def require_shared_database() -> None:
    # The SQLite test database lives in memory with a shared cache, where
    # concurrent writers fail with "table is locked" instead of waiting; the
    # PostgreSQL pass (DATABASE_URL) runs these thread tests.
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("threads need a real database file or PostgreSQL")


def test_two_sides_writing_at_once_get_a_gapless_seq_and_one_ack_per_client_id():
    require_shared_database()
    support = make_department("support")
    agent = make_agent("boris", [support])
    visitor = create_visitor()[0]
    conversation = start_conversation(visitor, support)[0]
    accept_conversation(conversation, agent)
    sides = {"visitor": visitor_author(visitor), "agent": agent_author(agent)}
    sends = [(side, uuid.uuid4()) for side in sides for _ in range(PER_SIDE)]
    # Every message is sent twice (a client retrying after a lost ack).
    attempts = sends * 2
    random.shuffle(attempts)

    def send(attempt):
        side, client_id = attempt
        try:
            return client_id, post_message(
                conversation.pk,
                conversation.public_id,
                author=sides[side],
                client_id=client_id,
                body=f"{side} {client_id}",
                assigned_to=agent.pk if side == "agent" else None,
            ).seq
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(send, attempts))

    acks = defaultdict(set)
    for client_id, seq in results:
        acks[client_id].add(seq)
    assert all(len(seqs) == 1 for seqs in acks.values())
    seqs = list(
        ConversationEvent.objects.filter(conversation=conversation).values_list("seq", flat=True)
    )
    assert sorted(seqs) == list(range(1, 2 * PER_SIDE + 3))
    stored = list(
        ConversationEvent.objects.filter(
            conversation=conversation, client_id__isnull=False
        ).values_list("client_id", "seq")
    )
    assert len(stored) == 2 * PER_SIDE
    assert {cid: {seq} for cid, seq in stored} == dict(acks)
    assert Conversation.objects.get(pk=conversation.pk).last_seq == 2 * PER_SIDE + 2


def test_two_agents_accepting_at_once_cannot_both_take_it():
    require_shared_database()
    support = make_department("support")
    agents = [make_agent(f"agent{i}", [support]) for i in range(6)]
    visitor = create_visitor()[0]
    conversation = start_conversation(visitor, support)[0]

    def accept(agent):
        try:
            accept_conversation(conversation, agent)
            return True
        except Conflict:
            return False
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=6) as pool:
        won = list(pool.map(accept, agents))
    assert won.count(True) == 1
    assert ConversationEvent.objects.filter(conversation=conversation, kind="assigned").count() == 1


async def test_many_sockets_sending_at_once_deliver_every_event_once_in_order():
    from channels.db import database_sync_to_async

    support = await database_sync_to_async(make_department)("support")
    agent_user = await database_sync_to_async(make_agent)("boris", [support])
    visitor, welcome = await open_widget()
    first = await say(visitor, "start")
    conversation = first["conversation"]
    second_tab, _ = await open_widget(token=welcome["token"])
    agent, _ = await open_agent(agent_user)
    await agent.send({"type": "accept", "conversation": conversation})
    await agent.expect("event", kind="assigned")

    async def burst(socket, count, **extra):
        ids = [new_id() for _ in range(count)]
        for client_id in ids:
            await socket.send(
                {"type": "message", "client_id": client_id, "body": client_id, **extra}
            )
        return ids

    per_socket = 15  # within the per-socket burst allowance
    sent = await asyncio.gather(
        burst(visitor, per_socket),
        burst(second_tab, per_socket),
        burst(agent, per_socket, conversation=conversation),
    )
    total_seq = 3 + 3 * per_socket
    for socket in (visitor, second_tab, agent):
        while not socket.events(conversation) or socket.events(conversation)[-1]["seq"] < total_seq:
            await socket.recv(5)
    for socket, ids in zip((visitor, second_tab, agent), sent, strict=True):
        acks = [f for f in socket.received if f["type"] == "ack"]
        assert sorted(a["client_id"] for a in acks if a["client_id"] in ids) == sorted(ids)
        seqs = [e["seq"] for e in socket.events(conversation)]
        assert seqs == sorted(set(seqs)), "in order, no duplicates"
    assert [e["seq"] for e in agent.events(conversation)][-3 * per_socket :] == list(
        range(4, total_seq + 1)
    )
    for socket in (visitor, second_tab, agent):
        await socket.close()
