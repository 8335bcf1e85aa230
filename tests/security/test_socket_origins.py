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

SOCKET_PATHS = (
    "/ws/widget/",
    "/ws/agent/",
    "/ws/portal/",
    "/ws/console/tickets/",
    "/ws/console/wallboard/",
)
OWN_ORIGIN = b"http://127.0.0.1:8000"
WIDGET_SITE = b"https://shop.example.com"
REFUSED_ORIGINS = {
    "foreign": b"https://evil.example",
    "null": b"null",
    "own host as a subdomain of evil": b"http://127.0.0.1.evil.example",
    "lookalike of the widget site": b"https://shop.example.com.evil.example",
    "widget site over another scheme": b"ftp://shop.example.com",
    "file page": b"file://",
    # Same host, another port or scheme: another origin (another program on that host).
    "own host on another port": b"http://127.0.0.1:8001",
    "own host without the port": b"http://127.0.0.1",
    "own host over https": b"https://127.0.0.1:8000",
    "own host name on another port": b"http://localhost:9999",
}


@pytest.fixture
def _origin_settings(settings):
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "chat.example.com"]
    settings.CHATPORTAL_PUBLIC_URL = "http://127.0.0.1:8000"
    settings.CSRF_TRUSTED_ORIGINS = []
    settings.CHATPORTAL_WIDGET_ORIGINS = ["https://shop.example.com"]


@pytest.fixture
def victims(support_agent, customer, supervisor):
    """Who the socket's cookie belongs to, per path: the attack rides a real session."""
    return {
        "/ws/widget/": None,
        "/ws/agent/": support_agent,
        "/ws/portal/": customer[0],
        "/ws/console/tickets/": support_agent,
        "/ws/console/wallboard/": supervisor,
    }


async def handshake(
    path: str, origin: bytes | None, user=None, *, host: bytes = b"127.0.0.1:8000"
) -> tuple[bool, WebsocketCommunicator]:
    headers = [(b"host", host)] if origin is None else [(b"origin", origin), (b"host", host)]
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


@pytest.mark.parametrize(
    "path", ("/ws/agent/", "/ws/portal/", "/ws/console/tickets/", "/ws/console/wallboard/")
)
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


@pytest.mark.parametrize("path", SOCKET_PATHS)
async def test_a_csrf_trusted_origin_opens_every_socket(settings, victims, path):
    # Behind a TLS proxy the public name is https while the worker sees ws.
    settings.CSRF_TRUSTED_ORIGINS = ["https://chat.example.com"]
    connected, socket = await handshake(
        path, b"https://chat.example.com", victims[path], host=b"chat.example.com"
    )
    assert connected
    await socket.disconnect()
    connected, socket = await handshake(
        path, b"https://chat.example.com:8443", victims[path], host=b"chat.example.com:8443"
    )
    assert not connected
    await socket.disconnect()


@pytest.mark.parametrize("path", SOCKET_PATHS)
async def test_without_a_public_url_the_server_that_answered_is_our_origin(settings, victims, path):
    # `chatportal serve --port 8123`, or a test server on a random port: the
    # page and its sockets come from the origin the browser addressed.
    settings.CHATPORTAL_PUBLIC_URL = ""
    connected, socket = await handshake(
        path, b"http://127.0.0.1:8123", victims[path], host=b"127.0.0.1:8123"
    )
    assert connected
    await socket.disconnect()
    refused = {
        "another port of that host": (b"http://127.0.0.1:8124", b"127.0.0.1:8123"),
        "the other scheme": (b"https://127.0.0.1:8123", b"127.0.0.1:8123"),
        # DNS rebinding: the page and the socket both name a host that is not ours.
        "a host not in ALLOWED_HOSTS": (b"http://evil.example:8123", b"evil.example:8123"),
        "no Host header": (b"http://127.0.0.1:8123", b""),
    }
    for why, (origin, host) in refused.items():
        connected, socket = await handshake(path, origin, victims[path], host=host)
        assert not connected, why
        await socket.disconnect()


@pytest.mark.parametrize("path", SOCKET_PATHS)
async def test_with_a_public_url_only_the_configured_origins_count(victims, path):
    # A worker addressed directly (an internal address in ALLOWED_HOSTS) is
    # not a public origin: its own Host does not admit a page.
    connected, socket = await handshake(
        path, b"http://localhost:8001", victims[path], host=b"localhost:8001"
    )
    assert not connected
    await socket.disconnect()
