"""`/ws/console/wallboard/` over the real ASGI stack: who may watch, and how fast it moves."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client

from chat.actions import conversations
from chat.actions.visitors import create_visitor
from chat.events import department_group, queue_changed
from chatportal.asgi import application
from reports import consumers
from reports.consumers import WallboardConsumer
from tests.factories import make_agent, make_department
from tickets.actions.messages import create_ticket
from tickets.events import department_tickets_group

pytestmark = pytest.mark.django_db(transaction=True)

HEADERS = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]


def _cookie(user) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    return [(b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


async def board_socket(user) -> WebsocketCommunicator:
    cookie = await database_sync_to_async(_cookie)(user) if user is not None else []
    socket = WebsocketCommunicator(
        application, "/ws/console/wallboard/", headers=[*HEADERS, *cookie]
    )
    connected, _ = await socket.connect()
    assert connected
    return socket


def metric(html: str, name: str) -> str:
    return re.search(rf'id="wallboard".*?data-metric="{name}">([^<]*)<', html, re.S).group(1)


@pytest.fixture
def slow_timer(monkeypatch):
    # Only doorbells may move the board within these tests, never the periodic refresh.
    monkeypatch.setattr(WallboardConsumer, "refresh_interval_s", 60)


@pytest.fixture
def floor(db):
    support = make_department("support", name="Support")
    victor = make_agent("victor", [], is_supervisor=True, first_name="Victor")
    boris = make_agent("boris", [support], first_name="Boris")
    return support, victor, boris


async def test_a_new_waiting_chat_reaches_the_board_within_a_second(floor, slow_timer):
    support, victor, _boris = floor
    socket = await board_socket(victor)
    first = await socket.receive_from(timeout=5)
    assert 'hx-swap-oob="true"' in first
    assert metric(first, "waiting") == "0"

    started = time.monotonic()
    visitor = (await database_sync_to_async(create_visitor)(name="Ana"))[0]
    await database_sync_to_async(conversations.start_conversation)(visitor, support)
    pushed = await socket.receive_from(timeout=1)
    assert time.monotonic() - started < 1
    assert metric(pushed, "waiting") == "1"
    await socket.disconnect()


async def test_a_burst_of_doorbells_costs_one_render(floor, slow_timer, monkeypatch):
    support, victor, _boris = floor
    renders = []
    original = consumers.render_board

    def counted(last):
        renders.append(last)
        return original(last)

    monkeypatch.setattr(consumers, "render_board", counted)
    socket = await board_socket(victor)
    await socket.receive_from(timeout=5)
    assert len(renders) == 1
    layer = get_channel_layer()
    for _ in range(20):
        await layer.group_send(department_group(support.slug), queue_changed(support.slug))
    await layer.group_send(
        department_tickets_group(support.slug),
        {"type": "ticket.changed", "ticket": "T-1", "seq": 1},
    )
    await asyncio.sleep(0.8)
    assert len(renders) == 2
    # Nothing changed on the floor: the second render sends nothing.
    assert await socket.receive_nothing(timeout=0.1)
    await socket.disconnect()


async def test_a_new_ticket_moves_todays_count(floor, slow_timer):
    support, victor, _boris = floor
    socket = await board_socket(victor)
    assert metric(await socket.receive_from(timeout=5), "tickets_opened_today") == "0"
    await database_sync_to_async(create_ticket)(
        subject="Relay",
        body="It clicks.",
        contact=None,
        channel="email",
        department=support,
        author_role="customer",
        requester_email="x@example.com",
    )
    assert metric(await socket.receive_from(timeout=1), "tickets_opened_today") == "1"
    await socket.disconnect()


async def test_the_timer_refreshes_what_no_doorbell_announces(floor, monkeypatch):
    monkeypatch.setattr(WallboardConsumer, "refresh_interval_s", 0.3)
    support, victor, _boris = floor
    socket = await board_socket(victor)
    await socket.receive_from(timeout=5)
    # Written behind the actions' back: no doorbell rings.
    await database_sync_to_async(make_department)("sales", name="Sales")
    pushed = await socket.receive_from(timeout=2)
    while pushed == "<!-- heartbeat -->":
        pushed = await socket.receive_from(timeout=2)
    assert 'data-department="sales"' in pushed
    await socket.disconnect()


async def test_an_unchanged_board_is_not_sent_again_only_a_heartbeat(floor, monkeypatch):
    monkeypatch.setattr(WallboardConsumer, "refresh_interval_s", 0.2)
    socket = await board_socket(floor[1])
    await socket.receive_from(timeout=5)
    frames = [await socket.receive_from(timeout=2) for _ in range(3)]
    assert frames == ["<!-- heartbeat -->"] * 3
    await socket.disconnect()


async def test_an_agent_who_is_no_supervisor_is_closed_with_4003(floor):
    _support, _victor, boris = floor
    socket = await board_socket(boris)
    assert await socket.receive_output(timeout=2) == {"type": "websocket.close", "code": 4003}


async def test_a_stranger_is_closed_with_4001(floor):
    socket = await board_socket(None)
    assert await socket.receive_output(timeout=2) == {"type": "websocket.close", "code": 4001}
