"""Errors that reach the client as `{"type": "error", "code": ...}` frames.

`detail` is always our own wording: no exception text, no echoed input.
"""

from __future__ import annotations


class ChatError(Exception):
    code = "invalid"

    def __init__(self, detail: str, *, code: str | None = None):
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code


class NotFound(ChatError):
    code = "not_found"


class Forbidden(ChatError):
    code = "forbidden"


class Conflict(ChatError):
    """The request was valid but the conversation's state does not allow it."""

    code = "conflict"


class RateLimited(ChatError):
    code = "rate_limited"

    def __init__(self, retry_after_s: int):
        super().__init__("too many frames; slow down")
        self.retry_after_s = retry_after_s


class NotAuthenticated(Exception):
    """Closes the socket with 4001 before any data is sent."""
