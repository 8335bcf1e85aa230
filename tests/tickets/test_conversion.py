"""Chat → ticket: the agent's to_ticket, and the automatic kinds (offline, unanswered, left)."""

from __future__ import annotations

import datetime
import uuid

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from chat.actions.conversations import post_message, start_conversation
from chat.actions.visitors import create_visitor
from chat.log import agent_author, visitor_author
from chat.models import Conversation, ConversationEvent
from chat.sweeper import run_sweeps
from tests.chat.conftest import open_agent, open_widget, say
from tickets.actions.conversion import convert_automatically, convert_conversation, sweep_unanswered
from tickets.models import Ticket


def _chat(department, *, visitor_name="Ana", email="ana@example.com", contact=None):
    visitor, _token = create_visitor(name=visitor_name, email=email)
    if contact is not None:
        visitor.contact = contact
        visitor.save()
    conversation, _ = start_conversation(visitor, department)
    post_message(
        conversation.pk,
        conversation.public_id,
        author=visitor_author(visitor),
        client_id=uuid.uuid4(),
        body="My relay shows E42.\nSince this morning.",
    )
    return Conversation.objects.get(pk=conversation.pk)


def _agent_says(conversation, agent, body, *, internal=False):
    Conversation.objects.filter(pk=conversation.pk).update(state="active", assigned_agent=agent)
    post_message(
        conversation.pk,
        conversation.public_id,
        author=agent_author(agent),
        client_id=uuid.uuid4(),
        body=body,
        internal=internal,
    )


@pytest.mark.django_db
class TestConvertConversation:
    def test_it_links_the_contact_and_keeps_the_transcript(
        self, support, support_agent, customer, standard_plan
    ):
        conversation = _chat(support, contact=customer)
        _agent_says(conversation, support_agent, "Which firmware?")
        _agent_says(conversation, support_agent, "Gold customer", internal=True)
        ticket = convert_conversation(
            conversation,
            subject="E42 on RZA-500",
            priority="high",
            by=support_agent,
            reason="agent",
        )
        assert (ticket.contact, ticket.organization) == (customer, customer.organization)
        assert (ticket.channel, ticket.priority, ticket.subject) == (
            "chat",
            "high",
            "E42 on RZA-500",
        )
        assert ticket.conversation == conversation and ticket.assignee == support_agent
        # An agent had answered in the chat: the first response is met already.
        assert ticket.status == "open" and ticket.first_responded_at is not None
        assert ticket.sla_plan == standard_plan and ticket.resolution_due is not None
        created, public, internal = ticket.events.order_by("seq")
        assert created.kind == "created" and created.payload["body"].startswith(
            "My relay shows E42."
        )
        assert public.kind == "transcript" and not public.internal
        assert [m["body"] for m in public.payload["messages"]] == [
            "My relay shows E42.\nSince this morning.",
            "Which firmware?",
        ]
        assert internal.kind == "transcript" and internal.internal
        assert "Gold customer" in [m["body"] for m in internal.payload["messages"]]
        event = ConversationEvent.objects.get(conversation=conversation, kind="ticket")
        assert event.payload == {
            "number": ticket.number,
            "status": "open",
            "portal_url": ticket.portal_url,
        }
        assert not event.internal and ticket.portal_url.endswith(
            f"/portal/tickets/{ticket.number}/"
        )

    def test_it_makes_one_ticket_per_conversation(self, support, support_agent, customer):
        conversation = _chat(support, contact=customer)
        first = convert_conversation(
            conversation, subject="", priority="normal", by=support_agent, reason="agent"
        )
        again = convert_conversation(
            conversation, subject="Other", priority="low", by=support_agent, reason="agent"
        )
        assert first.pk == again.pk and Ticket.objects.count() == 1
        assert (
            ConversationEvent.objects.filter(conversation=conversation, kind="ticket").count() == 1
        )
        # No subject given: the first line of the visitor's message.
        assert first.subject == "My relay shows E42."

    def test_an_anonymous_visitor_keeps_the_name_and_email_as_typed(self, support, support_agent):
        conversation = _chat(support, visitor_name="Ștefan", email="stefan@example.ro")
        ticket = convert_conversation(
            conversation, subject="", priority="normal", by=support_agent, reason="agent"
        )
        assert ticket.contact is None and ticket.organization is None
        assert (ticket.requester_name, ticket.requester_email) == ("Ștefan", "stefan@example.ro")

    def test_the_visitors_verified_contact_is_used_when_the_chat_has_none(self, support, customer):
        conversation = _chat(support, contact=customer)
        Conversation.objects.filter(pk=conversation.pk).update(contact=None)
        conversation.refresh_from_db()
        ticket = convert_conversation(conversation, subject="", priority="normal", reason="agent")
        assert ticket.contact == customer


