"""WebSocket Origin checks (cross-site WebSocket hijacking defence).

`/ws/widget/` admits the sites in CHATPORTAL_WIDGET_ORIGINS plus our own
hosts; every other path admits only our own hosts (ALLOWED_HOSTS). A missing
or `null` Origin is refused. Settings are read per handshake so that tests and
reloads see the current values.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

WIDGET_PATH_PREFIX = "/ws/widget/"


def own_hosts() -> list[str]:
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = [".localhost", "127.0.0.1", "[::1]"]
    return hosts


def origin_is_own_host(origin: str) -> bool:
    parts = urlsplit(origin)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return False
    domain, _port = split_domain_port(parts.netloc)
    return bool(domain) and validate_host(domain, own_hosts())


def origin_is_widget_site(origin: str) -> bool:
    allowed = {o.rstrip("/").lower() for o in settings.CHATPORTAL_WIDGET_ORIGINS}
    if "*" in allowed:
        return urlsplit(origin).scheme in {"http", "https"}
    return origin.rstrip("/").lower() in allowed


def origin_allowed(path: str, origin: str | None) -> bool:
    if not origin or origin == "null":
        return False
    if origin_is_own_host(origin):
        return True
    return path.startswith(WIDGET_PATH_PREFIX) and origin_is_widget_site(origin)


class SocketOriginValidator:
    """Refuses the handshake (HTTP 403) when the Origin is not allowed."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            origin = None
            for name, value in scope.get("headers", []):
                if name == b"origin":
                    origin = value.decode("latin1")
                    break
            if not origin_allowed(scope.get("path", ""), origin):
                denier = WebsocketDenier()
                return await denier(scope, receive, send)
        return await self.application(scope, receive, send)
