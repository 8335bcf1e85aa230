"""Pushed fragments read like the page: the viewer's zone and language (issue #15)."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from channels.db import database_sync_to_async
from django.utils import translation
from django.utils.formats import date_format

from queues.actions import set_agent_preferences
from queues.models import AgentProfile
from tests.factories import make_agent
from tests.tickets.test_portal_consumer import make_customer, open_ticket, portal_socket
from tickets.actions.messages import add_reply
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)

DUE = datetime.datetime(2026, 10, 25, 0, 30, tzinfo=datetime.UTC)


def expected(zone: str) -> str:
    with translation.override("en"):
        text = date_format(DUE.astimezone(zoneinfo.ZoneInfo(zone)), "DATETIME_FORMAT")
    return f'<time datetime="2026-10-25T00:30:00.000Z">{text}</time>'


def _customer_with_ticket(zone: str, locale: str = "en"):
    user, contact = make_customer("Maria Popescu", "maria@example.com")
    contact.time_zone = zone
    contact.locale = locale
    contact.save()
    ticket = open_ticket(contact)
    Ticket.objects.filter(pk=ticket.pk).update(first_response_due=DUE)
    return user, ticket


@pytest.mark.parametrize("zone", ["Europe/Bucharest", "Europe/Moscow", "Asia/Vladivostok"])
async def test_a_portal_push_shows_the_promise_in_the_contacts_zone(zone):
    user, ticket = await database_sync_to_async(_customer_with_ticket)(zone)
    agent = await database_sync_to_async(make_agent)("ana", ["support"], first_name="Ana")
    socket = await portal_socket(user, f"/ws/portal/?ticket={ticket.number}")
    await database_sync_to_async(add_reply)(
        ticket, body="Looking into it.", author_role="agent", author_user=agent
    )
    fragment = await socket.receive_from(3)
    assert "Looking into it." in fragment
    event = await database_sync_to_async(ticket.events.order_by("seq").first)()  # opened
    with translation.override("en"):
        text = date_format(event.created_at.astimezone(zoneinfo.ZoneInfo(zone)), "DATETIME_FORMAT")
    stamp = event.created_at.astimezone(datetime.UTC).isoformat(timespec="milliseconds")
    import re

    assert f'<time datetime="{stamp.removesuffix("+00:00")}Z">{text}</time>' in fragment, (
        re.findall("<time[^<]*</time>", fragment)
    )
    await socket.disconnect()


async def test_a_portal_push_renders_in_the_zone_and_language_of_the_contact():
    user, ticket = await database_sync_to_async(_customer_with_ticket)("Asia/Vladivostok", "ro")
    from tickets.portal.consumers import _render, viewer_settings

    language, zone = await database_sync_to_async(viewer_settings)(user, None, "en", False)
    assert (language, zone) == ("ro", "Asia/Vladivostok")
    language, _zone = await database_sync_to_async(viewer_settings)(user, None, "ru", True)
    assert language == "ru"  # the switch's cookie outvotes the stored language

    from foundation.socket_language import rendering_in

    _seq, html = await database_sync_to_async(rendering_in("en", _render, "Asia/Vladivostok"))(
        user, ticket.number, "ticket"
    )
    assert expected("Asia/Vladivostok") in html
    _seq, html = await database_sync_to_async(rendering_in("en", _render, ""))(
        user, ticket.number, "ticket"
    )
    assert expected("UTC") in html


async def test_the_console_socket_takes_the_agents_zone():
    def setup():
        user, ticket = _customer_with_ticket("Europe/Bucharest")
        agent = make_agent("boris", [ticket.department])
        set_agent_preferences(AgentProfile.objects.get(user=agent), time_zone="Europe/Moscow")
        return agent, ticket

    agent, ticket = await database_sync_to_async(setup)()
    from tickets.portal.consumers import viewer_settings

    _language, zone = await database_sync_to_async(viewer_settings)(agent, None, "en", False)
    assert zone == "Europe/Moscow"
