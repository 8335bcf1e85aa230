"""Actions of the bottom package: state it changes, doorbells it rings."""

from __future__ import annotations

from typing import Any

from foundation.realtime import publish_on_commit
from foundation.session_sockets import SESSION_ENDED, session_group


def do_end_session_sockets(session_key: str) -> None:
    """Every socket the session opened closes (after commit: a sign-out inside a
    transaction that rolls back did not happen)."""
    publish_on_commit(session_group(session_key), {"type": SESSION_ENDED})


def end_session_sockets(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    """`user_logged_out` receiver (connected in chatportal.apps)."""
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        do_end_session_sockets(session_key)
