"""The automatic chat → ticket rules hold in the chat actions, whatever the transport.

The widget socket's tests (tests/tickets/test_conversion.py) cover the same
rules end to end; these call the actions as any other surface would.
"""

from __future__ import annotations

import uuid

import pytest

from chat.actions.conversations import check_visitor_close, check_visitor_message
from chat.actions.visitors import create_visitor
from chat.models import Conversation
from tests.factories import make_department
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def _visitor():
    visitor, _token = create_visitor(name="Ana", email="ana@example.com")
    return visitor


def _say(visitor, department, body="The relay trips at night", **kwargs):
    return check_visitor_message(
        visitor,
        conversation=None,
        department=department,
        client_id=uuid.uuid4(),
        body=body,
        **kwargs,
    )


def test_a_chat_started_while_the_visitor_was_told_offline_becomes_a_ticket():
    closed = make_department("night", is_24x7=False)  # no hours: closed
    appended = _say(_visitor(), closed, department_online=False)
    conversation = Conversation.objects.get(pk=appended.conversation_pk)
    assert conversation.state == Conversation.State.CLOSED
    assert Ticket.objects.get(conversation=conversation).subject == "The relay trips at night"
    assert appended.started and appended.frame["kind"] == "message"


def test_without_what_the_visitor_was_told_the_action_asks_the_department():
    closed = make_department("night", is_24x7=False)
    appended = _say(_visitor(), closed)
    assert Ticket.objects.filter(conversation_id=appended.conversation_pk).exists()


def test_a_chat_started_while_online_stays_in_the_queue():
    closed = make_department("night", is_24x7=False)
    appended = _say(_visitor(), closed, department_online=True)
    conversation = Conversation.objects.get(pk=appended.conversation_pk)
    assert conversation.state == Conversation.State.QUEUED
    assert not Ticket.objects.exists()


def test_only_the_message_that_starts_a_chat_converts():
    closed = make_department("night", is_24x7=False)
    visitor = _visitor()
    first = _say(visitor, closed, department_online=True)
    second = check_visitor_message(
        visitor,
        conversation=(first.conversation_pk, first.conversation),
        department=closed,
        client_id=uuid.uuid4(),
        body="Still there?",
        department_online=False,
    )
    assert not second.started
    assert not Ticket.objects.exists()


def test_a_visitor_who_leaves_the_queue_leaves_a_ticket():
    support = make_department("support", is_24x7=True)
    visitor = _visitor()
    started = _say(visitor, support, body="Please call me back", department_online=True)
    closed = check_visitor_close(visitor, str(started.conversation))
    assert closed.frame["kind"] == "closed"
    ticket = Ticket.objects.get(conversation_id=started.conversation_pk)
    assert (ticket.subject, ticket.requester_email) == ("Please call me back", "ana@example.com")
