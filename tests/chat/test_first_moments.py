"""Conversation.first_assigned_at / first_reply_at: written with the event that sets them.

The KPIs (reports.kpis) read these columns instead of grouping the events,
so every path that appends an `assigned` event or an agent's public
message or attachment must set them, once, to that event's moment.
"""

from __future__ import annotations

import io
import uuid

import pytest

from chat import log
from chat.actions import conversations, visitors
from chat.actions.attachments import post_attachment
from chat.actions.routing import route_waiting
from chat.models import Conversation, ConversationEvent
from foundation.uploads import check_upload
from queues import actions as presence
from tests import attachment_files as files
from tests.factories import make_agent, make_department

pytestmark = pytest.mark.django_db
Kind = ConversationEvent.Kind


@pytest.fixture
def setup(db):
    department = make_department("support")
    agent = make_agent("boris", [department])
    visitor = visitors.create_visitor(name="Ana")[0]
    conversation = conversations.start_conversation(visitor, department)[0]
    return conversation, visitor, agent


def event_at(conversation: Conversation, kind: str, **conditions):
    return (
        ConversationEvent.objects.filter(conversation=conversation, kind=kind, **conditions)
        .order_by("seq")
        .values_list("created_at", flat=True)
        .first()
    )


def say(conversation, author, *, internal=False, assigned_to=None) -> None:
    conversations.post_message(
        conversation.pk,
        conversation.public_id,
        author=author,
        client_id=uuid.uuid4(),
        body="Hello",
        internal=internal,
        assigned_to=assigned_to,
    )


def test_a_new_conversation_has_neither(setup):
    conversation, _, _ = setup
    conversation.refresh_from_db()
    assert conversation.first_assigned_at is None
    assert conversation.first_reply_at is None


def test_accept_sets_first_assigned_once(setup):
    conversation, _, agent = setup
    conversations.accept_conversation(conversation, agent)
    conversation.refresh_from_db()
    first = event_at(conversation, Kind.ASSIGNED)
    assert first is not None
    assert conversation.first_assigned_at == first
    # A second assignment (routing after a requeue) keeps the first moment.
    other = make_agent("chen", [conversation.department])
    log.append_event(conversation, kind=Kind.ASSIGNED, payload={}, require_open=False)
    Conversation.objects.filter(pk=conversation.pk).update(assigned_agent=other)
    conversation.refresh_from_db()
    assert conversation.first_assigned_at == first
    assert (
        ConversationEvent.objects.filter(conversation=conversation, kind=Kind.ASSIGNED).count() == 2
    )


def test_a_routing_pass_sets_first_assigned_of_every_chat_it_assigns(setup):
    conversation, _, agent = setup
    second = conversations.start_conversation(
        visitors.create_visitor(name="Bo")[0], conversation.department
    )[0]
    presence.do_set_presence(agent, "online", accepting=True)
    presence.do_register_connection(agent, connection_id=uuid.uuid4(), channel_name="test.a")
    made = route_waiting([conversation.department_id])
    assert {m.conversation for m in made} == {conversation.public_id, second.public_id}
    for assigned in (conversation, second):
        assigned.refresh_from_db()
        assert assigned.state == Conversation.State.ACTIVE
        assert assigned.first_assigned_at == event_at(assigned, Kind.ASSIGNED)
        assert assigned.first_reply_at is None


def test_only_an_agents_public_message_is_the_first_reply(setup):
    conversation, visitor, agent = setup
    conversations.accept_conversation(conversation, agent)
    say(conversation, log.visitor_author(visitor))
    say(conversation, log.agent_author(agent), internal=True)
    conversation.refresh_from_db()
    assert conversation.first_reply_at is None

    say(conversation, log.agent_author(agent), assigned_to=agent.pk)
    first = event_at(conversation, Kind.MESSAGE, author_role="agent", internal=False)
    conversation.refresh_from_db()
    assert first is not None
    assert conversation.first_reply_at == first

    say(conversation, log.agent_author(agent), assigned_to=agent.pk)
    conversation.refresh_from_db()
    assert conversation.first_reply_at == first


def test_an_agents_public_attachment_is_a_first_reply(setup, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    conversation, visitor, agent = setup
    conversations.accept_conversation(conversation, agent)
    upload = check_upload(io.BytesIO(files.png()), filename="relay.png")
    post_attachment(conversation, upload, author=log.visitor_author(visitor))
    conversation.refresh_from_db()
    assert conversation.first_reply_at is None
    upload = check_upload(io.BytesIO(files.png()), filename="relay.png")
    post_attachment(conversation, upload, author=log.agent_author(agent), assigned_to=agent.pk)
    conversation.refresh_from_db()
    assert conversation.first_reply_at == event_at(
        conversation, Kind.ATTACHMENT, author_role="agent"
    )
    assert conversation.first_reply_at is not None
