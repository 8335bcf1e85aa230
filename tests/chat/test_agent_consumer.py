from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from tests.chat.conftest import Socket, new_id, open_agent, open_widget, say
from tests.factories import make_agent

pytestmark = pytest.mark.django_db(transaction=True)


async def start_chat(body: str = "Hello"):
    visitor, welcome = await open_widget(profile={"name": "Ana"})
    ack = await say(visitor, body)
    await visitor.expect("event", seq=ack["seq"])
    return visitor, ack["conversation"]


async def test_an_agent_with_a_session_is_welcomed_with_its_queues(support_agent):
    visitor, conversation = await start_chat()
    agent, welcome = await open_agent(support_agent)
    assert welcome["agent"]["id"] == "boris"
    assert welcome["agent"]["departments"] == ["support"]
    assert welcome["agent"]["max_chats"] == 3
    assert welcome["conversations"] == []
    [queue] = welcome["queues"]
    assert queue["department"] == "support" and queue["waiting"] == 1
    assert queue["oldest_wait_s"] >= 0
    assert queue["conversations"][0]["id"] == conversation
    assert queue["conversations"][0]["visitor"] == {"name": "Ana"}
    await agent.close()
    await visitor.close()


async def test_an_agent_api_token_in_hello_authenticates(support_agent):
    from queues.tokens import issue_agent_token

    token = await database_sync_to_async(issue_agent_token)(support_agent)
    socket = Socket("/ws/agent/")
    await socket.connect()
    await socket.send({"type": "hello", "token": token})
    welcome = await socket.expect("welcome")
    assert welcome["agent"]["id"] == "boris"
    await socket.close()


async def test_a_forged_agent_token_closes_with_4001(support_agent):
    socket = Socket("/ws/agent/")
    await socket.connect()
    await socket.send({"type": "hello", "token": "cpt_" + "0" * 32 + "." + "0" * 64})
    assert await socket.closed_with() == 4001
    assert socket.received == []


async def test_a_signed_in_user_who_is_not_an_agent_must_still_authenticate(
    support, django_user_model
):
    from tests.chat.conftest import session_headers

    customer = await database_sync_to_async(django_user_model.objects.create_user)("maria")
    socket = Socket("/ws/agent/", await session_headers(customer))
    await socket.connect()
    await socket.send({"type": "ping"})
    assert await socket.closed_with() == 4001


async def test_accepting_assigns_and_tells_the_visitor_and_the_department(support, support_agent):
    colleague = await database_sync_to_async(make_agent)("chen", [support])
    visitor, conversation = await start_chat("My relay blinks")
    agent, _ = await open_agent(support_agent)
    other, _ = await open_agent(colleague)
    await agent.send({"type": "accept", "conversation": conversation})
    assigned = await agent.expect("assigned")
    assert assigned["conversation"]["id"] == conversation
    assert assigned["conversation"]["state"] == "active"
    assert assigned["conversation"]["agent"] == {"name": "Boris"}
    history = [await agent.expect("event") for _ in range(3)]
    assert [e["kind"] for e in history] == ["queued", "message", "assigned"]
    assert history[1]["body"] == "My relay blinks" and history[1]["internal"] is False
    seen = await visitor.expect("event", seq=3)
    assert seen["kind"] == "assigned" and seen["agent"] == {"name": "Boris"}
    queue = await other.expect("queue", department="support")
    assert queue["waiting"] == 0
    await other.send({"type": "accept", "conversation": conversation})
    assert (await other.expect("error"))["code"] == "conflict"
    for socket in (agent, other, visitor):
        await socket.close()


async def test_an_internal_note_never_reaches_the_visitor(support_agent):
    visitor, conversation = await start_chat()
    agent, _ = await open_agent(support_agent)
    await agent.send({"type": "accept", "conversation": conversation})
    await agent.expect("event", kind="assigned")
    await visitor.expect("event", seq=3)
    note = await say(agent, "customer sounds upset", conversation=conversation, internal=True)
    assert note["seq"] == 4
    echoed = await agent.expect("event", seq=4)
    assert echoed["internal"] is True
    reply = await say(agent, "We are on it", conversation=conversation)
    assert reply["seq"] == 5
    seen = await visitor.expect("event")
    assert seen["seq"] == 5 and seen["body"] == "We are on it"
    assert seen["author"] == {"role": "agent", "name": "Boris"}
    assert "internal" not in seen
    await visitor.send({"type": "resume", "conversation": conversation, "after_seq": 0})
    replayed = [await visitor.expect("event") for _ in range(4)]
    assert [e["seq"] for e in replayed] == [1, 2, 3, 5]
    assert all("upset" not in str(frame) for frame in visitor.received)
    await agent.close()
    await visitor.close()


