"""`/ws/console/tickets/` over the real ASGI stack: who may watch a ticket, what is pushed."""

from __future__ import annotations

import re

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import translation

from chatportal.asgi import application
from crm.models import SlaPlan
from tests.factories import make_agent, make_contact, make_department
from tickets.actions.assignment import move_ticket
from tickets.actions.lifecycle import change_priority, change_status
from tickets.actions.messages import add_reply, create_ticket
from tickets.console.rendering import render_ticket_sections
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://127.0.0.1")
HOST = (b"host", b"127.0.0.1")


def _cookie(user) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    return [(b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


async def console_socket(user, number: str, seq: int) -> WebsocketCommunicator:
    headers = [
        ORIGIN,
        HOST,
        *(await database_sync_to_async(_cookie)(user) if user is not None else []),
    ]
    socket = WebsocketCommunicator(
        application, f"/ws/console/tickets/?ticket={number}&seq={seq}", headers=headers
    )
    connected, _ = await socket.connect()
    assert connected
    return socket


def seq_of(html: str) -> int:
    return int(re.search(r'id="ticket-header"[^>]*data-seq="(\d+)"', html).group(1))


@pytest.fixture
def world(db):
    SlaPlan.objects.get_or_create(
        name="Standard", defaults={"first_response_minutes": 240, "resolution_minutes": 1440}
    )
    support = make_department("support")
    sales = make_department("sales")
    boris = make_agent("boris", [support], first_name="Boris")
    chen = make_agent("chen", [support], first_name="Chen")
    sara = make_agent("sara", [sales], first_name="Sara")
    contact = make_contact("Maria Popescu", email="maria@example.com")
    contact.portal_user = get_user_model().objects.create_user("maria", password="x-pass-123")
    contact.save()
    ticket = create_ticket(
        subject="Relay trips",
        body="It trips.",
        contact=contact,
        channel=Ticket.Channel.PORTAL,
        department=support,
        author_role=TicketEvent.Role.CUSTOMER,
        author_contact=contact,
    )
    return {
        "boris": boris,
        "chen": chen,
        "sara": sara,
        "contact": contact,
        "ticket": ticket,
        "sales": sales,
    }


async def test_it_closes_an_anonymous_socket_with_4001(world):
    socket = await console_socket(None, world["ticket"].number, 1)
    assert await socket.receive_output(2) == {"type": "websocket.close", "code": 4001}


async def test_it_closes_a_customers_socket_with_4001(world):
    socket = await console_socket(world["contact"].portal_user, world["ticket"].number, 1)
    assert await socket.receive_output(2) == {"type": "websocket.close", "code": 4001}


async def test_an_agent_of_another_department_is_closed_with_4004(world):
    socket = await console_socket(world["sara"], world["ticket"].number, 1)
    assert await socket.receive_output(2) == {"type": "websocket.close", "code": 4004}


async def test_a_colleagues_note_reaches_the_other_agent_marked_internal(world):
    ticket = world["ticket"]
    socket = await console_socket(world["boris"], ticket.number, ticket.last_seq)
    assert await socket.receive_nothing(0.2)
    await database_sync_to_async(add_reply)(
        ticket,
        body="Firmware 2.1 fixes it",
        internal=True,
        author_role="agent",
        author_user=world["chen"],
    )
    html = await socket.receive_from(5)
    assert 'id="ticket-timeline"' in html and 'hx-swap-oob="true"' in html
    note = re.search(r'<li class="tk-event tk-event-note is-internal[^>]*>(.*?)</li>', html, re.S)
    assert note and "Firmware 2.1 fixes it" in note.group(1) and "Chen" in note.group(1)
    assert seq_of(html) == 2
    await socket.disconnect()


async def test_a_status_change_updates_the_header_and_controls(world):
    ticket = world["ticket"]
    socket = await console_socket(world["boris"], ticket.number, ticket.last_seq)
    await database_sync_to_async(change_status)(ticket, "pending", by=world["chen"])
    html = await socket.receive_from(5)
    assert re.search(r'id="ticket-header"[^>]*data-status="pending"', html)
    assert 'data-clock="resolution" data-sla="paused"' in html
    assert 'data-clock="first_response" data-sla="paused"' in html
    assert 'id="ticket-controls-fields"' in html and 'id="ticket-clocks"' in html
    await socket.disconnect()


async def test_a_socket_that_connects_late_catches_up_at_once(world):
    ticket = world["ticket"]
    await database_sync_to_async(change_priority)(ticket, "urgent", by=world["chen"])
    socket = await console_socket(world["boris"], ticket.number, 1)
    html = await socket.receive_from(5)
    assert seq_of(html) == 2
    assert re.search(r'id="ticket-header"[^>]*data-priority="urgent"', html)
    await socket.disconnect()


async def test_a_doorbell_at_or_below_the_seq_already_sent_is_dropped(world):
    ticket = world["ticket"]
    socket = await console_socket(world["boris"], ticket.number, ticket.last_seq)
    from channels.layers import get_channel_layer

    from tickets import events

    layer = get_channel_layer()
    await layer.group_send(
        events.ticket_group(ticket.public_id), events.ticket_changed(ticket.number, 1)
    )
    assert await socket.receive_nothing(0.3)
    await socket.disconnect()


def render_in_english(ticket, viewer) -> str:
    # The socket's language (no cookie, no Accept-Language), not whatever an
    # earlier test's request left active in the shared sync thread.
    with translation.override("en"):
        return render_ticket_sections(ticket, viewer)


async def test_snapshot_plus_pushes_equals_a_fresh_snapshot(world):
    ticket = world["ticket"]
    socket = await console_socket(world["boris"], ticket.number, ticket.last_seq)
    await database_sync_to_async(add_reply)(
        ticket, body="We are on it", author_role="agent", author_user=world["chen"]
    )
    await database_sync_to_async(change_status)(ticket, "on_hold", by=world["chen"])
    last = ""
    while True:
        last = await socket.receive_from(5)
        if seq_of(last) >= 4:  # created, reply, status (reply opens it), status
            break
    fresh_ticket = await database_sync_to_async(
        Ticket.objects.select_related(
            "contact", "organization", "department", "assignee", "sla_plan"
        ).get
    )(pk=ticket.pk)
    fresh = await database_sync_to_async(render_in_english)(fresh_ticket, world["boris"])

    def stable(html: str) -> str:
        # The CSRF token differs per render; everything else must match.
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)

    assert stable(last) == stable(fresh)
    await socket.disconnect()


async def test_a_ticket_moved_out_of_the_agents_departments_says_so_and_closes(world):
    ticket = world["ticket"]
    socket = await console_socket(world["boris"], ticket.number, ticket.last_seq)
    await database_sync_to_async(move_ticket)(ticket, world["sales"], by=world["chen"])
    html = await socket.receive_from(5)
    assert "is no longer in your departments" in html
    assert await socket.receive_output(2) == {"type": "websocket.close", "code": 4004}


# --- the list's rows -------------------------------------------------------------------


async def list_socket(user, pairs: str) -> WebsocketCommunicator:
    headers = [ORIGIN, HOST, *(await database_sync_to_async(_cookie)(user))]
    socket = WebsocketCommunicator(
        application, f"/ws/console/tickets/?tickets={pairs}", headers=headers
    )
    connected, _ = await socket.connect()
    assert connected
    return socket


@pytest.fixture
def sales_ticket(world):
    return create_ticket(
        subject="Quote",
        body="Ten more.",
        contact=world["contact"],
        channel=Ticket.Channel.PORTAL,
        department=world["sales"],
        author_role=TicketEvent.Role.CUSTOMER,
        author_contact=world["contact"],
    )


async def test_the_list_gets_a_changed_row_out_of_band(world, sales_ticket):
    ticket = world["ticket"]
    socket = await list_socket(world["boris"], f"{ticket.number}:1,{sales_ticket.number}:1")
    assert await socket.receive_nothing(0.2)
    await database_sync_to_async(change_status)(ticket, "on_hold", by=world["chen"])
    html = await socket.receive_from(5)
    assert html.startswith(f'<tr id="row-{ticket.number}" hx-swap-oob="true"')
    assert 'data-status="on_hold"' in html
    # Sales' ticket was in the query string but is not Boris's to follow.
    await database_sync_to_async(change_status)(sales_ticket, "on_hold", by=world["sara"])
    assert await socket.receive_nothing(0.5)
    await socket.disconnect()


async def test_the_list_catches_up_on_rows_that_changed_before_it_connected(world):
    ticket = world["ticket"]
    await database_sync_to_async(change_priority)(ticket, "high", by=world["chen"])
    socket = await list_socket(world["boris"], f"{ticket.number}:1")
    html = await socket.receive_from(5)
    assert 'data-priority="high"' in html
    await socket.disconnect()


async def test_a_row_moved_out_of_the_agents_departments_is_removed(world):
    ticket = world["ticket"]
    socket = await list_socket(world["boris"], f"{ticket.number}:1")
    await database_sync_to_async(move_ticket)(ticket, world["sales"], by=world["chen"])
    html = await socket.receive_from(5)
    assert html.strip() == f'<tr id="row-{ticket.number}" hx-swap-oob="delete"></tr>'
    # The socket stays open for the other rows; this one is no longer followed.
    await database_sync_to_async(change_status)(ticket, "on_hold", by=world["sara"])
    assert await socket.receive_nothing(0.5)
    await socket.disconnect()


async def test_a_change_whose_doorbell_was_lost_arrives_with_the_next_tick(world, monkeypatch):
    from foundation import realtime
    from tickets.console.consumers import ConsoleTicketConsumer

    monkeypatch.setattr(ConsoleTicketConsumer, "maintenance_interval_s", 0.3)
    ticket = world["ticket"]
    socket = await console_socket(world["boris"], ticket.number, ticket.last_seq)
    monkeypatch.setattr(realtime, "send_now", lambda group, event: None)
    await database_sync_to_async(change_status)(ticket, "pending", by=world["chen"])

    html = await socket.receive_from(3)
    assert re.search(r'id="ticket-header"[^>]*data-status="pending"', html)
    assert await socket.receive_from(2) == "<!-- heartbeat -->"
    assert await socket.receive_from(2) == "<!-- heartbeat -->"
    await socket.disconnect()
