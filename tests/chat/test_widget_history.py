"""The widget's choices and memory: the department the visitor picks, and
the earlier conversations an identified visitor may read again."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from channels.db import database_sync_to_async

from chat.actions.conversations import close_conversation, post_message, start_conversation
from chat.actions.visitors import create_visitor, identify_visitor
from chat.identity import verify_jwt
from chat.log import SYSTEM, agent_author, visitor_author
from tests.chat.conftest import Socket, open_widget
from tests.factories import make_contact

SECRET = "s3cret-identity-key-of-at-least-32-bytes"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def identity_secret(settings):
    settings.CHATPORTAL_IDENTITY_SECRET = SECRET


def identity(sub: str) -> dict[str, str]:
    return {
        "jwt": jwt.encode({"sub": sub, "exp": int(time.time()) + 600}, SECRET, algorithm="HS256")
    }


@database_sync_to_async
def an_ended_chat(sub: str, department, agent, *, said: str, note: str = "", reply: str = ""):
    """A closed conversation of the visitor verified as `sub`; returns its public id."""
    visitor, _ = create_visitor()
    visitor, _ = identify_visitor(visitor, verify_jwt(identity(sub)["jwt"]))
    conversation, _ = start_conversation(visitor, department)
    pk, public_id = conversation.pk, conversation.public_id
    post_message(pk, public_id, author=visitor_author(visitor), client_id=uuid.uuid4(), body=said)
    if note:
        post_message(
            pk,
            public_id,
            author=agent_author(agent),
            client_id=uuid.uuid4(),
            body=note,
            internal=True,
        )
    if reply:
        post_message(pk, public_id, author=agent_author(agent), client_id=uuid.uuid4(), body=reply)
    close_conversation(conversation, by="agent", author=SYSTEM)
    return str(public_id)


make_contact_async = database_sync_to_async(make_contact)


async def history(socket: Socket) -> dict:
    """The answer to a `history` frame: the list, or an error."""
    await socket.send({"type": "history"})
    while True:
        frame = await socket.recv()
        if frame["type"] in ("history", "error"):
            return frame


async def test_an_identified_visitor_reads_earlier_conversations_without_internal_notes(
    support, support_agent
):
    await database_sync_to_async(make_contact)(external_id="crm-1")
    earlier = await an_ended_chat(
        "crm-1",
        support,
        support_agent,
        said="My relay blinks",
        note="INTERNAL: customer is grumpy",
        reply="Replace the fuse",
    )
    socket, welcome = await open_widget(identity=identity("crm-1"))
    assert welcome["visitor"]["identified"] is True
    answer = await history(socket)
    assert answer["type"] == "history"
    [conversation] = answer["conversations"]
    assert conversation["id"] == earlier
    assert conversation["department"] == "Support"
    assert [(m["author"]["role"], m["body"]) for m in conversation["messages"]] == [
        ("visitor", "My relay blinks"),
        ("agent", "Replace the fuse"),
    ]
    assert "grumpy" not in str(answer)
    await socket.close()


async def test_an_anonymous_visitor_gets_no_history(support, support_agent):
    await an_ended_chat("crm-1", support, support_agent, said="secret of crm-1")
    socket, welcome = await open_widget()
    assert welcome["visitor"]["identified"] is False
    answer = await history(socket)
    assert answer["type"] == "error" and answer["code"] == "forbidden"
    assert "secret of crm-1" not in str(socket.received)
    await socket.close()


async def test_a_bare_token_of_an_identified_visitor_is_not_enough(support, support_agent):
    await an_ended_chat("crm-1", support, support_agent, said="secret of crm-1")
    first, welcome = await open_widget(identity=identity("crm-1"))
    await first.close()
    again, rewelcome = await open_widget(token=welcome["token"])
    assert rewelcome["visitor"]["identified"] is False
    answer = await history(again)
    assert answer["code"] == "forbidden"
    await again.close()


async def test_another_contact_sees_only_their_own_conversations(support, support_agent):
    await database_sync_to_async(make_contact)(external_id="crm-1")
    await database_sync_to_async(make_contact)("Ion", external_id="crm-2")
    await an_ended_chat("crm-1", support, support_agent, said="secret of crm-1")
    own = await an_ended_chat("crm-2", support, support_agent, said="Ion's question")
    socket, _ = await open_widget(identity=identity("crm-2"))
    answer = await history(socket)
    assert [c["id"] for c in answer["conversations"]] == [own]
    assert "secret of crm-1" not in str(answer)
    await socket.close()


async def test_an_invalid_identity_gets_no_history(support, support_agent):
    await an_ended_chat("crm-1", support, support_agent, said="secret of crm-1")
    forged = {
        "jwt": jwt.encode(
            {"sub": "crm-1", "exp": int(time.time()) + 600}, "w" * 40, algorithm="HS256"
        )
    }
    socket = Socket("/ws/widget/")
    await socket.connect()
    await socket.send({"type": "hello", "department": "support", "identity": forged})
    welcome = await socket.expect("welcome")
    assert welcome["visitor"]["identified"] is False
    answer = await history(socket)
    assert answer["code"] == "forbidden"
    await socket.close()


async def test_the_welcome_names_the_offered_departments_in_the_sites_order(support, sales):
    socket, welcome = await open_widget(
        department="sales", departments=["sales", "support", "nope"]
    )
    assert welcome["department"]["slug"] == "sales"
    assert [(d["slug"], d["name"]) for d in welcome["departments"]] == [
        ("sales", "Sales"),
        ("support", "Support"),
    ]
    assert all(isinstance(d["online"], bool) for d in welcome["departments"])
    await socket.close()


async def test_the_chosen_department_routes_the_chat(support, sales):
    socket, _ = await open_widget(department="sales", departments=["support", "sales"])
    await socket.send({"type": "message", "client_id": str(uuid.uuid4()), "body": "a quote?"})
    queued = await socket.expect("event", seq=1)
    assert queued["kind"] == "queued" and queued["department"] == "sales"
    await socket.close()


async def test_a_department_outside_the_offer_is_refused(support, sales):
    socket = Socket("/ws/widget/")
    await socket.connect()
    await socket.send({"type": "hello", "department": "sales", "departments": ["support"]})
    answer = await socket.expect("error")
    assert answer["code"] == "not_found"
    await socket.close()


@pytest.mark.parametrize("bad", ["sales", ["sa les"], ["x"] * 11, [7]])
async def test_a_malformed_department_list_is_invalid(support, bad):
    socket = Socket("/ws/widget/")
    await socket.connect()
    await socket.send({"type": "hello", "departments": bad})
    answer = await socket.expect("error")
    assert answer["code"] == "invalid"
    await socket.close()


def test_the_history_costs_two_queries_however_many_conversations(
    support, support_agent, django_assert_num_queries
):
    from asgiref.sync import async_to_sync

    from chat.models import Visitor
    from chat.queries import previous_conversations

    async_to_sync(make_contact_async)("crm-1")
    for said in ("first", "second", "third"):
        async_to_sync(an_ended_chat)("crm-1", support, support_agent, said=said, reply="ok")
    visitor = Visitor.objects.get(external_id="crm-1")
    with django_assert_num_queries(2):
        found = previous_conversations(visitor)
    assert [c["messages"][0]["body"] for c in found] == ["third", "second", "first"]
