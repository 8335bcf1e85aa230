"""WebSocket Origin checks (cross-site WebSocket hijacking defence).

A browser sends the session cookie with any handshake, whatever page opened
it, so the Origin is compared whole (scheme, host and port) with the site's
public origins; a page on our host but another port, or over the other
scheme, is another origin and is refused on every socket:

- `CHATPORTAL_PUBLIC_URL`'s origin, and `CSRF_TRUSTED_ORIGINS` (the same
  entries Django trusts for forms, `https://*.example.com` wildcards too);
- on `/ws/widget/` only, also `CHATPORTAL_WIDGET_ORIGINS` (`*`: any
  http(s) site, for a widget anyone may embed);
- only while `CHATPORTAL_PUBLIC_URL` is unset (embedded mode, the dev and
  test servers on whatever port they were given): the origin of the server
  that answered, i.e. the socket's own scheme (ws: http, wss: https) and
  `Host` header, the host being one of ALLOWED_HOSTS. That is Django's own
  CSRF rule for a request's own origin. With a public URL configured it is
  not used: behind a TLS proxy the worker sees `ws` for a page loaded over
  https (and http), so "the server that answered" could not tell them
  apart; the operator's list is the whole truth.

A missing or `null` Origin is refused. Settings are read per handshake so that
tests and reloads see the current values.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http import HttpRequest
from django.utils.http import is_same_domain

from foundation.public_url import HTTP_SCHEME_OF_SOCKET, configured_base, host_is_ours

WIDGET_PATH_PREFIX = "/ws/widget/"
DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]


def parse_origin(value: str) -> Origin | None:
    """(scheme, host, port) of an http(s) origin, the default port filled in; None otherwise."""
    try:
        parts = urlsplit(value.strip().rstrip("/"))
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    if parts.username or parts.password or parts.path or parts.query or parts.fragment:
        return None  # an Origin is scheme://host[:port] and nothing else
    return parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme]


def public_origin() -> Origin | None:
    # The site may live under a path (https://example.com/support): its origin has none.
    parts = urlsplit(configured_base())
    return parse_origin(f"{parts.scheme}://{parts.netloc}") if parts.netloc else None


def answering_origin(scheme: str, host_header: str | None) -> Origin | None:
    """The origin of the server the browser addressed (http(s) scheme), if its Host is ours."""
    if not host_header or not host_is_ours(host_header):
        return None
    return parse_origin(f"{scheme}://{host_header}")


def matches_configured(origin: Origin, raw: str, configured: list[str]) -> bool:
    for entry in configured:
        entry = entry.strip()
        if "*" in entry:
            # Django's CSRF_TRUSTED_ORIGINS wildcard: https://*.example.com (the port must match).
            parts = urlsplit(entry)
            netloc = urlsplit(raw).netloc.lower()
            if parts.scheme == origin[0] and is_same_domain(
                netloc, parts.netloc.lower().removeprefix("*")
            ):
                return True
        elif parse_origin(entry) == origin:
            return True
    return False


def origin_allowed(
    path: str, origin: str | None, *, scheme: str = "http", host: str | None = None
) -> bool:
    """May a page of `origin` use `path`? `scheme` (http/https) and `host` name the server it reached."""
    if not origin or origin == "null":
        return False
    parsed = parse_origin(origin)
    if parsed is None:
        return False
    if parsed == public_origin() or matches_configured(
        parsed, origin, settings.CSRF_TRUSTED_ORIGINS
    ):
        return True
    if not configured_base() and parsed == answering_origin(scheme, host):
        return True
    if path.startswith(WIDGET_PATH_PREFIX):
        widget_sites = settings.CHATPORTAL_WIDGET_ORIGINS
        return "*" in widget_sites or matches_configured(parsed, origin, widget_sites)
    return False


def widget_origin_allowed(request: HttpRequest, origin: str) -> bool:
    """The widget's HTTP calls (CORS) admit the pages its socket admits."""
    return origin_allowed(
        WIDGET_PATH_PREFIX, origin, scheme=request.scheme or "http", host=request.get_host()
    )


def header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


class SocketOriginValidator:
    """Refuses the handshake (HTTP 403) when the Origin is not allowed."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(
            scope.get("path", ""),
            header(scope, b"origin"),
            scheme=HTTP_SCHEME_OF_SOCKET.get(scope.get("scheme", "ws"), "http"),
            host=header(scope, b"host"),
        ):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.application(scope, receive, send)