async def test_a_public_reply_needs_the_conversation_accepted(support_agent):
    visitor, conversation = await start_chat()
    agent, _ = await open_agent(support_agent)
    client_id = new_id()
    await agent.send(
        {"type": "message", "conversation": conversation, "client_id": client_id, "body": "hi"}
    )
    error = await agent.expect("error")
    assert (error["code"], error["client_id"]) == ("forbidden", client_id)
    # An internal note on a waiting conversation is fine.
    assert (await say(agent, "VIP", conversation=conversation, internal=True))["seq"] == 3
    await agent.close()
    await visitor.close()


async def test_an_agent_of_another_department_is_forbidden(support, sales_agent):
    visitor, conversation = await start_chat()
    agent, welcome = await open_agent(sales_agent)
    assert [q["department"] for q in welcome["queues"]] == ["sales"]
    for frame in (
        {"type": "accept", "conversation": conversation},
        {"type": "resume", "conversation": conversation, "after_seq": 0},
        {"type": "read", "conversation": conversation, "seq": 1},
        {"type": "typing", "conversation": conversation, "active": True},
        {"type": "close", "conversation": conversation},
        {"type": "transfer", "conversation": conversation, "department": "sales"},
        {
            "type": "message",
            "conversation": conversation,
            "client_id": new_id(),
            "body": "x",
            "internal": True,
        },
    ):
        await agent.send(frame)
        error = await agent.expect("error")
        assert error["code"] == "forbidden", frame
        assert error["conversation"] == conversation
    await agent.send({"type": "resume", "conversation": new_id(), "after_seq": 0})
    assert (await agent.expect("error"))["code"] == "not_found"
    assert agent.events() == []
    await agent.close()
    await visitor.close()


async def test_to_ticket_answers_not_available_until_tickets_exist(support_agent, monkeypatch):
    # The tickets app registers a converter at start-up; without one, chat says so.
    monkeypatch.setattr("chat.conversion._converter", None)
    visitor, conversation = await start_chat()
    agent, _ = await open_agent(support_agent)
    await agent.send({"type": "to_ticket", "conversation": conversation, "subject": "Relay"})
    assert (await agent.expect("error"))["code"] == "not_available"
    await agent.close()
    await visitor.close()


async def seen_or_expect(socket: Socket, frame_type: str, **fields):
    """A frame already received (skipped over by an earlier expect) or the next one."""
    for frame in socket.received:
        if frame["type"] == frame_type and all(frame.get(k) == v for k, v in fields.items()):
            return frame
    return await socket.expect(frame_type, **fields)


async def test_an_online_agent_is_given_a_new_chat_and_answers_the_offer(support_agent):
    agent, _ = await open_agent(support_agent)
    await agent.send({"type": "presence", "status": "online"})
    await agent.expect("presence", agent="boris", status="online")
    visitor, conversation = await start_chat("My relay blinks")
    assigned = await agent.expect("assigned")
    assert assigned["conversation"]["id"] == conversation
    assert assigned["conversation"]["offered"] is True
    seen = await seen_or_expect(visitor, "event", kind="assigned")
    assert seen["agent"] == {"name": "Boris"}
    # A console reloaded before answering still sees it as an offer.
    reloaded, welcome = await open_agent(support_agent)
    assert [c["offered"] for c in welcome["conversations"] if c["id"] == conversation] == [True]
    await reloaded.close()
    await agent.send({"type": "accept", "conversation": conversation})
    await agent.send(
        {"type": "message", "conversation": conversation, "client_id": new_id(), "body": "Hi"}
    )
    await agent.expect("ack")
    assert (await visitor.expect("event", kind="message"))["body"] == "Hi"
    await agent.close()
    await visitor.close()


