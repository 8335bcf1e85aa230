"""The supervisor's actions on the floor: whisper, take over, reassign, set presence."""

from __future__ import annotations

import pytest

from chat.actions import conversations, floor, visitors
from chat.actions.presence import check_set_presence
from chat.errors import ChatError, Conflict, Forbidden
from chat.events import conversation_group
from chat.models import Conversation, ConversationEvent
from chat.queries import events_after
from queues.models import AgentPresence
from tests.factories import make_agent

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat(support, support_agent):
    visitor = visitors.create_visitor(name="Ana")[0]
    conversation, _ = conversations.start_conversation(visitor, support)
    conversations.accept_conversation(conversation, support_agent)
    conversation.refresh_from_db()
    return conversation


def test_a_whisper_is_an_internal_event_rung_on_the_conversation(
    chat, supervisor, published_events
):
    published_events.clear()
    appended = floor.check_whisper(supervisor, str(chat.public_id), "Offer a replacement")
    event = ConversationEvent.objects.get(conversation=chat, seq=appended.seq)
    assert (event.kind, event.internal) == ("whisper", True)
    assert event.payload == {
        "author": {"role": "agent", "name": "Victor"},
        "body": "Offer a replacement",
    }
    assert event.author_user_id == supervisor.pk
    [(group, doorbell)] = published_events
    assert group == conversation_group(chat.public_id)
    assert doorbell["event"]["internal"] is True


def test_the_visitors_replay_never_holds_a_whisper(chat, supervisor):
    appended = floor.check_whisper(supervisor, str(chat.public_id), "psst")
    seen, _last = events_after(chat.pk, str(chat.public_id), 0, for_agent=False)
    assert appended.seq not in [frame["seq"] for frame in seen]
    assert all(frame["kind"] != "whisper" for frame in seen)
    as_agent, _last = events_after(chat.pk, str(chat.public_id), 0, for_agent=True)
    assert as_agent[-1]["kind"] == "whisper"


def test_only_a_supervisor_whispers_with_a_real_body(chat, support_agent, supervisor):
    with pytest.raises(Forbidden):
        floor.check_whisper(support_agent, str(chat.public_id), "psst")
    for bad in ("", "   ", "x" * 2001, "a\x00b", None):
        with pytest.raises(ChatError):
            floor.check_whisper(supervisor, str(chat.public_id), bad)
    conversations.close_conversation(chat, by="agent")
    with pytest.raises(Conflict):
        floor.check_whisper(supervisor, str(chat.public_id), "too late")


def test_a_take_over_makes_the_supervisor_the_one_assignee(
    chat, support_agent, supervisor, published_events
):
    published_events.clear()
    appended = floor.check_take_over(supervisor, str(chat.public_id))
    assert appended.frame["kind"] == "transferred"
    chat.refresh_from_db()
    assert (chat.state, chat.assigned_agent_id, chat.offered_at) == ("active", supervisor.pk, None)
    groups = [group for group, _ in published_events]
    assert f"agent.{support_agent.pk}" in groups and f"agent.{supervisor.pk}" in groups
    with pytest.raises(Conflict):
        floor.check_take_over(supervisor, str(chat.public_id))


def test_a_take_over_of_a_chat_moved_meanwhile_is_refused(chat, support, supervisor):
    stale = Conversation.objects.get(pk=chat.pk)
    chen = make_agent("chen", [support])
    Conversation.objects.filter(pk=chat.pk).update(assigned_agent=chen)
    from chat.actions.transfer import transfer_to_agent

    with pytest.raises(Conflict):
        transfer_to_agent(stale, supervisor, by=supervisor, take_over=True)
    chat.refresh_from_db()
    assert chat.assigned_agent_id == chen.pk


def test_an_agent_cannot_take_over_or_reassign(chat, support, support_agent):
    chen = make_agent("chen", [support])
    with pytest.raises(Forbidden):
        floor.check_take_over(chen, str(chat.public_id))
    with pytest.raises(Forbidden):
        floor.check_reassign(chen, str(chat.public_id), "chen")


def test_a_supervisor_sets_an_agents_presence_as_supervisor(support_agent, supervisor):
    presence = check_set_presence(supervisor, "away", agent_username="boris")
    assert (presence.chosen_status, presence.set_by) == ("away", AgentPresence.SetBy.SUPERVISOR)


def test_the_chat_rating_and_its_comment_are_on_the_crm_timeline(support, support_agent):
    from chat.timeline import chat_entries
    from crm.timeline import TimelineScope
    from tests.factories import make_contact

    maria = make_contact("Maria")
    visitor = visitors.create_visitor(name="Maria")[0]
    conversation, _ = conversations.start_conversation(visitor, support)
    Conversation.objects.filter(pk=conversation.pk).update(contact=maria)
    conversations.close_conversation(conversation, by="visitor")
    conversations.rate_conversation(conversation, visitor, score=4, comment="Quick")
    [entry] = chat_entries(TimelineScope(contact=maria), 10)
    assert "rated 4 of 5 “Quick”" in entry.summary
