"""What tickets add to the CRM record: open tickets in the lookup, tickets on the timeline."""

from __future__ import annotations

import re

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q
from django.db.models.functions import Length
from django.urls import reverse
from django.utils.translation import gettext as _

from crm.lookup import OpenTicketSummary
from crm.models import Contact
from crm.search import EXACT, PREFIX, SearchHit, contact_url
from crm.timeline import TimelineEntry, TimelineScope
from tickets.access import tickets_for_agent
from tickets.models import NUMBER_PREFIX, Ticket, internal_status_label, subject_for_display

OPEN_TICKETS_LIMIT = 50


def open_tickets(contact: Contact) -> list[OpenTicketSummary]:
    rows = (
        Ticket.objects.filter(contact=contact, status__in=Ticket.OPEN_STATUSES)
        .order_by("-updated_at")
        .values_list("number", "subject", "status", "priority", "created_at", "updated_at")[
            :OPEN_TICKETS_LIMIT
        ]
    )
    return [OpenTicketSummary(*row) for row in rows]


def timeline_entries(scope: TimelineScope, limit: int) -> list[TimelineEntry]:
    rows = (
        Ticket.objects.filter(
            scope.rows("contact", at="created_at", organization_field="organization")
        )
        .order_by("-created_at")
        .values_list(
            "number",
            "subject",
            "status",
            "channel",
            "requester_name",
            "created_at",
            "rating_score",
            "rating_comment",
        )[:limit]
    )
    return [
        TimelineEntry(
            kind="ticket",
            at=created_at,
            title=f"{number} {subject_for_display(subject, channel=channel, requester_name=name)}",
            summary=" · ".join(
                [internal_status_label(status), channel, *_rating_parts(score, comment)]
            ),
            ref=number,
        )
        for number, subject, status, channel, name, created_at, score, comment in rows
    ]


def _rating_parts(score: int | None, comment: str) -> list[str]:
    """The customer's rating on the CRM timeline: "rated 4 of 5 “comment”"."""
    if score is None:
        return []
    rated = _("rated %(score)s of 5") % {"score": score}
    return [f"{rated} “{comment[:200]}”" if comment else rated]


# `T-1042`, `t1042`, or bare digits short of a phone number (which has nine or more).
TICKET_NUMBER = re.compile(r"^(?:T-?(\d{1,12})|(\d{1,8}))$", re.IGNORECASE)
# Numbers start at T-1001: fewer digits are no number, and `T-1` as a prefix
# would match a tenth of all tickets.
MIN_PREFIX_DIGITS = 4


def search_hits(query: str, user: AbstractBaseUser | None, limit: int) -> list[SearchHit]:
    """Tickets by number (`T-1042`, `t-1042`, `1042`) that the agent may see.

    The exact number, then (from four digits) the numbers it starts
    (`T-1042` -> `T-10420`), on the unique column's pattern index. The link opens the contact's page, where
    the ticket is on the timeline; a ticket without a contact opens itself.
    """
    match = TICKET_NUMBER.match(query.replace(" ", ""))
    if match is None:
        return []
    digits = match.group(1) or match.group(2)
    number = f"{NUMBER_PREFIX}{digits}"
    matching = (
        Q(number__startswith=number) if len(digits) >= MIN_PREFIX_DIGITS else Q(number=number)
    )
    rows = (
        tickets_for_agent(user)
        .filter(matching)
        .order_by(Length("number"), "number")
        .values_list("number", "subject", "channel", "requester_name", "contact__public_id")[:limit]
    )
    hits = []
    for found, subject, channel, requester, contact_id in rows:
        contact_id = str(contact_id) if contact_id is not None else None
        title = subject_for_display(subject, channel=channel, requester_name=requester)
        hits.append(
            SearchHit(
                kind="ticket",
                id=found,
                title=f"{found} {title}",
                detail=requester,
                matched="ticket",
                tier=EXACT if found == number else PREFIX,
                contact_id=contact_id,
                url=(
                    contact_url(contact_id)
                    if contact_id is not None
                    else reverse("console_ticket", args=[found])
                ),
            )
        )
    return hits