async def test_a_waiting_visitor_hears_its_place_in_line(support):
    chen = await database_sync_to_async(make_agent)("chen", [support], max_chats=1)
    first, _ = await start_chat("first")
    second, conversation = await start_chat("second")
    place = await seen_or_expect(second, "queue", conversation=conversation)
    assert place["position"] == 2
    assert place["estimated_wait_s"] is None  # nobody online: no honest number
    agent, _ = await open_agent(chen)
    await agent.send({"type": "presence", "status": "online"})
    # The first chat goes to boris; the second moves up (now next in line).
    moved = await second.expect("queue", conversation=conversation, position=1)
    assert moved["estimated_wait_s"] is not None
    await agent.close()
    await first.close()
    await second.close()


async def test_saying_offline_gives_the_chats_back_to_the_queue(support_agent):
    agent, _ = await open_agent(support_agent)
    await agent.send({"type": "presence", "status": "online"})
    visitor, conversation = await start_chat()
    await agent.expect("assigned")
    await agent.send({"type": "presence", "status": "offline"})
    unassigned = await agent.expect("unassigned", conversation=conversation)
    assert unassigned["reason"] == "agent_offline"
    requeued = await visitor.expect("event", kind="queued", seq=4)
    assert requeued["department"] == "support"
    await agent.close()
    await visitor.close()


async def test_transfer_to_a_department_keeps_the_history_and_tells_the_visitor(
    support, sales, support_agent, sales_agent
):
    agent, _ = await open_agent(support_agent)
    await agent.send({"type": "presence", "status": "online"})
    visitor, conversation = await start_chat("I need a quote")
    await agent.expect("assigned")
    seller, _ = await open_agent(sales_agent)
    await seller.send({"type": "presence", "status": "online"})
    await agent.send({"type": "transfer", "conversation": conversation, "department": "sales"})
    moved = await visitor.expect("event", kind="transferred")
    assert moved["to"] == {"department": "sales"}
    await agent.expect("unassigned", conversation=conversation)
    assigned = await seller.expect("assigned")
    assert assigned["conversation"]["id"] == conversation
    history = [await seller.expect("event") for _ in range(5)]
    # Routing runs just after the start commits: the first assignment may land
    # before or after the first message.
    kinds = [e["kind"] for e in history]
    assert kinds[0] == "queued" and sorted(kinds[1:3]) == ["assigned", "message"]
    assert kinds[3:] == ["transferred", "assigned"]
    assert next(e for e in history if e["kind"] == "message")["body"] == "I need a quote"
    for s in (agent, seller, visitor):
        await s.close()


async def test_transfer_to_an_agent_and_its_refusals(support, support_agent, sales_agent):
    chen = await database_sync_to_async(make_agent)("chen", [support])
    agent, _ = await open_agent(support_agent)
    await agent.send({"type": "presence", "status": "online"})
    visitor, conversation = await start_chat()
    await agent.expect("assigned")
    # A colleague cannot pull an active chat away, and an offline agent cannot receive one.
    colleague, _ = await open_agent(chen)
    await colleague.send({"type": "transfer", "conversation": conversation, "agent": "chen"})
    assert (await colleague.expect("error"))["code"] == "forbidden"
    await agent.send({"type": "transfer", "conversation": conversation, "agent": "nobody"})
    assert (await agent.expect("error"))["code"] == "not_found"
    await agent.send({"type": "transfer", "conversation": conversation, "agent": "chen"})
    assert (await agent.expect("error"))["code"] == "conflict"
    await agent.send({"type": "transfer", "conversation": conversation})
    assert (await agent.expect("error"))["code"] == "invalid"
    await colleague.send({"type": "presence", "status": "online"})
    await colleague.expect("presence", agent="chen", status="online")
    await agent.send({"type": "transfer", "conversation": conversation, "agent": "chen"})
    assert (await visitor.expect("event", kind="transferred"))["to"] == {"agent": {"name": "Chen"}}
    assert (await colleague.expect("assigned"))["conversation"]["id"] == conversation
    # A sales agent has no access to support's chat at all.
    seller, _ = await open_agent(sales_agent)
    await seller.send({"type": "transfer", "conversation": conversation, "department": "sales"})
    assert (await seller.expect("error"))["code"] == "forbidden"
    for s in (agent, colleague, seller, visitor):
        await s.close()


