"""The supervisor's floor pages: who may, what they list, and the forms behind them."""

from __future__ import annotations

import pytest

from chat.actions import conversations, visitors
from chat.models import Conversation
from queues.actions import do_set_presence
from queues.models import AgentPresence
from tests.factories import make_agent

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat(support, support_agent):
    visitor = visitors.create_visitor(name="Ana <b>")[0]
    conversation, _ = conversations.start_conversation(visitor, support)
    conversations.accept_conversation(conversation, support_agent)
    return conversation


@pytest.fixture
def waiting(support):
    visitor = visitors.create_visitor(name="Ion")[0]
    return conversations.start_conversation(visitor, support)[0]


def test_only_a_supervisor_opens_the_floor(client, support_agent, chat):
    client.force_login(support_agent)
    assert client.get("/console/floor/").status_code == 403
    assert client.get(f"/console/floor/{chat.public_id}/").status_code == 403
    assert client.post(f"/console/floor/{chat.public_id}/take-over/").status_code == 403
    client.logout()
    assert client.get("/console/floor/").status_code == 302


def test_the_floor_lists_every_open_chat_waiting_first_escaped(client, supervisor, chat, waiting):
    client.force_login(supervisor)
    page = client.get("/console/floor/").content.decode()
    assert page.index(f"floor-chat-{waiting.public_id}") < page.index(
        f"floor-chat-{chat.public_id}"
    )
    assert "Ana &lt;b&gt;" in page and "Ana <b>" not in page
    assert 'data-agent="boris"' in page
    assert "Take over" in page and "Reassign" in page and "Presence of Boris" in page
    fragment = client.get("/console/floor/list/", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert fragment.content.decode().lstrip().startswith('<div id="floor-live"')


def test_take_over_posts_to_the_action_and_answers_with_the_list(client, supervisor, chat):
    client.force_login(supervisor)
    answer = client.post(
        f"/console/floor/{chat.public_id}/take-over/", headers={"HX-Request": "true"}
    )
    assert answer.status_code == 200 and "The chat is yours now." in answer.content.decode()
    chat.refresh_from_db()
    assert chat.assigned_agent_id == supervisor.pk
    again = client.post(
        f"/console/floor/{chat.public_id}/take-over/", headers={"HX-Request": "true"}
    )
    assert again.status_code == 409 and 'role="alert"' in again.content.decode()


def test_reassign_without_javascript_redirects_back_to_the_floor_only(
    client, supervisor, chat, support
):
    chen = make_agent("chen", [support])
    do_set_presence(chen, AgentPresence.Status.ONLINE)
    import uuid

    from queues.actions import do_register_connection

    do_register_connection(chen, connection_id=uuid.uuid4(), channel_name="x")
    client.force_login(supervisor)
    answer = client.post(
        f"/console/floor/{chat.public_id}/reassign/",
        {"agent": "chen", "next": "https://evil.example/"},
    )
    assert answer.status_code == 302 and answer["Location"] == "/console/floor/"
    assert Conversation.objects.get(pk=chat.pk).assigned_agent_id == chen.pk


def test_a_supervisor_sets_an_agents_presence_from_the_floor(client, supervisor, support_agent):
    client.force_login(supervisor)
    answer = client.post(
        "/console/floor/agents/boris/presence/", {"status": "away"}, headers={"HX-Request": "true"}
    )
    assert answer.status_code == 200
    presence = AgentPresence.objects.get(user=support_agent)
    assert (presence.chosen_status, presence.set_by) == ("away", "supervisor")
    bad = client.post(
        "/console/floor/agents/boris/presence/", {"status": "busy"}, headers={"HX-Request": "true"}
    )
    assert bad.status_code == 409
    missing = client.post(
        "/console/floor/agents/nobody/presence/", {"status": "away"}, headers={"HX-Request": "true"}
    )
    assert missing.status_code == 409


def test_the_watch_page_is_read_only(client, supervisor, chat):
    client.force_login(supervisor)
    page = client.get(f"/console/floor/{chat.public_id}/").content.decode()
    assert 'id="floor-config"' in page and "floor.js" in page
    assert "Whisper" in page and 'id="reply' not in page
    assert client.get("/console/floor/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_the_console_links_the_floor_for_supervisors_only(client, support_agent, supervisor):
    client.force_login(support_agent)
    assert 'href="/console/floor/"' not in client.get("/console/tickets/").content.decode()
    client.force_login(supervisor)
    assert 'href="/console/floor/"' in client.get("/console/tickets/").content.decode()


def test_the_polled_list_costs_the_same_queries_for_one_chat_or_many(
    client, supervisor, support, chat
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(supervisor)

    def cost() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/console/floor/list/").status_code == 200
        return len(queries)

    one = cost()
    for name in ("Ion", "Dan", "Eva", "Ana2"):
        conversations.start_conversation(visitors.create_visitor(name=name)[0], support)
    make_agent("chen", [support])
    assert cost() == one
