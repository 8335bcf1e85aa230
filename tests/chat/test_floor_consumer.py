"""The supervisor on the floor over the agent socket: watching, whispering, taking over."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from tests.chat.conftest import new_id, open_agent, open_widget, say
from tests.factories import make_agent

pytestmark = pytest.mark.django_db(transaction=True)


async def active_chat(agent_user):
    """A visitor's chat accepted by `agent_user`: (visitor socket, agent socket, id)."""
    visitor, _welcome = await open_widget(profile={"name": "Ana"})
    ack = await say(visitor, "My relay shows E42")
    conversation = ack["conversation"]
    agent, _ = await open_agent(agent_user)
    await agent.send({"type": "accept", "conversation": conversation})
    await agent.expect("event", kind="assigned")
    await visitor.expect("event", kind="assigned")
    return visitor, agent, conversation


async def test_a_supervisor_watches_a_chat_live_without_joining_it(support_agent, supervisor):
    visitor, agent, conversation = await active_chat(support_agent)
    watcher, welcome = await open_agent(supervisor)
    assert welcome["conversations"] == []
    await watcher.send({"type": "resume", "conversation": conversation, "after_seq": 0})
    assert (await watcher.expect("event", seq=2))["body"] == "My relay shows E42"
    await watcher.expect("event", kind="assigned")
    # Live: the visitor's next message reaches the watcher too.
    await say(visitor, "Still there?")
    assert (await watcher.expect("event", kind="message", body="Still there?"))["internal"] is False
    # Watching made the supervisor no participant: the agent still has the chat.
    from chat.models import Conversation

    chat = await database_sync_to_async(Conversation.objects.select_related("assigned_agent").get)(
        public_id=conversation
    )
    assert chat.assigned_agent.username == "boris"
    for s in (visitor, agent, watcher):
        await s.close()


async def test_a_whisper_reaches_the_agent_and_never_the_visitor(support_agent, supervisor):
    visitor, agent, conversation = await active_chat(support_agent)
    watcher, _ = await open_agent(supervisor)
    await watcher.send({"type": "resume", "conversation": conversation, "after_seq": 0})
    await watcher.expect("event", kind="assigned")
    await watcher.send(
        {"type": "whisper", "conversation": conversation, "body": "Offer the replacement"}
    )
    ack = await watcher.expect("ack", conversation=conversation)
    heard = await agent.expect("event", kind="whisper")
    assert heard["seq"] == ack["seq"]
    assert heard["internal"] is True
    assert heard["body"] == "Offer the replacement"
    assert heard["author"] == {"role": "agent", "name": "Victor"}
    # The visitor's socket gets the next event after it, but never the whisper:
    # not live, not in a replay, not after a reconnect.
    await say(agent, "Here is what we can do", conversation=conversation)
    nxt = await visitor.expect("event", kind="message", body="Here is what we can do")
    assert nxt["seq"] == ack["seq"] + 1
    await visitor.send({"type": "resume", "conversation": conversation, "after_seq": 0})
    await visitor.expect("event", seq=nxt["seq"])
    assert all(f.get("kind") != "whisper" for f in visitor.received)
    assert all("Offer the replacement" not in str(f) for f in visitor.received)
    for s in (visitor, agent, watcher):
        await s.close()


async def test_only_a_supervisor_whispers(support_agent):
    visitor, agent, conversation = await active_chat(support_agent)
    await agent.send({"type": "whisper", "conversation": conversation, "body": "psst"})
    assert (await agent.expect("error"))["code"] == "forbidden"
    await agent.send({"type": "whisper", "conversation": conversation, "body": "  "})
    assert (await agent.expect("error"))["code"] == "invalid"
    for s in (visitor, agent):
        await s.close()


async def test_a_supervisor_takes_over_and_the_agent_is_told(support, support_agent, supervisor):
    visitor, agent, conversation = await active_chat(support_agent)
    watcher, _ = await open_agent(supervisor)
    from chat.actions.floor import check_take_over

    await database_sync_to_async(check_take_over)(supervisor, conversation)
    assert (await agent.expect("unassigned", conversation=conversation))["reason"] == "transferred"
    assert (await watcher.expect("assigned"))["conversation"]["id"] == conversation
    moved = await visitor.expect("event", kind="transferred")
    assert moved["to"] == {"agent": {"name": "Victor"}}
    # Now the supervisor replies publicly; the former agent no longer may.
    await say(watcher, "Victor here, I will take it from now", conversation=conversation)
    await visitor.expect("event", kind="message", body="Victor here, I will take it from now")
    await agent.send(
        {"type": "message", "conversation": conversation, "client_id": new_id(), "body": "me?"}
    )
    assert (await agent.expect("error"))["code"] == "forbidden"
    for s in (visitor, agent, watcher):
        await s.close()


async def test_a_supervisor_reassigns_to_an_available_agent_only(
    support, support_agent, supervisor
):
    chen = await database_sync_to_async(make_agent)("chen", [support])
    visitor, agent, conversation = await active_chat(support_agent)
    colleague, _ = await open_agent(chen)
    from chat.actions.floor import check_reassign
    from chat.errors import Conflict

    with pytest.raises(Conflict):
        await database_sync_to_async(check_reassign)(supervisor, conversation, "chen")
    await colleague.send({"type": "presence", "status": "online"})
    await colleague.expect("presence", agent="chen", status="online")
    await database_sync_to_async(check_reassign)(supervisor, conversation, "chen")
    assert (await colleague.expect("assigned"))["conversation"]["id"] == conversation
    await agent.expect("unassigned", conversation=conversation)
    for s in (visitor, agent, colleague):
        await s.close()
