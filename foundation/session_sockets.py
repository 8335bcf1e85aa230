"""Signing out closes the sockets that session opened.

A socket authenticated by a session cookie (the console's agent socket, the
portal's and the console's ticket sockets) keeps the user it was opened
with; without this, a customer who signs out on a shared computer would
leave the open tab pushing their tickets. Two mechanisms, because the
channel layer is only a doorbell:

- on sign-out (console, portal, admin: Django's `user_logged_out`, sent
  while the session still has its key) a `session.ended` doorbell goes to
  the group of that session, which every socket of the session joined at
  connect; each closes with 4001 at once, on whichever worker it lives;
- on their maintenance tick, sockets check that their session still signs in
  the same user (a lost doorbell, a Redis restart, an expired or flushed
  session, a password change that ends other sessions).

Only that session's sockets close: the same user's other sessions (another
browser, an API token) are not signed out.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, load_backend
from django.contrib.sessions.backends.base import SessionBase
from django.utils.crypto import constant_time_compare

SESSION_ENDED = "session.ended"


def session_group(session_key: str) -> str:
    # A digest: the session key is a credential and must not travel as a Redis channel name.
    return "session." + hashlib.sha256(session_key.encode()).hexdigest()[:40]


def session_group_of(scope: dict[str, Any]) -> str | None:
    """The group of the session that authenticated this socket, if one did."""
    session = scope.get("session")
    user = scope.get("user")
    key = getattr(session, "session_key", None)
    if not key or user is None or not user.is_authenticated:
        return None
    return session_group(key)


def session_alive(session: SessionBase | None, user: Any) -> bool:
    """Does the session still sign in `user`, read afresh from the store and the database?

    Sync. False once the session was flushed or expired, signs in someone
    else, or no longer verifies: the user deactivated, or their password
    changed since (Django's session auth hash, the check its own auth
    middleware makes on every request).
    """
    if session is None or not session.session_key or user is None:
        return False
    store = session.__class__(session.session_key)
    if str(store.get(SESSION_KEY, "")) != str(user.pk) or BACKEND_SESSION_KEY not in store:
        return False
    try:
        backend = load_backend(store[BACKEND_SESSION_KEY])
    except ImportError:
        return False
    fresh = backend.get_user(user.pk)
    if fresh is None:
        return False
    stored_hash = store.get(HASH_SESSION_KEY)
    verify = getattr(fresh, "get_session_auth_hash", None)
    return verify is None or (
        stored_hash is not None and constant_time_compare(stored_hash, verify())
    )
