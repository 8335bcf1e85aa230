"""Group commit (chat.group_commit): a worker's waiting messages share one transaction.

What must hold: each message is appended once with its conversation's next
seq; a message that cannot join the batch (closed chat, not the writer's
chat, a retried client_id, a failed batch) gets exactly what the action
alone would have given it; nothing is answered before the commit.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from channels.db import database_sync_to_async
from django.core.cache import cache
from django.db import OperationalError, connection

from chat import group_commit as gc
from chat import limits
from chat.actions import conversations, visitors
from chat.errors import Forbidden, RateLimited
from chat.log import SYSTEM, agent_author
from chat.models import Conversation, ConversationEvent
from tests.factories import make_agent, make_department

pytestmark = pytest.mark.django_db(transaction=True)
Kind = ConversationEvent.Kind


@pytest.fixture
def chats(db):
    """Three open chats of three visitors; the first assigned to boris."""
    department = make_department("support")
    agent = make_agent("boris", [department])
    opened = []
    for name in ("Ana", "Ion", "Eva"):
        visitor = visitors.create_visitor(name=name)[0]
        opened.append((conversations.start_conversation(visitor, department)[0], visitor))
    conversations.accept_conversation(opened[0][0], agent)
    return department, agent, opened


def visitor_write(conversation, visitor, body="Hello", client_id=None):
    return conversations.visitor_message_write(
        visitor,
        conversation=(conversation.pk, conversation.public_id),
        department=conversation.department,
        client_id=client_id or uuid.uuid4(),
        body=body,
    )


def agent_write(conversation, agent, body="Hi", client_id=None):
    return conversations.message_write(
        conversation.pk,
        conversation.public_id,
        author=agent_author(agent),
        client_id=client_id or uuid.uuid4(),
        body=body,
        internal=False,
        assigned_to=agent.pk,
    )


def messages_of(conversation):
    return list(
        ConversationEvent.objects.filter(conversation=conversation, kind=Kind.MESSAGE)
        .order_by("seq")
        .values_list("seq", "payload__body")
    )


def test_a_batch_appends_every_message_once_with_its_chats_next_seq_in_one_commit(
    chats, monkeypatch
):
    _, agent, [(first, ana), (second, ion), _] = chats
    commits = []
    real_commit = connection.commit
    monkeypatch.setattr(connection, "commit", lambda: (commits.append(1), real_commit()))
    writes = [
        visitor_write(second, ion, "one"),
        visitor_write(first, ana, "two"),
        agent_write(first, agent, "three"),
        visitor_write(second, ion, "four"),
    ]
    first_top = Conversation.objects.get(pk=first.pk).last_seq
    second_top = Conversation.objects.get(pk=second.pk).last_seq

    results = gc.write_messages(writes)

    assert [r.seq for r in results] == [
        second_top + 1,
        first_top + 1,
        first_top + 2,
        second_top + 2,
    ]
    assert not any(r.duplicate for r in results)
    assert messages_of(first) == [(first_top + 1, "two"), (first_top + 2, "three")]
    assert messages_of(second) == [(second_top + 1, "one"), (second_top + 2, "four")]
    assert len(commits) == 1


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_on_postgresql_a_batch_is_one_transaction_of_one_statement_per_message(chats):
    from django.test.utils import CaptureQueriesContext

    _, agent, [(first, ana), (second, ion), (third, eva)] = chats
    writes = [visitor_write(second, ion), agent_write(first, agent), visitor_write(third, eva)]
    with CaptureQueriesContext(connection) as queries:
        gc.write_messages(writes)
    statements = [q["sql"] for q in queries.captured_queries]
    assert statements[0] == "BEGIN" and statements[-1] == "COMMIT"
    assert len(statements) == 2 + 3  # and no savepoints


def test_a_retried_client_id_gets_its_original_seq_and_the_rest_is_written_once(chats):
    _, agent, [(first, ana), (second, ion), _] = chats
    retried = uuid.uuid4()
    original = gc.write_messages([visitor_write(first, ana, "once", client_id=retried)])[0]

    results = gc.write_messages(
        [
            visitor_write(second, ion, "new"),
            visitor_write(first, ana, "once", client_id=retried),
            agent_write(first, agent, "reply"),
        ]
    )

    assert results[1].duplicate and results[1].seq == original.seq
    assert [body for _, body in messages_of(first)] == ["once", "reply"]
    assert [body for _, body in messages_of(second)] == ["new"]


def test_a_message_to_a_closed_chat_starts_a_new_one_and_the_batch_still_commits(chats):
    department, _, [(first, ana), (second, ion), _] = chats
    conversations.close_conversation(second, by="agent", author=SYSTEM)

    late, fine = gc.write_messages(
        [visitor_write(second, ion, "are you there?"), visitor_write(first, ana, "thanks")]
    )

    assert late.started and late.conversation != second.public_id
    assert messages_of(Conversation.objects.get(public_id=late.conversation)) == [
        (late.seq, "are you there?")
    ]
    assert messages_of(second) == []
    assert fine.seq and messages_of(first)[-1] == (fine.seq, "thanks")


def test_an_agent_reply_to_a_chat_that_is_not_theirs_is_refused_alone(chats):
    _, agent, [(first, ana), (second, _), _] = chats
    refused, fine = gc.write_messages([agent_write(second, agent), visitor_write(first, ana)])
    assert isinstance(refused, Forbidden)
    assert messages_of(second) == []
    assert messages_of(first) == [(fine.seq, "Hello")]


def test_a_visitor_over_the_window_is_refused_and_the_others_are_not(chats, settings):
    settings.CHATPORTAL_VISITOR_MESSAGES_PER_MINUTE = 1
    _, _, [(first, ana), (second, ion), _] = chats
    # On Redis a key of an earlier run's visitor with the same pk may still count.
    window = int(time.time() // limits.VISITOR_WINDOW_S)
    cache.delete_many(
        [f"chat:visitor-msgs:{v.pk}:{w}" for v in (ana, ion) for w in (window, window + 1)]
    )
    results = gc.write_messages(
        [
            visitor_write(first, ana, "one"),
            visitor_write(first, ana, "two"),
            visitor_write(second, ion),
        ]
    )
    assert isinstance(results[1], RateLimited)
    assert [body for _, body in messages_of(first)] == ["one"]
    assert len(messages_of(second)) == 1


def test_a_failed_batch_is_written_message_by_message_each_once(chats, monkeypatch):
    """A batch whose transaction fails (here: the connection, at the second
    append) is rolled back whole and every message is written alone."""
    _, agent, [(first, ana), (second, ion), (third, eva)] = chats
    real_append = gc.append_message
    calls = []

    def flaky(*args, **kwargs):
        calls.append(kwargs["savepoint"])
        if len(calls) == 2:
            raise OperationalError("server closed the connection unexpectedly")
        return real_append(*args, **kwargs)

    monkeypatch.setattr(gc, "append_message", flaky)
    results = gc.write_messages(
        [visitor_write(first, ana, "a"), visitor_write(second, ion, "b"), visitor_write(third, eva)]
    )

    assert all(not isinstance(r, Exception) for r in results)
    assert [body for _, body in messages_of(first)] == ["a"]
    assert [body for _, body in messages_of(second)] == ["b"]
    assert len(messages_of(third)) == 1


async def test_messages_waiting_on_a_worker_share_a_write_and_are_answered_after_it(
    chats, monkeypatch
):
    _, agent, opened = chats
    batches: list[int] = []
    committed = asyncio.Event()
    real = gc.write_messages

    def recording(writes):
        batches.append(len(writes))
        results = real(writes)
        committed.set()
        return results

    monkeypatch.setattr(gc, "write_messages", recording)
    writes = [visitor_write(chat, visitor, f"m{i}") for i in range(4) for chat, visitor in opened]

    async def write(message):
        result = await gc.group_commit().write(message)
        assert committed.is_set()  # answered only after a write committed
        return result

    results = await asyncio.gather(*(write(w) for w in writes))

    assert sum(batches) == len(writes) == 12
    assert len(batches) < len(writes)
    for chat, visitor in opened:
        mine = [r.seq for r in results if r.conversation == chat.public_id]
        assert mine == sorted(mine) and len(set(mine)) == 4
        assert await database_sync_to_async(author_of)(chat) == {visitor.pk}


def author_of(chat):
    return set(
        ConversationEvent.objects.filter(conversation=chat, kind=Kind.MESSAGE).values_list(
            "author_visitor_id", flat=True
        )
    )
