from __future__ import annotations

import uuid

import pytest
from django.db import IntegrityError

from chat import log
from chat.actions import conversations, participants, visitors
from chat.errors import ChatError, Conflict, Forbidden
from chat.events import conversation_group, department_group, visitor_group
from chat.models import Conversation, ReadMarker
from tests.factories import make_agent, make_department

pytestmark = pytest.mark.django_db


@pytest.fixture
def visitor():
    return visitors.create_visitor(name="Ana")[0]


@pytest.fixture
def conversation(visitor, support):
    return conversations.start_conversation(visitor, support, page_url="https://shop.example/x")[0]


def post(conversation, author, body="hi", client_id=None, **kwargs):
    return conversations.post_message(
        conversation.pk,
        conversation.public_id,
        author=author,
        client_id=client_id or uuid.uuid4(),
        body=body,
        **kwargs,
    )


def test_it_starts_a_queued_conversation_and_publishes_after_commit(
    visitor, support, published_events
):
    conversation, created = conversations.start_conversation(visitor, support)
    assert created and conversation.state == "queued" and conversation.last_seq == 1
    event = conversation.events.get()
    assert (event.seq, event.kind, event.payload) == (1, "queued", {"department": "support"})
    doorbell = published_events[0][1]
    assert doorbell["event"]["kind"] == "queued"
    assert published_events == [
        (
            conversation_group(conversation.public_id),
            {
                "type": "conversation.event_appended",
                "conversation": str(conversation.public_id),
                "seq": 1,
                "event": doorbell["event"],
            },
        ),
        (
            visitor_group(visitor.public_id),
            {"type": "conversation.started", "conversation": str(conversation.public_id)},
        ),
        (department_group("support"), {"type": "queue.changed", "department": "support"}),
        # Waiting visitors of the department learn their new places.
        ("dept.support.waiting", published_events[3][1]),
    ]
    assert published_events[3][1]["order"] == [conversation.public_id.hex]


def test_group_names_have_no_colons_and_stay_short(conversation, visitor):
    for name in (conversation_group(conversation.public_id), visitor_group(visitor.public_id)):
        assert ":" not in name and len(name) < 100


def test_a_second_start_returns_the_open_conversation(visitor, support, conversation):
    again, created = conversations.start_conversation(visitor, support)
    assert (again.pk, created) == (conversation.pk, False)


def test_the_database_refuses_a_second_open_conversation(visitor, support, conversation):
    with pytest.raises(IntegrityError):
        Conversation.objects.create(department=support, visitor=visitor)


def test_a_racing_start_loads_the_conversation_the_other_tab_made(
    visitor, support, conversation, monkeypatch
):
    # Both tabs looked before either inserted: the loser's insert hits the
    # partial unique index and it returns the winner's conversation.
    real = conversations.open_conversation_of
    calls = iter([None])
    monkeypatch.setattr(
        conversations, "open_conversation_of", lambda v: next(calls, None) or real(v)
    )
    again, created = conversations.start_conversation(visitor, support)
    assert (again.pk, created) == (conversation.pk, False)


def test_post_message_appends_with_the_next_seq_and_publishes_a_doorbell(
    visitor, conversation, published_events
):
    published_events.clear()
    appended = post(conversation, log.visitor_author(visitor), "hello")
    assert appended.seq == 2 and not appended.duplicate
    assert appended.frame["body"] == "hello"
    assert appended.frame["author"] == {"role": "visitor", "name": "Ana"}
    assert published_events == [
        (
            conversation_group(conversation.public_id),
            {
                "type": "conversation.event_appended",
                "conversation": str(conversation.public_id),
                "seq": 2,
                "event": appended.frame,
            },
        ),
    ]


def test_a_large_event_rings_the_doorbell_without_its_body(visitor, conversation, published_events):
    published_events.clear()
    post(conversation, log.visitor_author(visitor), "x" * 5000)
    [(_group, doorbell)] = published_events
    assert "event" not in doorbell and doorbell["seq"] == 2


def test_a_retried_client_id_returns_the_original_seq_and_appends_nothing(visitor, conversation):
    author = log.visitor_author(visitor)
    client_id = uuid.uuid4()
    first = post(conversation, author, "once", client_id)
    post(conversation, author, "other")
    retry = post(conversation, author, "once", client_id)
    assert (retry.seq, retry.duplicate) == (first.seq, True)
    conversation.refresh_from_db()
    assert conversation.last_seq == 3
    assert conversation.events.count() == 3


