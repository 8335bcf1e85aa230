"""No stack traces, no exception text: forced internal errors on pages and sockets.

Covered elsewhere, not repeated here: the API's 500 without a trace
(tests/api/test_auth_and_errors.py::test_it_answers_500_without_a_trace_when_something_breaks)
and the widget socket's `server_error` without details
(tests/chat/test_limits_and_delivery.py::test_an_unexpected_failure_answers_server_error_without_details).
"""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from tests.chat.conftest import new_id, open_agent, open_widget, say
from tests.security.conftest import open_ticket, portal_socket, signed_in

SECRET_TEXT = "secret internals: password=hunter2 at /srv/chatportal/settings.py line 42"
LEAKS = (
    "hunter2",
    "Traceback",
    "RuntimeError",
    "settings.py",
    'File "',
    "line 42",
    "INSTALLED_APPS",
)


def explode(*args, **kwargs):
    raise RuntimeError(SECRET_TEXT)


def assert_no_leak(text: str, where: str) -> None:
    for leak in LEAKS:
        assert leak not in text, f"{leak!r} leaked in {where}"


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("target", "role", "path"),
    [
        ("tickets.portal.views.tickets_for_customer", "customer", "/portal/"),
        ("tickets.portal.rendering.timeline_entries", "customer", "/portal/tickets/{number}/"),
        ("frontend.views_console.transfer_targets", "agent", "/console/"),
        ("frontend.views_console.contact_record", "agent", "/console/panel/{conversation}/"),
        ("tickets.portal.views.request_sign_in_link", "anonymous", "/portal/login/link/"),
    ],
)
def test_a_page_that_breaks_answers_a_bare_500(
    production, monkeypatch, customer, support, support_agent, target, role, path
):
    from chat.actions.conversations import start_conversation
    from chat.actions.visitors import create_visitor
    from chat.models import Conversation

    ticket = open_ticket(customer[1], department=support)
    visitor, _ = create_visitor(name="Ana")
    conversation, _ = start_conversation(visitor, support)
    Conversation.objects.filter(pk=conversation.pk).update(contact=customer[1])
    monkeypatch.setattr(target, explode)
    user = {"customer": customer[0], "agent": support_agent, "anonymous": None}[role]
    client = signed_in(user) if user else Client()
    client.raise_request_exception = False
    path = path.format(number=ticket.number, conversation=conversation.public_id)
    if role == "anonymous":
        response = client.post(path, {"email": "customer1@example.com"})
    else:
        response = client.get(path)
    assert response.status_code == 500
    assert_no_leak(response.content.decode(), path)


@pytest.mark.django_db
def test_not_found_pages_say_nothing_about_the_code(production):
    for path in (
        "/no-such-page/",
        "/portal/tickets/T-1/../../etc/passwd",
        "/static/../settings.py",
    ):
        response = Client().get(path)
        assert response.status_code == 404
        text = response.content.decode()
        assert_no_leak(text, path)
        assert "URLconf" not in text and "urlpatterns" not in text


@pytest.mark.django_db(transaction=True)
async def test_an_agent_socket_failure_answers_server_error_without_details(
    support_agent, monkeypatch
):
    from chat import group_commit

    visitor, _ = await open_widget()
    ack = await say(visitor, "hi")
    agent, _ = await open_agent(support_agent)
    # The message's write, inside the worker's group commit.
    monkeypatch.setattr(group_commit, "append_message", explode)
    client_id = new_id()
    await agent.send(
        {
            "type": "message",
            "conversation": ack["conversation"],
            "client_id": client_id,
            "body": "note",
            "internal": True,
        }
    )
    error = await agent.expect("error", client_id=client_id)
    assert error["code"] == "server_error"
    assert_no_leak(str(error), "agent error frame")
    await agent.send({"type": "ping"})
    await agent.expect("pong")
    await agent.close()
    await visitor.close()


@pytest.mark.django_db(transaction=True)
async def test_a_portal_push_that_breaks_sends_nothing_and_the_socket_lives_on(
    customer, support_agent, monkeypatch
):
    from tickets.actions.lifecycle import change_status

    ticket = await database_sync_to_async(open_ticket)(customer[1])
    socket = await portal_socket(customer[0])
    with monkeypatch.context() as patched:
        patched.setattr("tickets.portal.consumers.render_ticket_fragment", explode)
        await database_sync_to_async(change_status)(ticket, "pending", by=support_agent)
        assert await socket.receive_nothing(0.5)
    await database_sync_to_async(change_status)(ticket, "open", by=support_agent)
    fragment = await socket.receive_from(3)
    assert f'id="ticket-{ticket.number}"' in fragment
    assert_no_leak(fragment, "portal fragment")
    await socket.disconnect()
