"""`/ws/portal/` over a real ASGI stack: who may connect, what is pushed, to whom."""

from __future__ import annotations

import asyncio
import re

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client

from chatportal.asgi import application
from crm.models import Organization
from tests.factories import make_agent, make_contact, make_department
from tickets.actions.assignment import assign_ticket
from tickets.actions.lifecycle import change_status
from tickets.actions.messages import add_reply, create_ticket
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://127.0.0.1")
HOST = (b"host", b"127.0.0.1")


def make_customer(name: str, email: str, *, organization=None, org_admin: bool = False):
    user = get_user_model().objects.create_user(
        username=email, email=email, password="demo-pass-123"
    )
    contact = make_contact(name, email=email)
    contact.portal_user = user
    contact.organization = organization
    contact.is_organization_admin = org_admin
    contact.save()
    return user, contact


def open_ticket(contact, subject: str = "Relay trips at night") -> Ticket:
    return create_ticket(
        subject=subject,
        body="It trips.",
        contact=contact,
        channel=Ticket.Channel.PORTAL,
        department=make_department(),
        author_role=TicketEvent.Role.CUSTOMER,
        author_contact=contact,
    )


def _cookie(user) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    return [(b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


async def portal_socket(user=None, path: str = "/ws/portal/") -> WebsocketCommunicator:
    headers = [
        ORIGIN,
        HOST,
        *(await database_sync_to_async(_cookie)(user) if user is not None else []),
    ]
    socket = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await socket.connect()
    assert connected
    return socket


def attrs(fragment: str) -> dict[str, str]:
    root = re.match(r"\s*<(\w+)([^>]*)>", fragment)
    assert root, fragment
    return dict(re.findall(r'([\w-]+)="([^"]*)"', root.group(2)))


@pytest.fixture
def world(db):
    org = Organization.objects.create(name="Electrica Nord")
    maria = make_customer("Maria Popescu", "customer1@example.com", organization=org)
    ivan = make_customer("Ivan Petrov", "customer2@example.com")
    agent = make_agent("ana", ["support"], first_name="Ana")
    ticket = open_ticket(maria[1])
    return {"org": org, "maria": maria, "ivan": ivan, "agent": agent, "ticket": ticket}


async def test_it_closes_an_anonymous_socket_with_4001_after_accepting():
    socket = await portal_socket()
    assert await socket.receive_output(2) == {"type": "websocket.close", "code": 4001}


async def test_it_closes_an_agent_socket_with_4001(world):
    socket = await portal_socket(world["agent"])
    assert await socket.receive_output(2) == {"type": "websocket.close", "code": 4001}


async def test_an_agent_reply_pushes_the_ticket_section_to_the_customer_page(world):
    ticket = world["ticket"]
    socket = await portal_socket(world["maria"][0], f"/ws/portal/?ticket={ticket.number}")
    await database_sync_to_async(add_reply)(
        ticket, body="We replaced the relay.", author_role="agent", author_user=world["agent"]
    )
    fragment = await socket.receive_from(3)
    root = attrs(fragment)
    fresh = await database_sync_to_async(Ticket.objects.get)(pk=ticket.pk)
    assert root["id"] == f"ticket-{ticket.number}"
    assert root["hx-swap-oob"] == "true"
    assert root["data-status"] == "open"
    assert root["data-updated"] == fresh.updated_at.isoformat()
    assert "We replaced the relay." in fragment
    await socket.disconnect()


async def test_a_status_change_pushes_the_row_to_the_list_page(world):
    ticket = world["ticket"]
    socket = await portal_socket(world["maria"][0])
    await database_sync_to_async(change_status)(ticket, "pending", by=world["agent"])
    fragment = await socket.receive_from(3)
    root = attrs(fragment)
    assert fragment.lstrip().startswith("<tr")
    assert root["id"] == f"ticket-{ticket.number}" and root["data-status"] == "pending"
    assert "Waiting for your reply" in fragment
    assert f'href="/portal/tickets/{ticket.number}/"' in fragment
    await socket.disconnect()


async def test_internal_notes_are_never_pushed_to_the_customer(world):
    ticket = world["ticket"]
    socket = await portal_socket(world["maria"][0], f"/ws/portal/?ticket={ticket.number}")
    await database_sync_to_async(add_reply)(
        ticket,
        body="SECRET internal remark",
        internal=True,
        author_role="agent",
        author_user=world["agent"],
    )
    # The doorbell rings, but what arrives (if anything) carries no note.
    try:
        fragment = await socket.receive_from(1)
    except TimeoutError:
        fragment = ""
    assert "SECRET" not in fragment
    await socket.disconnect()


async def test_another_customer_socket_gets_nothing(world):
    ivan_socket = await portal_socket(world["ivan"][0])
    maria_socket = await portal_socket(world["maria"][0])
    await database_sync_to_async(add_reply)(
        world["ticket"], body="Only for Maria", author_role="agent", author_user=world["agent"]
    )
    assert attrs(await maria_socket.receive_from(3))["id"] == f"ticket-{world['ticket'].number}"
    assert await ivan_socket.receive_nothing(0.5)
    await ivan_socket.disconnect()
    await maria_socket.disconnect()


async def test_a_socket_naming_someone_else_ticket_gets_nothing(world):
    ivan_socket = await portal_socket(
        world["ivan"][0], f"/ws/portal/?ticket={world['ticket'].number}"
    )
    await database_sync_to_async(change_status)(world["ticket"], "pending", by=world["agent"])
    assert await ivan_socket.receive_nothing(0.5)
    await ivan_socket.disconnect()


async def test_an_organization_admin_socket_hears_colleagues_tickets(world):
    admin_user, _ = await database_sync_to_async(make_customer)(
        "Elena", "elena@example.com", organization=world["org"], org_admin=True
    )
    socket = await portal_socket(admin_user)
    await database_sync_to_async(change_status)(world["ticket"], "on_hold", by=world["agent"])
    fragment = await socket.receive_from(3)
    assert attrs(fragment)["data-status"] == "on_hold"
    await socket.disconnect()


async def test_a_late_doorbell_never_rolls_the_page_back(world):
    ticket = world["ticket"]
    socket = await portal_socket(world["maria"][0])
    await database_sync_to_async(change_status)(ticket, "pending", by=world["agent"])
    first = await socket.receive_from(3)
    assert attrs(first)["data-status"] == "pending"
    from channels.layers import get_channel_layer

    from tickets.events import customer_group

    await get_channel_layer().group_send(
        customer_group(world["maria"][1]),
        {"type": "ticket.changed", "ticket": ticket.number, "seq": 1},
    )
    assert await socket.receive_nothing(0.5)
    await socket.disconnect()


async def test_a_logged_out_session_stops_the_socket(world, monkeypatch):
    from tickets.portal.consumers import PortalConsumer

    monkeypatch.setattr(PortalConsumer, "maintenance_interval_s", 0.2)
    user = world["maria"][0]
    cookie = await database_sync_to_async(_cookie)(user)
    socket = WebsocketCommunicator(application, "/ws/portal/", headers=[ORIGIN, HOST, *cookie])
    assert (await socket.connect())[0]
    assert await socket.receive_from(2) == "<!-- heartbeat -->"
    from django.contrib.sessions.models import Session

    await database_sync_to_async(Session.objects.all().delete)()
    assert await socket.receive_output(2) == {"type": "websocket.close", "code": 4001}


def test_a_push_costs_two_queries_for_a_ticket_page_and_one_for_the_list(
    world, django_assert_num_queries
):
    from tickets.portal.consumers import _render

    ticket, user = world["ticket"], world["maria"][0]
    for index in range(20):
        add_reply(ticket, body=f"reply {index}", author_role="agent", author_user=world["agent"])
    with django_assert_num_queries(2):  # the access check, the public timeline
        seq, html = _render(user, ticket.number, "ticket")
    assert seq == ticket.events.order_by("-seq").first().seq
    assert html.count('class="event event-reply') == 20
    with django_assert_num_queries(1):
        _render(user, ticket.number, "list")


async def test_an_assignment_pushes_who_handles_the_ticket(world):
    ticket = world["ticket"]
    socket = await portal_socket(world["maria"][0], f"/ws/portal/?ticket={ticket.number}")
    await database_sync_to_async(assign_ticket)(ticket, world["agent"], by=world["agent"])
    fragment = await socket.receive_from(3)
    assert re.search(r"<dt>Handled by</dt><dd>Ana</dd>", fragment)
    assert "ana@" not in fragment
    await socket.disconnect()


async def test_a_reconnecting_socket_catches_up_on_what_changed_since_the_page_was_read(world):
    from django.utils import timezone

    ticket = world["ticket"]
    read_at = timezone.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    await database_sync_to_async(add_reply)(
        ticket, body="Sent while you were away.", author_role="agent", author_user=world["agent"]
    )
    socket = await portal_socket(
        world["maria"][0], f"/ws/portal/?ticket={ticket.number}&since={read_at}"
    )
    fragment = await socket.receive_from(3)
    assert attrs(fragment)["id"] == f"ticket-{ticket.number}"
    assert "Sent while you were away." in fragment
    assert await socket.receive_nothing(0.3)
    await socket.disconnect()


async def test_a_catch_up_never_includes_another_customer_ticket(world):
    ivan_socket = await portal_socket(world["ivan"][0], "/ws/portal/?since=2000-01-01T00:00:00Z")
    assert await ivan_socket.receive_nothing(0.5)
    await ivan_socket.disconnect()


def test_the_page_socket_url_asks_for_changes_since_the_page_was_read(world, client):
    client.force_login(world["maria"][0])
    html = client.get(f"/portal/tickets/{world['ticket'].number}/").content.decode()
    assert re.search(
        r'ws-connect="/ws/portal/\?ticket=T-\d+&amp;since=\d{4}-\d\d-\d\dT[^"]+Z"', html
    )


async def test_a_change_whose_doorbell_was_lost_arrives_with_the_next_tick(world, monkeypatch):
    from foundation import realtime
    from tickets.portal.consumers import PortalConsumer

    monkeypatch.setattr(PortalConsumer, "maintenance_interval_s", 0.3)
    ticket = world["ticket"]
    socket = await portal_socket(world["maria"][0])
    # The change commits, but its doorbells never reach the layer.
    monkeypatch.setattr(realtime, "send_now", lambda group, event: None)
    await database_sync_to_async(change_status)(ticket, "pending", by=world["agent"])

    fragment = await socket.receive_from(3)
    assert attrs(fragment)["data-status"] == "pending"
    # Sent once: later ticks skip what the socket already has.
    assert await socket.receive_from(2) == "<!-- heartbeat -->"
    assert await socket.receive_from(2) == "<!-- heartbeat -->"
    await socket.disconnect()


async def test_a_portal_socket_outlives_a_layer_restart_and_catches_up(world, monkeypatch):
    from channels.layers import get_channel_layer

    from tests.chat.test_layer_outage import LayerOutage
    from tickets.portal.consumers import PortalConsumer

    monkeypatch.setattr(PortalConsumer, "maintenance_interval_s", 0.3)
    layer = get_channel_layer()
    outage = LayerOutage(layer)
    monkeypatch.setattr(layer, "receive", outage.receive)
    ticket = world["ticket"]
    socket = await portal_socket(world["maria"][0])
    assert await socket.receive_from(2) == "<!-- heartbeat -->"

    await outage.stop_redis()
    await asyncio.sleep(0.2)
    assert outage.failed_receives >= 1
    await database_sync_to_async(change_status)(ticket, "pending", by=world["agent"])
    outage.start_redis()

    # Still open (no 1011), and the change arrives without a reload.
    while True:
        frame = await socket.receive_from(3)
        if frame != "<!-- heartbeat -->":
            break
    assert attrs(frame)["data-status"] == "pending"
    await socket.disconnect()


async def test_a_status_change_pushes_the_tracker_at_its_new_step(world):
    ticket = world["ticket"]
    socket = await portal_socket(world["maria"][0], f"/ws/portal/?ticket={ticket.number}")
    await database_sync_to_async(change_status)(ticket, "pending", by=world["agent"])
    fragment = await socket.receive_from(3)
    assert attrs(fragment)["data-step"] == "waiting"
    tracker = re.search(r'<ol class="progress" aria-label="Progress">(.*?)</ol>', fragment, re.S)
    assert tracker, fragment
    current = re.findall(r'data-step="(\w+)" aria-current="step"', tracker.group(1))
    assert current == ["waiting"]
    await database_sync_to_async(change_status)(ticket, "solved", by=world["agent"])
    fragment = await socket.receive_from(3)
    assert re.findall(r'data-step="(\w+)" aria-current="step"', fragment) == ["solved"]
    await socket.disconnect()


async def test_an_org_admin_list_push_names_who_asked(world):
    admin = await database_sync_to_async(make_customer)(
        "Elena Admin", "elena@example.com", organization=world["org"], org_admin=True
    )
    socket = await portal_socket(admin[0])
    await database_sync_to_async(change_status)(world["ticket"], "pending", by=world["agent"])
    fragment = await socket.receive_from(3)
    assert "Asked by Maria Popescu" in fragment
    await socket.disconnect()


async def test_a_change_seen_by_many_tabs_of_a_viewer_is_checked_and_rendered_once(
    world, monkeypatch
):
    from tickets.portal import consumers

    renders = []
    real = consumers.render_ticket_fragment

    def counted(*args, **kwargs):
        renders.append(kwargs["view"])
        return real(*args, **kwargs)

    checks = []
    real_check = consumers.access_ticket_for_customer

    def checked(user, number):
        checks.append(number)
        return real_check(user, number)

    monkeypatch.setattr(consumers, "render_ticket_fragment", counted)
    monkeypatch.setattr(consumers, "access_ticket_for_customer", checked)
    ticket = world["ticket"]
    tabs = [await portal_socket(world["maria"][0]) for _ in range(5)]
    await database_sync_to_async(change_status)(ticket, "pending", by=world["agent"])
    fragments = [await tab.receive_from(3) for tab in tabs]
    assert len(set(fragments)) == 1 and attrs(fragments[0])["data-status"] == "pending"
    assert renders == ["list"] and checks == [ticket.number]
    # The next change is read again, whenever it comes.
    await database_sync_to_async(change_status)(ticket, "open", by=world["agent"])
    assert {attrs(await tab.receive_from(3))["data-status"] for tab in tabs} == {"open"}
    assert len(checks) == 2
    for tab in tabs:
        await tab.disconnect()


def test_a_shared_fragment_is_rendered_again_for_another_language_viewer_or_state(world):
    from django.utils import translation

    from tickets.portal import consumers

    ticket, maria = world["ticket"], world["maria"][1]
    with translation.override("en"):
        english = consumers._fragment(ticket, view="list", viewer_contact_id=maria.pk)
        assert consumers._fragment(ticket, view="list", viewer_contact_id=maria.pk) is english
        other_viewer = consumers._fragment(ticket, view="list", viewer_contact_id=None)
    with translation.override("ro"):
        romanian = consumers._fragment(ticket, view="list", viewer_contact_id=maria.pk)
    assert romanian != english and other_viewer != english
    change_status(ticket, "pending", by=world["agent"])
    ticket.refresh_from_db()
    with translation.override("en"):
        changed = consumers._fragment(ticket, view="list", viewer_contact_id=maria.pk)
    assert 'data-status="pending"' in changed and changed != english
