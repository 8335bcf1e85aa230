"""Our errors: a machine code, an HTTP status and our own wording, handled one way.

Each app derives its errors from `ClientError` (chat.errors.ChatError,
tickets.errors.TicketError, the frame and upload refusals), so a socket sends
any of them as the same error frame (`{"type": "error", "code", "detail"}`,
plus `extra`) and an API answers with its `status` and the same `code`. The
codes are the ones docs/protocol.md lists; `detail` is always our own wording
for people: no exception text, no echoed input.
"""

from __future__ import annotations

from typing import Any


class ClientError(Exception):
    """The request is refused; `code`, `status` and `detail` are safe to send back."""

    code = "invalid"
    status = 400

    def __init__(self, detail: str, *, code: str | None = None, status: int | None = None):
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        # Fields the answer carries beside code and detail (`retry_after_s`).
        self.extra: dict[str, Any] = {}


class RateLimited(ClientError):
    """Too much, too fast; `retry_after_s` says when to try again."""

    code = "rate_limited"
    status = 429

    def __init__(self, retry_after_s: int, detail: str = "too many frames; slow down"):
        super().__init__(detail)
        self.retry_after_s = retry_after_s
        self.extra = {"retry_after_s": retry_after_s}


class NotAuthenticated(Exception):
    """Closes the socket with 4001 before any data is sent (no error frame)."""
