"""Input no client of ours sends is refused at the door, before any view.

NUL characters never reach the database. PostgreSQL text cannot hold NUL
(0x00): a query parameter, form field, JSON string or socket query carrying
one made the ORM raise DataError, a 500 (SQLite stores it). No client of ours
sends one, so input carrying NUL is refused at the door instead of in every
filter: HTTP requests with 400 (the API's JSON error shape under /api/),
WebSocket handshakes with 403. Multipart bodies are not inspected (files hold
any byte, and reading them here would defeat the upload views' size check
before the body is read); their text fields are validated by the views that
read them.

A `multipart/form-data` request whose headers Django's parser refuses (no
boundary, a malformed one, a negative length) made the first look at
`request.POST` raise: a 500 on the API, an HTML 400 or a CSRF 403 on pages.
Only the headers are checked here, with Django's own parser, so the body is
still not read; the answer is a JSON 400 on every route (no browser form
sends such a request, a program does). Errors found later in the body are
the API's exception handlers' (chatportal/api.py) and Django's (pages: 400).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from channels.security.websocket import WebsocketDenier
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.http.multipartparser import MultiPartParser, MultiPartParserError
from django.utils.translation import gettext as _

# `\u0000` in JSON text, unless its backslash is itself escaped (`\\u0000` is plain text).
JSON_ESCAPED_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
API_PREFIX = "/api/"
# Inbound mail hooks take a whole mail as the body (whatever Content-Type the
# MTA sends) or a provider's form: never read as our form, and the mail's
# NULs are dropped where it is parsed.
RAW_MAIL_PATHS = ("/api/v1/inbound-email", "/anymail/")


def _form_has_nul(data) -> bool:
    return any(
        "\x00" in key or any("\x00" in value for value in values) for key, values in data.lists()
    )


def request_has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path or _form_has_nul(request.GET):
        return True
    if request.path.startswith(RAW_MAIL_PATHS):
        return False
    if request.method not in {"POST", "PUT", "PATCH", "DELETE"}:
        return False
    if request.content_type == "application/x-www-form-urlencoded":
        return _form_has_nul(request.POST)
    if request.content_type == "application/json":
        return b"\x00" in request.body or JSON_ESCAPED_NUL.search(request.body) is not None
    return False


def reject_nul_middleware(get_response: Callable[[HttpRequest], HttpResponse]):
    def middleware(request: HttpRequest) -> HttpResponse:
        if request_has_nul(request):
            detail = _("NUL characters are not allowed in a request.")
            if request.path.startswith(API_PREFIX):
                return JsonResponse({"error": {"code": "invalid", "detail": detail}}, status=400)
            return HttpResponseBadRequest(detail, content_type="text/plain; charset=utf-8")
        return get_response(request)

    return middleware


def multipart_headers_unparseable(request: HttpRequest) -> bool:
    if request.content_type != "multipart/form-data":
        return False
    try:
        # The constructor validates the Content-Type (boundary) and length; it reads nothing.
        MultiPartParser(request.META, io.BytesIO(), [])
    except MultiPartParserError:
        return True
    return False


def reject_unparseable_multipart_middleware(get_response: Callable[[HttpRequest], HttpResponse]):
    def middleware(request: HttpRequest) -> HttpResponse:
        if multipart_headers_unparseable(request):
            detail = _(
                "Malformed multipart/form-data request: its Content-Type needs a valid boundary."
            )
            return JsonResponse({"error": {"code": "invalid", "detail": detail}}, status=400)
        return get_response(request)

    return middleware


def query_has_nul(query_string: bytes) -> bool:
    return b"\x00" in unquote_to_bytes(query_string)


class SocketQueryGuard:
    """Refuses a WebSocket handshake whose query string carries NUL (our pages never build one)."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and query_has_nul(scope.get("query_string", b"")):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
