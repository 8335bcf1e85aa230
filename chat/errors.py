"""Errors that reach the client as `{"type": "error", "code": ...}` frames.

`detail` is always our own wording: no exception text, no echoed input.
They are foundation's `ClientError`s (foundation/errors.py): sockets and the
API handle them like every other error of ours; `status` is what the HTTP
API answers with.
"""

from __future__ import annotations

from foundation import errors
from foundation.errors import NotAuthenticated as NotAuthenticated  # closes the socket with 4001


class ChatError(errors.ClientError):
    """`invalid`, 400 unless a subclass or the raiser says otherwise."""


class NotFound(ChatError):
    code = "not_found"
    status = 404


class Forbidden(ChatError):
    code = "forbidden"
    status = 403


class Conflict(ChatError):
    """The request was valid but the conversation's state does not allow it."""

    code = "conflict"
    status = 409


class RateLimited(ChatError, errors.RateLimited):
    """Too many frames, or a visitor's messages over the window: sockets count it as a violation."""

    # Spelled out: ChatError comes first in the lookup, and must not make it `invalid`.
    code = errors.RateLimited.code
    status = errors.RateLimited.status
