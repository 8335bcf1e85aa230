"""The language (and time zone) a socket renders in: the ones its page was rendered in.

Sockets get no LocaleMiddleware, so a fragment rendered for a push would be
in LANGUAGE_CODE while the page around it is in Romanian or Russian. The
handshake carries what the page's request carried (the language cookie and
Accept-Language); Django's own choice is made from them once, at connect,
and renders run inside it. The viewer's time zone is activated the same
way (`chatportal.viewer_middleware` does it for pages), so a pushed date
reads like the one on the page.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone, translation

from foundation.time_zones import zone_or_utc

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


def has_language_cookie(scope: dict[str, Any]) -> bool:
    """The viewer chose a language with the switch (it outvotes the stored one)."""
    return settings.LANGUAGE_COOKIE_NAME in (scope.get("cookies") or {})


def rendering_in(language: str, fn: Callable[P, R], zone: str = "") -> Callable[P, R]:
    """`fn` run in `language` and `zone` (for database_sync_to_async: both are per thread).

    A blank or unknown `zone` renders in UTC, as a page without a viewer does.
    """

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with translation.override(language), timezone.override(zone_or_utc(zone)):
            return fn(*args, **kwargs)

    return run
