"""The customer rates a solved ticket (from the link in the "solved" mail).

`check_rate_ticket` validates (score 1–5, an optional plain-text comment of at
most 2,000 characters, a ticket that is solved or closed) and calls
`do_rate_ticket`, which stores the rating on the ticket and appends an
internal `rated` event in one transaction (agents see it on the timeline;
the customer's portal timeline does not carry it). Rating again replaces
the rating: the event keeps the previous score.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from tickets.actions.log import append_event, locked_ticket, sync_ticket
from tickets.errors import TicketConflict, TicketError
from tickets.models import Ticket, TicketEvent
from tickets.rating import MAX_COMMENT_CHARS, SCORES


def clean_rating(score: object, comment: object) -> tuple[int, str]:
    try:
        value = int(str(score))
    except ValueError:
        raise TicketError("choose a rating from 1 to 5") from None
    if value not in SCORES:
        raise TicketError("choose a rating from 1 to 5")
    text = "" if comment is None else str(comment)
    if len(text) > MAX_COMMENT_CHARS:
        raise TicketError(f"a comment is at most {MAX_COMMENT_CHARS} characters")
    if any((ord(c) < 32 and c not in "\n\r\t") or 0x7F <= ord(c) < 0xA0 for c in text):
        raise TicketError("a comment is plain text")
    return value, text.strip()


def do_rate_ticket(ticket: Ticket, *, score: int, comment: str) -> TicketEvent:
    with transaction.atomic():
        fresh = locked_ticket(ticket)
        if fresh.status not in Ticket.DONE_STATUSES:
            raise TicketConflict("only a solved ticket can be rated")
        event = append_event(
            fresh,
            kind=TicketEvent.Kind.RATED,
            payload={"score": score, "comment": comment, "previous": fresh.rating_score},
            author_role=TicketEvent.Role.CUSTOMER,
            author_contact=fresh.contact,
            internal=True,
            fields={"rating_score": score, "rating_comment": comment, "rated_at": timezone.now()},
        )
        sync_ticket(ticket, fresh)
    return event


def check_rate_ticket(ticket: Ticket, score: object, comment: object = "") -> TicketEvent:
    value, text = clean_rating(score, comment)
    return do_rate_ticket(ticket, score=value, comment=text)