@pytest.mark.django_db
class TestAutomaticConversion:
    def test_an_unanswered_queued_chat_becomes_a_ticket_after_the_department_time(self, support):
        support.auto_ticket_after_s = 300
        support.save()
        conversation = _chat(support)
        now = timezone.now()
        assert sweep_unanswered(now + datetime.timedelta(seconds=200)) == {"auto_tickets": 0}
        assert sweep_unanswered(now + datetime.timedelta(seconds=301)) == {"auto_tickets": 1}
        assert sweep_unanswered(now + datetime.timedelta(seconds=900)) == {"auto_tickets": 0}
        conversation.refresh_from_db()
        assert conversation.state == "closed"
        kinds = list(conversation.events.order_by("seq").values_list("kind", flat=True))
        assert kinds[-2:] == ["ticket", "closed"]
        assert conversation.events.get(kind="closed").payload["reason"] == "ticket"
        assert conversation.ticket.channel == "chat" and conversation.ticket.status == "new"

    def test_zero_turns_the_unanswered_rule_off(self, support):
        support.auto_ticket_after_s = 0
        support.save()
        _chat(support)
        assert sweep_unanswered(timezone.now() + datetime.timedelta(days=1)) == {"auto_tickets": 0}

    def test_an_answered_chat_never_converts_by_itself(self, support, support_agent):
        conversation = _chat(support)
        _agent_says(conversation, support_agent, "Hello")
        Conversation.objects.filter(pk=conversation.pk).update(state="queued", assigned_agent=None)
        assert sweep_unanswered(timezone.now() + datetime.timedelta(hours=1)) == {"auto_tickets": 0}
        assert convert_automatically(conversation.pk, reason="left") is None
        assert not Ticket.objects.exists()

    def test_the_chat_sweep_runs_the_ticket_sweeps(self, support):
        _chat(support)
        counts = run_sweeps(now=timezone.now() + datetime.timedelta(seconds=601))
        assert counts["auto_tickets"] == 1
        assert {"warnings", "breaches"} <= set(counts)

    def test_an_offline_message_within_business_hours_waits(self, support):
        # Open 24x7 but nobody online: an agent may still come; no ticket yet.
        conversation = _chat(support)
        assert convert_automatically(conversation.pk, reason="offline") is None

    def test_an_offline_message_outside_business_hours_becomes_a_ticket(self, db):
        from tests.factories import make_department

        closed = make_department("night", is_24x7=False)  # no hours: closed
        conversation = _chat(closed)
        appended = convert_automatically(conversation.pk, reason="offline")
        assert appended is not None and appended.frame["kind"] == "ticket"
        conversation.refresh_from_db()
        assert (
            conversation.state == "closed" and conversation.ticket.subject == "My relay shows E42."
        )


pytestmark_sockets = pytest.mark.django_db(transaction=True)


@pytestmark_sockets
async def test_to_ticket_is_answered_with_the_ticket_event_both_sides_see(support, support_agent):
    visitor, _ = await open_widget(profile={"name": "Ana"})
    ack = await say(visitor, "Relay E42")
    conversation = ack["conversation"]
    agent, _ = await open_agent(support_agent)
    await agent.send({"type": "accept", "conversation": conversation})
    await agent.expect("assigned")
    await agent.send(
        {"type": "to_ticket", "conversation": conversation, "subject": "E42", "priority": "high"}
    )
    event = await agent.expect("event", kind="ticket")
    assert event["number"].startswith("T-") and event["status"] == "new"
    assert event["internal"] is False
    seen = await visitor.expect("event", kind="ticket")
    assert seen["number"] == event["number"] and seen["portal_url"].endswith(f"{event['number']}/")
    assert "internal" not in seen
    ticket = await database_sync_to_async(Ticket.objects.get)(number=event["number"])
    assert (ticket.subject, ticket.priority) == ("E42", "high")
    await agent.send({"type": "to_ticket", "conversation": conversation})
    assert (await agent.expect("error"))["code"] == "conflict"
    await agent.close()
    await visitor.close()


@pytestmark_sockets
async def test_an_agent_of_another_department_cannot_convert(support, sales_agent):
    visitor, _ = await open_widget()
    ack = await say(visitor, "Relay E42")
    agent, _ = await open_agent(sales_agent)
    await agent.send({"type": "to_ticket", "conversation": ack["conversation"]})
    assert (await agent.expect("error"))["code"] == "forbidden"
    assert not await database_sync_to_async(Ticket.objects.exists)()
    await agent.close()
    await visitor.close()


@pytestmark_sockets
async def test_a_visitor_who_leaves_the_queue_leaves_a_ticket(support):
    visitor, _ = await open_widget(profile={"name": "Ana", "email": "ana@example.com"})
    ack = await say(visitor, "Please call me back")
    await visitor.send({"type": "close", "conversation": ack["conversation"]})
    await visitor.expect("event", kind="closed")
    event = await visitor.expect("event", kind="ticket")
    ticket = await database_sync_to_async(Ticket.objects.get)(number=event["number"])
    assert ticket.requester_email == "ana@example.com" and ticket.subject == "Please call me back"
    await visitor.close()


@pytestmark_sockets
async def test_a_message_left_while_closed_becomes_a_ticket_and_the_visitor_is_told(db):
    from tests.factories import make_department

    await database_sync_to_async(make_department)("support", is_24x7=False)  # no hours: closed
    visitor, welcome = await open_widget(profile={"name": "Ana", "email": "ana@example.com"})
    assert welcome["department"]["online"] is False
    await say(visitor, "The relay trips at night")
    event = await visitor.expect("event", kind="ticket")
    closed = await visitor.expect("event", kind="closed")
    assert closed["seq"] == event["seq"] + 1
    assert await database_sync_to_async(Ticket.objects.filter(number=event["number"]).exists)()
    await visitor.close()


@pytest.mark.django_db
def test_a_setting_converts_offline_messages_at_once_even_within_hours(support, settings):
    settings.CHATPORTAL_TICKET_WHEN_NOBODY_ONLINE = True
    conversation = _chat(support)
    assert convert_automatically(conversation.pk, reason="offline") is not None
    conversation.refresh_from_db()
    assert conversation.state == "closed"
