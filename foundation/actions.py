"""Actions of the bottom package: state it changes, doorbells it rings."""

from __future__ import annotations

from foundation.realtime import publish_on_commit
from foundation.session_sockets import SESSION_ENDED, session_group


def do_end_session_sockets(session_key: str) -> None:
    """Every socket the session opened closes (after commit: a sign-out inside a
    transaction that rolls back did not happen)."""
    publish_on_commit(session_group(session_key), {"type": SESSION_ENDED})
