"""Password guessing is throttled on every sign-in form (portal, console, admin).

Django's own login forms count nothing, so `/portal/login/`,
`/accounts/login/` and `/admin/login/` took unlimited guesses. `LoginThrottle`
sits first in AUTHENTICATION_BACKENDS: it authenticates nobody, it only
refuses (PermissionDenied: Django then stops and the form answers its usual
"wrong e-mail or password", so the limit is no account oracle) once a
username or a client address has failed too often within the window. The
failures are counted from Django's `user_login_failed` signal, in the cache
(local memory or Redis, shared by the workers).

- CHATPORTAL_LOGIN_FAILURES_PER_USERNAME (default 10) per 15 minutes;
- CHATPORTAL_LOGIN_FAILURES_PER_CLIENT (default 100) per 15 minutes.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest

WINDOW_S = 15 * 60


def _limits() -> tuple[int, int]:
    return (
        int(getattr(settings, "CHATPORTAL_LOGIN_FAILURES_PER_USERNAME", 10)),
        int(getattr(settings, "CHATPORTAL_LOGIN_FAILURES_PER_CLIENT", 100)),
    )


def _client(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    from tickets.portal.auth import client_address

    return client_address(request)


def _keys(username: object, request: HttpRequest | None) -> tuple[str, str]:
    name = hashlib.sha256(str(username or "").strip().lower().encode()).hexdigest()[:32]
    client = hashlib.sha256(_client(request).encode()).hexdigest()[:32]
    return f"login-failures:user:{name}", f"login-failures:client:{client}"


def _count(key: str) -> int:
    return int(cache.get(key) or 0)


def _hit(key: str) -> None:
    if not cache.add(key, 1, timeout=WINDOW_S):
        try:
            cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.add(key, 1, timeout=WINDOW_S)


def login_blocked(username: object, request: HttpRequest | None) -> bool:
    per_username, per_client = _limits()
    by_username, by_client = _keys(username, request)
    return _count(by_username) >= per_username or _count(by_client) >= per_client


class LoginThrottle:
    """An authentication backend that only ever refuses; the next backend signs in."""

    def authenticate(
        self, request: HttpRequest | None, username: Any = None, password: Any = None, **kwargs: Any
    ):
        if username is not None and login_blocked(username, request):
            raise PermissionDenied("too many failed sign-ins; try again later")
        return None


@receiver(user_login_failed, dispatch_uid="chatportal.login_throttle.count_failure")
def count_failure(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
):
    by_username, by_client = _keys(credentials.get("username"), request)
    _hit(by_username)
    _hit(by_client)
