"""Signing out closes that session's sockets within 5 s (console, portal, admin).

A customer who signs out on a shared computer must not leave a tab that
keeps receiving their tickets; an agent who signs out must not keep a
console that still receives chats. Sign-out rings the session's group
(foundation/session_sockets.py); a session that ends without a sign-out is
caught by the sockets' maintenance tick.
"""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.models import Session
from django.test import Client

from chat.delivery import ChatSocket
from chatportal.asgi import application
from tests.chat.conftest import HOST, ORIGIN
from tests.security.conftest import open_ticket
from tickets.portal.consumers import PortalConsumer

pytestmark = pytest.mark.django_db(transaction=True)

CLOSED_WITHIN_S = 5


def sign_in(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def sign_out(session_key: str, path: str) -> int:
    client = Client()
    client.cookies["sessionid"] = session_key
    return client.post(path).status_code


async def open_socket(path: str, session_key: str) -> WebsocketCommunicator:
    cookie = (b"cookie", f"sessionid={session_key}".encode())
    socket = WebsocketCommunicator(application, path, headers=[ORIGIN, HOST, cookie])
    connected, _ = await socket.connect()
    assert connected, path
    return socket


async def close_code(
    socket: WebsocketCommunicator, within_s: float = CLOSED_WITHIN_S
) -> int | None:
    """The close code the socket gets within `within_s` (frames before it are skipped)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while loop.time() < deadline:
        # receive_nothing, not a timed-out receive_output: that would cancel the consumer.
        if await socket.receive_nothing(0.05):
            continue
        message = await socket.receive_output(1)
        if message["type"] == "websocket.close":
            return message.get("code")
    return None


async def still_open(socket: WebsocketCommunicator) -> bool:
    return await close_code(socket, within_s=0.5) is None


@pytest.fixture
def sockets_of(support_agent, customer, support):
    ticket = open_ticket(customer[1], department=support)
    return {
        "agent": "/ws/agent/",
        "console ticket": f"/ws/console/tickets/?ticket={ticket.number}&seq=0",
        "portal": "/ws/portal/",
    }


@pytest.mark.parametrize("sign_out_path", ["/accounts/logout/", "/admin/logout/"])
async def test_signing_out_of_the_console_closes_that_sessions_sockets(
    support_agent, sockets_of, sign_out_path
):
    support_agent.is_staff = True  # the admin signs staff out
    await database_sync_to_async(support_agent.save)()
    session = await database_sync_to_async(sign_in)(support_agent)
    other_session = await database_sync_to_async(sign_in)(support_agent)
    agent = await open_socket(sockets_of["agent"], session)
    ticket_page = await open_socket(sockets_of["console ticket"], session)
    other_tab_elsewhere = await open_socket(sockets_of["agent"], other_session)

    assert await database_sync_to_async(sign_out)(session, sign_out_path) in {200, 302}
    assert await close_code(agent) == 4001
    assert await close_code(ticket_page) == 4001
    # The same agent's other session (another browser) did not sign out.
    assert await still_open(other_tab_elsewhere)
    for socket in (agent, ticket_page, other_tab_elsewhere):
        await socket.disconnect()


async def test_signing_out_closes_the_supervisors_wall_board(supervisor):
    session = await database_sync_to_async(sign_in)(supervisor)
    board = await open_socket("/ws/console/wallboard/", session)
    assert await still_open(board)
    assert await database_sync_to_async(sign_out)(session, "/accounts/logout/") in {200, 302}
    assert await close_code(board) == 4001
    await board.disconnect()


async def test_signing_out_of_the_portal_closes_its_sockets(customer, sockets_of):
    session = await database_sync_to_async(sign_in)(customer[0])
    other_session = await database_sync_to_async(sign_in)(customer[0])
    portal = await open_socket(sockets_of["portal"], session)
    ticket_page = await open_socket(sockets_of["portal"] + "?ticket=T-1001", session)
    phone = await open_socket(sockets_of["portal"], other_session)

    assert await database_sync_to_async(sign_out)(session, "/portal/logout/") == 302
    assert await close_code(portal) == 4001
    assert await close_code(ticket_page) == 4001
    assert await still_open(phone)
    for socket in (portal, ticket_page, phone):
        await socket.disconnect()


async def test_a_session_ended_without_the_doorbell_closes_its_sockets_at_the_next_tick(
    monkeypatch, support_agent, customer, sockets_of
):
    # The doorbell can be lost (Redis restarting) and sessions end without a
    # sign-out (expiry, deleted rows): the maintenance tick checks the store.
    monkeypatch.setattr(ChatSocket, "maintenance_interval_s", 0.3)
    monkeypatch.setattr(PortalConsumer, "maintenance_interval_s", 0.3)
    agent_session = await database_sync_to_async(sign_in)(support_agent)
    customer_session = await database_sync_to_async(sign_in)(customer[0])
    sockets = [
        await open_socket(sockets_of["agent"], agent_session),
        await open_socket(sockets_of["console ticket"], agent_session),
        await open_socket(sockets_of["portal"], customer_session),
    ]
    await asyncio.sleep(0.5)
    for socket in sockets:
        assert await still_open(socket)

    await database_sync_to_async(
        Session.objects.filter(session_key__in=[agent_session, customer_session]).delete
    )()
    for socket in sockets:
        assert await close_code(socket) == 4001
        await socket.disconnect()


async def test_a_password_change_elsewhere_closes_the_other_sessions_sockets(
    monkeypatch, support_agent, sockets_of
):
    # Django ends the other sessions of a user whose password changed (the
    # session auth hash); their sockets follow at the next tick.
    monkeypatch.setattr(ChatSocket, "maintenance_interval_s", 0.3)
    session = await database_sync_to_async(sign_in)(support_agent)
    agent = await open_socket(sockets_of["agent"], session)
    await asyncio.sleep(0.5)
    assert await still_open(agent)

    def change_password() -> None:
        support_agent.set_password("a-new-pass-456")
        support_agent.save()

    await database_sync_to_async(change_password)()
    assert await close_code(agent) == 4001
    await agent.disconnect()
