"""Errors tickets raise to views, the API and sockets.

`detail` is always our own wording: no exception text, no echoed input.
They are foundation's `ClientError`s (foundation/errors.py): a code, an HTTP
status and the detail, handled like every other error of ours.
"""

from __future__ import annotations

from foundation.errors import ClientError


class TicketError(ClientError):
    code = "invalid"
    status = 400


class TicketNotFound(TicketError):
    """No such ticket, or not one this user may see: the two look the same."""

    code = "not_found"
    status = 404


class TicketConflict(TicketError):
    """Valid, but the ticket's state does not allow it (a reply to a closed ticket)."""

    code = "conflict"
    status = 409
