"""IDOR on conversations: naming someone else's conversation id on a socket.

Covered elsewhere, not repeated here:
- a visitor's `resume`/`read`/`close`/`rate` of another visitor's conversation:
  tests/chat/test_widget_consumer.py::test_another_visitors_conversation_is_not_found;
- an agent of another department (accept, resume, read, typing, close,
  transfer, message): tests/chat/test_agent_consumer.py::
  test_an_agent_of_another_department_is_forbidden, and `to_ticket`:
  tests/tickets/test_conversion.py::test_an_agent_of_another_department_cannot_convert.
"""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from chat.models import Conversation
from tests.chat.conftest import new_id, open_agent, open_widget, say

pytestmark = pytest.mark.django_db(transaction=True)


async def start_chat(body: str = "my private question"):
    visitor, welcome = await open_widget(profile={"name": "Alice"})
    ack = await say(visitor, body)
    await visitor.expect("event", seq=ack["seq"])
    return visitor, welcome, ack["conversation"]


def last_seq(public_id: str) -> int:
    return Conversation.objects.get(public_id=public_id).last_seq


async def test_hello_resume_of_another_visitors_conversation_replays_nothing(support):
    alice, _, conversation = await start_chat()
    mallory, _ = await open_widget(resume={conversation: 0})
    error = await mallory.expect("error")
    assert (error["code"], error["conversation"]) == ("not_found", conversation)
    assert mallory.events() == []
    assert all("private" not in str(frame) for frame in mallory.received)
    await alice.close()
    await mallory.close()


async def test_a_message_naming_another_visitors_conversation_lands_in_the_senders_own(support):
    # Widget frames carry no conversation for message/typing: the socket uses
    # the visitor's own. A smuggled field must change nothing.
    alice, _, conversation = await start_chat()
    before = await database_sync_to_async(last_seq)(conversation)
    mallory, _ = await open_widget()
    ack = await say(mallory, "injected", conversation=conversation)
    assert ack["conversation"] != conversation
    await mallory.send({"type": "typing", "active": True, "conversation": conversation})
    assert await alice.silent(0.3)
    assert await database_sync_to_async(last_seq)(conversation) == before
    assert all(
        event["body"] != "injected" for event in alice.events() if event["kind"] == "message"
    )
    await alice.close()
    await mallory.close()


async def test_a_visitor_never_hears_another_visitors_typing_or_reads(support, support_agent):
    alice, _, conversation = await start_chat()
    mallory, _, _theirs = await start_chat("mine")
    agent, _ = await open_agent(support_agent)
    await agent.send({"type": "accept", "conversation": conversation})
    await agent.expect("event", kind="assigned")
    await alice.expect("event", kind="assigned")
    await agent.send({"type": "typing", "conversation": conversation, "active": True})
    await alice.expect("typing", conversation=conversation)
    assert await mallory.silent(0.3)
    await agent.close()
    await alice.close()
    await mallory.close()


async def test_an_agent_of_another_department_hears_nothing_of_the_conversation(
    support, sales_agent
):
    sales_socket, _ = await open_agent(sales_agent)
    alice, _, conversation = await start_chat()
    await say(alice, "still private")
    assert all(conversation not in str(frame) for frame in sales_socket.received)
    assert await sales_socket.silent(0.3)
    await sales_socket.close()
    await alice.close()


async def test_an_agent_who_transferred_a_chat_to_another_department_loses_it(
    support, sales, support_agent, sales_agent
):
    alice, _, conversation = await start_chat()
    agent, _ = await open_agent(support_agent)
    await agent.send({"type": "accept", "conversation": conversation})
    await agent.expect("event", kind="assigned")
    await agent.send({"type": "transfer", "conversation": conversation, "department": "sales"})
    await agent.expect("event", kind="transferred")
    await agent.expect("unassigned", conversation=conversation)
    # Now sales' chat: the socket that followed it must stop hearing it and
    # must not write into it, as a fresh socket of this agent could not.
    await say(alice, "for sales only")
    assert await agent.silent(0.3)
    for frame in (
        {
            "type": "message",
            "conversation": conversation,
            "client_id": new_id(),
            "body": "x",
            "internal": True,
        },
        {"type": "read", "conversation": conversation, "seq": 1},
        {"type": "typing", "conversation": conversation, "active": True},
        {"type": "resume", "conversation": conversation, "after_seq": 0},
    ):
        await agent.send(frame)
        error = await agent.expect("error")
        assert error["code"] == "forbidden", frame
    assert all(event.get("body") != "for sales only" for event in agent.events(conversation))
    await agent.close()
    await alice.close()


async def test_an_agent_hello_resume_of_another_departments_conversation_replays_nothing(
    support, sales_agent
):
    alice, _, conversation = await start_chat()
    agent, _ = await open_agent(sales_agent)
    await agent.send({"type": "hello", "resume": {conversation: 0}})
    await agent.expect("welcome")
    error = await agent.expect("error")
    assert (error["code"], error["conversation"]) == ("forbidden", conversation)
    assert agent.events() == []
    assert all("private" not in str(frame) for frame in agent.received)
    await agent.close()
    await alice.close()