def test_a_client_id_of_someone_else_is_refused(visitor, conversation, support):
    agent = make_agent("boris", [support])
    client_id = uuid.uuid4()
    post(conversation, log.visitor_author(visitor), "mine", client_id)
    with pytest.raises(ChatError):
        post(conversation, log.agent_author(agent), "theirs", client_id, internal=True)


def test_a_closed_conversation_takes_no_messages_but_acks_a_retry(visitor, conversation):
    author = log.visitor_author(visitor)
    client_id = uuid.uuid4()
    first = post(conversation, author, "before", client_id)
    conversations.close_conversation(conversation, by="visitor", author=author)
    assert post(conversation, author, "before", client_id).seq == first.seq
    with pytest.raises(Conflict):
        post(conversation, author, "after")


def test_a_public_reply_needs_the_assignment(visitor, conversation, support):
    agent = make_agent("boris", [support])
    with pytest.raises(Forbidden):
        post(conversation, log.agent_author(agent), assigned_to=agent.pk)
    conversations.accept_conversation(conversation, agent)
    assert post(conversation, log.agent_author(agent), assigned_to=agent.pk).seq == 3


def test_accept_is_compare_and_set(visitor, conversation, support, published_events):
    boris = make_agent("boris", [support])
    chen = make_agent("chen", [support])
    published_events.clear()
    appended = conversations.accept_conversation(conversation, boris)
    assert appended.frame["kind"] == "assigned"
    with pytest.raises(Conflict):
        conversations.accept_conversation(conversation, chen)
    conversation.refresh_from_db()
    assert (conversation.state, conversation.assigned_agent_id) == ("active", boris.pk)
    assert [group for group, _ in published_events] == [
        conversation_group(conversation.public_id),
        f"agent.{boris.pk}",
        "dept.support",
        "dept.support.waiting",
    ]


def test_close_records_who_and_why(visitor, conversation):
    appended = conversations.close_conversation(conversation, by="agent", reason="solved")
    assert (appended.frame["by"], appended.frame["reason"]) == ("agent", "solved")
    conversation.refresh_from_db()
    assert conversation.state == "closed" and conversation.closed_at is not None


def test_rating_is_stored_once_after_close(visitor, conversation):
    conversations.close_conversation(conversation, by="visitor")
    appended = conversations.rate_conversation(conversation, visitor, score=5, comment="great")
    assert appended.frame["kind"] == "rated"
    conversation.refresh_from_db()
    assert (conversation.rating_score, conversation.rating_comment) == (5, "great")
    with pytest.raises(Conflict):
        conversations.rate_conversation(conversation, visitor, score=1, comment="")


def test_read_markers_only_move_forward(visitor, conversation, published_events):
    participants.mark_read(
        conversation.pk, conversation.public_id, seq=1, sender="x", visitor=visitor
    )
    participants.mark_read(
        conversation.pk, conversation.public_id, seq=0, sender="x", visitor=visitor
    )
    assert ReadMarker.objects.get(conversation=conversation, visitor=visitor).last_read_seq == 1
    assert published_events[-1][1]["type"] == "conversation.read"


@pytest.mark.django_db(transaction=True)
def test_post_message_costs_one_statement_on_postgresql_and_two_on_sqlite():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    support = make_department("support")
    visitor = visitors.create_visitor()[0]
    conversation = conversations.start_conversation(visitor, support)[0]
    author = log.visitor_author(visitor)
    with CaptureQueriesContext(connection) as captured:
        post(conversation, author, "lean")
    # PostgreSQL: the seq UPDATE and the INSERT in one CTE statement, in
    # autocommit. SQLite: UPDATE … RETURNING then INSERT; it also logs its
    # BEGIN IMMEDIATE/COMMIT.
    statements = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].split()[0].upper() not in {"BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"}
    ]
    expected = ["WITH"] if connection.vendor == "postgresql" else ["UPDATE", "INSERT"]
    assert [s.split()[0] for s in statements] == expected
    assert len(captured.captured_queries) == (1 if connection.vendor == "postgresql" else 4)


def test_the_chat_timeline_source_lists_the_contacts_chats(visitor, conversation):
    from crm.timeline import contact_timeline
    from tests.factories import make_contact

    contact = make_contact(external_id="crm-1")
    Conversation.objects.filter(pk=conversation.pk).update(contact=contact)
    post(conversation, log.visitor_author(visitor), "My relay blinks")
    [entry] = [e for e in contact_timeline(contact) if e.kind == "chat"]
    assert entry.ref == str(conversation.public_id)
    assert "My relay blinks" in entry.summary
