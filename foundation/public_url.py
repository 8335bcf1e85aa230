"""Absolute links to this server: where they point when nobody said.

`CHATPORTAL_PUBLIC_URL` (unset by default) is the site's address as its
users reach it, e.g. `https://chat.example.com` behind a proxy. When it is
set, every link uses it. When it is unset, a link in an answer points at the
server that answered: the request's scheme and Host (an HTTP request), or the
socket's (`ws`: http, `wss`: https), so `chatportal serve --port 8123` hands
out links to port 8123. A Host outside ALLOWED_HOSTS never makes a link.

Mail has no request: its links use `CHATPORTAL_PUBLIC_URL`, and without it
the fallback `http://127.0.0.1:8000` (the demo's address), which only fits a
demo on its default port; `chatportal check --deploy` warns when it is unset.

Event payloads keep the link they were written with (for mail, the offline
base); answers and socket frames re-base our own links onto the answering
base, so an old event and a moved site still give working links.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.checks import Tags, Warning, register
from django.http import HttpRequest
from django.http.request import split_domain_port, validate_host

OFFLINE_FALLBACK_BASE = "http://127.0.0.1:8000"
HTTP_SCHEME_OF_SOCKET = {"ws": "http", "wss": "https"}


def configured_base() -> str:
    return (settings.CHATPORTAL_PUBLIC_URL or "").strip().rstrip("/")


def offline_base() -> str:
    """The base for links made without a request: e-mails and stored events."""
    return configured_base() or OFFLINE_FALLBACK_BASE


def own_hosts() -> list[str]:
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = [".localhost", "127.0.0.1", "[::1]"]  # what Django itself allows then
    return hosts


def host_is_ours(host: str) -> bool:
    domain, _port = split_domain_port(host)
    return bool(domain) and validate_host(domain, own_hosts())


def request_base(request: HttpRequest) -> str:
    # get_host() has already refused a Host outside ALLOWED_HOSTS (400) by the time a view runs.
    return configured_base() or f"{request.scheme}://{request.get_host()}"


def socket_base(scope: dict[str, Any]) -> str:
    if configured_base():
        return configured_base()
    host = next((v.decode("latin1") for k, v in scope.get("headers", []) if k == b"host"), "")
    if not host or not host_is_ours(host):
        return offline_base()
    return f"{HTTP_SCHEME_OF_SOCKET.get(scope.get('scheme', 'ws'), 'http')}://{host}"


def rebased(link: str, base: str) -> str:
    """Our link (a path, or an absolute URL written earlier) on `base`."""
    written_with = offline_base()
    if link.startswith(written_with + "/"):
        return base + link[len(written_with) :]  # keeps a public URL's own path prefix right
    parts = urlsplit(link)
    return base + urlunsplit(("", "", parts.path, parts.query, parts.fragment))


def rebase_links(item: dict[str, Any], keys: Iterable[str], base: str) -> dict[str, Any]:
    """A copy of `item` with the string links under `keys` re-based (others untouched)."""
    changed = {key: rebased(item[key], base) for key in keys if isinstance(item.get(key), str)}
    return {**item, **changed} if changed else item


@register(Tags.security, deploy=True)
def check_public_url(app_configs=None, **kwargs) -> list[Warning]:
    if configured_base():
        return []
    return [
        Warning(
            f"CHATPORTAL_PUBLIC_URL is not set: links in e-mails point at {OFFLINE_FALLBACK_BASE}.",
            hint="Set it to the address users reach the site at, e.g. https://chat.example.com.",
            id="chatportal.W001",
        )
    ]
