"""The language a socket renders in: the one its page was rendered in.

Sockets get no LocaleMiddleware, so a fragment rendered for a push would be
in LANGUAGE_CODE while the page around it is in Romanian or Russian. The
handshake carries what the page's request carried (the language cookie and
Accept-Language); Django's own choice is made from them once, at connect,
and renders run inside it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from django.http import HttpRequest
from django.utils import translation

P = ParamSpec("P")
R = TypeVar("R")


def language_of_scope(scope: dict[str, Any]) -> str:
    """What LocaleMiddleware would pick for the page: the language cookie, then Accept-Language."""
    request = HttpRequest()
    request.COOKIES = dict(scope.get("cookies") or {})
    for name, value in scope.get("headers") or []:
        if name == b"accept-language":
            request.META["HTTP_ACCEPT_LANGUAGE"] = value.decode("latin-1")[:1000]
    return translation.get_language_from_request(request)


def rendering_in(language: str, fn: Callable[P, R]) -> Callable[P, R]:
    """`fn` run in `language` (for database_sync_to_async: the active language is per thread)."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with translation.override(language):
            return fn(*args, **kwargs)

    return run
