"""Socket pushes render in the language of the page they update, not in LANGUAGE_CODE."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import translation

from chatportal.asgi import application
from foundation.socket_language import language_of_scope
from tests.factories import make_agent
from tests.tickets.test_portal_consumer import HOST, ORIGIN, _cookie, make_customer, open_ticket
from tickets.actions.lifecycle import change_status
from tickets.actions.messages import add_reply
from tickets.models import customer_status_label, internal_status_label


async def socket_for(user, path: str, *headers: tuple[bytes, bytes]) -> WebsocketCommunicator:
    cookie = await database_sync_to_async(_cookie)(user)
    if headers and headers[0][0] == b"cookie":
        # The session cookie and the language cookie travel in one header.
        cookie = [(b"cookie", cookie[0][1] + b"; " + headers[0][1])]
        headers = headers[1:]
    socket = WebsocketCommunicator(application, path, headers=[ORIGIN, HOST, *cookie, *headers])
    connected, _ = await socket.connect()
    assert connected
    return socket


def translated(lang: str, fn, *args) -> str:
    with translation.override(lang):
        text = fn(*args)
    assert text != fn(*args), f"{text!r} is not translated into {lang}"
    return text


@pytest.mark.django_db(transaction=True)
async def test_the_portal_page_of_a_romanian_reader_gets_its_pushes_in_romanian():
    user, maria = await database_sync_to_async(make_customer)("Maria Popescu", "m@example.com")
    agent = await database_sync_to_async(make_agent)("ana", ["support"], first_name="Ana")
    ticket = await database_sync_to_async(open_ticket)(maria)
    socket = await socket_for(
        user,
        f"/ws/portal/?ticket={ticket.number}",
        (b"accept-language", b"ro-RO,ro;q=0.9,en;q=0.5"),
    )
    await database_sync_to_async(add_reply)(
        ticket, body="Am înlocuit releul.", author_role="agent", author_user=agent
    )
    fragment = await socket.receive_from(3)
    assert translated("ro", customer_status_label, "open") in fragment
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_console_page_of_a_russian_agent_gets_its_pushes_in_russian():
    _user, maria = await database_sync_to_async(make_customer)("Maria Popescu", "m@example.com")
    boris = await database_sync_to_async(make_agent)("boris", ["support"], first_name="Boris")
    chen = await database_sync_to_async(make_agent)("chen", ["support"], first_name="Chen")
    ticket = await database_sync_to_async(open_ticket)(maria)
    # The language cookie wins over the browser's languages, as on the page.
    socket = await socket_for(
        boris,
        f"/ws/console/tickets/?ticket={ticket.number}&seq={ticket.last_seq}",
        (b"cookie", b"django_language=ru"),
        (b"accept-language", b"ro"),
    )
    await database_sync_to_async(change_status)(ticket, "pending", by=chen)
    html = await socket.receive_from(5)
    assert translated("ru", internal_status_label, "pending") in html
    await socket.disconnect()


@pytest.mark.parametrize(
    ("cookies", "accept", "expected"),
    [
        ({}, b"ru-RU,ru;q=0.9", "ru"),
        ({"django_language": "ro"}, b"ru", "ro"),
        ({"django_language": "xx"}, b"de-DE,ro;q=0.5", "ro"),
        ({}, b"de-DE", "en"),
        ({}, None, "en"),
    ],
)
def test_a_socket_picks_the_language_the_way_the_page_did(cookies, accept, expected):
    headers = [(b"accept-language", accept)] if accept is not None else []
    assert language_of_scope({"cookies": cookies, "headers": headers}) == expected