async def test_a_supervisor_sets_a_colleague_away_but_an_agent_cannot(support, support_agent):
    sofia = await database_sync_to_async(make_agent)("sofia", [support], is_supervisor=True)
    chen = await database_sync_to_async(make_agent)("chen", [support])
    boris, _ = await open_agent(support_agent)
    await boris.send({"type": "presence", "status": "online"})
    await boris.expect("presence", agent="boris", status="online")
    supervisor, _ = await open_agent(sofia)
    await supervisor.send({"type": "presence", "status": "away", "agent": "boris"})
    # Boris's "online" doorbell may still be on its way when the supervisor's
    # socket joins (pub/sub fans out to whoever is a member on arrival), so
    # an "online" can come first; "away" must follow.
    await supervisor.expect("presence", agent="boris", status="away")
    assert (await boris.expect("presence", agent="boris", status="away"))["accepting"] is True
    colleague, _ = await open_agent(chen)
    await colleague.send({"type": "presence", "status": "offline", "agent": "boris"})
    assert (await colleague.expect("error"))["code"] == "forbidden"
    for s in (boris, supervisor, colleague):
        await s.close()


async def test_presence_is_set_and_answered(support_agent):
    agent, welcome = await open_agent(support_agent)
    assert welcome["agent"]["status"] == "offline"
    await agent.send({"type": "presence", "status": "online"})
    answer = await agent.expect("presence", agent="boris")
    assert answer["status"] == "online"
    await agent.send({"type": "presence", "status": "busy"})
    assert (await agent.expect("error"))["code"] == "invalid"
    await agent.close()


async def test_typing_and_read_go_both_ways(support_agent):
    visitor, conversation = await start_chat()
    agent, _ = await open_agent(support_agent)
    await agent.send({"type": "accept", "conversation": conversation})
    await agent.expect("event", kind="assigned")
    await visitor.send({"type": "typing", "active": True})
    typing = await agent.expect("typing")
    assert typing == {
        "type": "typing",
        "conversation": conversation,
        "active": True,
        "role": "visitor",
    }
    await agent.send({"type": "typing", "conversation": conversation, "active": True})
    assert (await visitor.expect("typing"))["role"] == "agent"
    await agent.send({"type": "read", "conversation": conversation, "seq": 99})
    read = await visitor.expect("read")
    assert read == {"type": "read", "conversation": conversation, "seq": 3, "role": "agent"}
    await visitor.send({"type": "read", "conversation": conversation, "seq": 2})
    assert (await agent.expect("read"))["role"] == "visitor"
    await agent.close()
    await visitor.close()


async def test_an_agent_closes_the_chat_and_the_visitor_sees_it(support_agent):
    visitor, conversation = await start_chat()
    agent, _ = await open_agent(support_agent)
    await agent.send({"type": "accept", "conversation": conversation})
    await agent.expect("event", kind="assigned")
    await agent.send({"type": "close", "conversation": conversation, "reason": "solved"})
    closed = await visitor.expect("event", kind="closed")
    assert (closed["by"], closed["reason"]) == ("agent", "solved")
    await agent.expect("event", kind="closed")
    await agent.send({"type": "ping"})
    assert (await agent.expect("pong"))["last_seq"] == {}
    await agent.close()
    await visitor.close()


async def test_an_agent_at_max_chats_cannot_accept_another(support):
    busy = await database_sync_to_async(make_agent)("ana", [support], max_chats=1)
    first, one = await start_chat("one")
    second, two = await start_chat("two")
    agent, _ = await open_agent(busy)
    await agent.send({"type": "accept", "conversation": one})
    await agent.expect("assigned")
    await agent.send({"type": "accept", "conversation": two})
    assert (await agent.expect("error"))["code"] == "conflict"
    for socket in (agent, first, second):
        await socket.close()


async def test_every_socket_of_the_agent_follows_an_accepted_chat(support_agent):
    visitor, conversation = await start_chat()
    tab_a, _ = await open_agent(support_agent)
    tab_b, _ = await open_agent(support_agent)
    await tab_a.send({"type": "accept", "conversation": conversation})
    assigned = await tab_b.expect("assigned")
    assert assigned["conversation"]["id"] == conversation
    reply = await say(tab_a, "hello", conversation=conversation)
    assert (await tab_b.expect("event", seq=reply["seq"]))["body"] == "hello"
    welcome_again = None
    again, welcome_again = await open_agent(support_agent)
    assert [c["id"] for c in welcome_again["conversations"]] == [conversation]
    for socket in (tab_a, tab_b, again, visitor):
        await socket.close()
