"""Errors tickets raise to views, the API and sockets.

`detail` is always our own wording: no exception text, no echoed input.
"""

from __future__ import annotations


class TicketError(Exception):
    code = "invalid"
    status = 400

    def __init__(self, detail: str, *, code: str | None = None):
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code


class TicketNotFound(TicketError):
    """No such ticket, or not one this user may see: the two look the same."""

    code = "not_found"
    status = 404


class TicketConflict(TicketError):
    """Valid, but the ticket's state does not allow it (a reply to a closed ticket)."""

    code = "conflict"
    status = 409
