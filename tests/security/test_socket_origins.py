"""Cross-site WebSocket hijacking: a page on another site opens our sockets.

Browsers send the session cookie with any WebSocket handshake, whatever page
opened it, so the Origin check is the only thing between an evil page and an
agent's or customer's live data. `tests/chatportal/test_origins.py` tables the
rule itself; these tests go through the whole ASGI stack, with a valid session.
"""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from chatportal.asgi import application
from tests.security.conftest import session_cookie

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("_origin_settings"),
]

SOCKET_PATHS = ("/ws/widget/", "/ws/agent/", "/ws/portal/", "/ws/console/tickets/")
OWN_ORIGIN = b"http://127.0.0.1:8000"
WIDGET_SITE = b"https://shop.example.com"
REFUSED_ORIGINS = {
    "foreign": b"https://evil.example",
    "null": b"null",
    "own host as a subdomain of evil": b"http://127.0.0.1.evil.example",
    "lookalike of the widget site": b"https://shop.example.com.evil.example",
    "widget site over another scheme": b"ftp://shop.example.com",
    "file page": b"file://",
}


@pytest.fixture
def _origin_settings(settings):
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    settings.CHATPORTAL_WIDGET_ORIGINS = ["https://shop.example.com"]


@pytest.fixture
def victims(support_agent, customer):
    """Who the socket's cookie belongs to, per path: the attack rides a real session."""
    return {
        "/ws/widget/": None,
        "/ws/agent/": support_agent,
        "/ws/portal/": customer[0],
        "/ws/console/tickets/": support_agent,
    }


async def handshake(path: str, origin: bytes | None, user=None) -> tuple[bool, WebsocketCommunicator]:
    headers = [] if origin is None else [(b"origin", origin)]
    if user is not None:
        headers += await database_sync_to_async(session_cookie)(user)
    socket = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await socket.connect()
    return connected, socket


@pytest.mark.parametrize("path", SOCKET_PATHS)
@pytest.mark.parametrize("origin", list(REFUSED_ORIGINS.values()), ids=list(REFUSED_ORIGINS))
async def test_a_foreign_or_null_origin_is_refused_even_with_a_valid_session(victims, path, origin):
    connected, socket = await handshake(path, origin, victims[path])
    assert not connected
    await socket.disconnect()  # lets the refusing consumer finish (channels-redis blocks otherwise)


@pytest.mark.parametrize("path", SOCKET_PATHS)
async def test_a_handshake_without_an_origin_is_refused(victims, path):
    # Non-browser clients that omit Origin could be anything; a browser always sends one.
    connected, socket = await handshake(path, None, victims[path])
    assert not connected
    await socket.disconnect()


@pytest.mark.parametrize("path", ("/ws/agent/", "/ws/portal/", "/ws/console/tickets/"))
async def test_the_widget_site_may_not_open_agent_or_portal_sockets(victims, path):
    # A customer's own shop embeds the widget; a script there must still not
    # reach an agent's console socket or a customer's portal socket.
    connected, socket = await handshake(path, WIDGET_SITE, victims[path])
    assert not connected
    await socket.disconnect()


async def test_the_widget_site_and_our_own_pages_open_the_widget_socket(victims):
    for origin in (WIDGET_SITE, WIDGET_SITE + b"/", OWN_ORIGIN):
        connected, socket = await handshake("/ws/widget/", origin)
        assert connected, origin
        await socket.send_json_to({"type": "hello", "department": "support"})
        assert (await socket.receive_json_from(3))["type"] == "welcome"
        await socket.disconnect()


@pytest.mark.parametrize("path", ("/ws/agent/", "/ws/portal/"))
async def test_our_own_pages_open_agent_and_portal_sockets(victims, path):
    connected, socket = await handshake(path, OWN_ORIGIN, victims[path])
    assert connected
    if path == "/ws/agent/":
        assert (await socket.receive_json_from(3))["type"] == "welcome"
    else:
        assert await socket.receive_nothing(0.2)  # open and listening, not refused with 4001
    await socket.disconnect()
