"""The customer's one-click rating link for a solved ticket: signed, bound, expiring.

The token is `django.core.signing` over the ticket's public id with its own
salt (`SALT`), so it is bound to that one ticket and useless anywhere else
in the project (a sign-in link's salt differs); it expires after
`CHATPORTAL_RATING_LINK_MAX_AGE_S` (default 30 days). It proves only "the
person who got the solved mail": it rates, it signs nobody in. No database
row is needed, so a link in a mail already sent keeps working after a
restart; a ticket deleted since makes it a 404.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core import signing

from tickets.models import Ticket

SALT = "chatportal.tickets.rating"
DEFAULT_MAX_AGE_S = 30 * 24 * 3600
MAX_COMMENT_CHARS = 2_000
SCORES = (1, 2, 3, 4, 5)


class LinkInvalid(Exception):
    """Tampered with or not ours (400)."""


class LinkExpired(LinkInvalid):
    """Once valid, now too old (400, said so)."""


def max_age_s() -> int:
    return int(getattr(settings, "CHATPORTAL_RATING_LINK_MAX_AGE_S", DEFAULT_MAX_AGE_S))


def make_rating_token(ticket: Ticket) -> str:
    return signing.dumps({"t": ticket.public_id.hex}, salt=SALT, compress=False)


def ticket_public_id(token: str) -> uuid.UUID:
    """The ticket the token names; raises LinkExpired or LinkInvalid."""
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age_s())
    except signing.SignatureExpired:
        raise LinkExpired from None
    except signing.BadSignature:
        raise LinkInvalid from None
    try:
        return uuid.UUID(hex=str(data["t"]))
    except (KeyError, TypeError, ValueError):
        raise LinkInvalid from None


def rating_path(ticket: Ticket, score: int | None = None) -> str:
    path = f"/rate/{make_rating_token(ticket)}/"
    return f"{path}?score={score}" if score else path
