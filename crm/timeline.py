"""The customer timeline: chats, calls and tickets of one contact, newest first.

crm sits at the bottom of the import chain (crm <- queues <- chat <- tickets),
so it cannot ask chat or tickets for their rows. Instead each app registers a
source here from its `AppConfig.ready()`:

    register_timeline_source("chats", chat_entries)   # fn(scope, limit)

and `contact_timeline` merges what the sources return. crm registers its own
calls source in `CrmConfig.ready()`.

A source receives a `TimelineScope`: the contact, whether their organization's
rows belong in it too (the contact page shows one timeline of both), and a
`before` cursor for the next page. `scope.rows(field)` is the filter to apply.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Q

if TYPE_CHECKING:
    from crm.models import Contact

logger = logging.getLogger(__name__)

MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    kind: str  # "call", "chat", "ticket", ...
    at: datetime.datetime  # aware
    title: str
    summary: str
    ref: str  # the public id of what the entry is about: a call uuid, "T-1042"


@dataclass(frozen=True, slots=True)
class TimelineScope:
    contact: Contact
    # Set: the rows of every contact of this organization (and its own) belong in it.
    organization_id: int | None = None
    # Set: only entries strictly older than this (the next page).
    before: datetime.datetime | None = None

    def rows(self, field: str = "contact", *, at: str, organization_field: str | None = None) -> Q:
        """The filter for a source's rows: `field` names the FK to Contact, `at` the
        timestamp the entry is dated by, `organization_field` an FK to Organization."""
        q = Q(**{field: self.contact.pk})
        if self.organization_id is not None:
            q |= Q(**{f"{field}__organization_id": self.organization_id})
            if organization_field is not None:
                q |= Q(**{organization_field: self.organization_id})
        if self.before is not None:
            q &= Q(**{f"{at}__lt": self.before})
        return q


TimelineSource = Callable[[TimelineScope, int], Iterable[TimelineEntry]]

_sources: dict[str, TimelineSource] = {}


def register_timeline_source(name: str, fn: TimelineSource) -> None:
    """Add (or replace, so a repeated `ready()` is harmless) a named source."""
    _sources[name] = fn


def unregister_timeline_source(name: str) -> None:
    _sources.pop(name, None)


def timeline_sources() -> dict[str, TimelineSource]:
    return dict(_sources)


def contact_timeline(contact: Contact, *, limit: int = 50) -> list[TimelineEntry]:
    """The contact's entries from every source, newest first, at most `limit`.

    A source that fails is logged and left out: an agent answering the phone
    is better served by a partial record than by an error.
    """
    return scope_timeline(TimelineScope(contact), limit=limit)


def scope_timeline(scope: TimelineScope, *, limit: int = 50) -> list[TimelineEntry]:
    """Every source's entries in the scope, newest first, at most `limit`."""
    limit = max(0, min(int(limit), MAX_LIMIT))
    if limit == 0:
        return []
    entries: list[TimelineEntry] = []
    for name, fn in list(_sources.items()):
        try:
            entries.extend(list(fn(scope, limit))[:limit])
        except Exception:
            logger.exception("timeline source %s failed for contact %s", name, scope.contact.pk)
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]


@dataclass(frozen=True, slots=True)
class TimelinePage:
    entries: list[TimelineEntry]
    # Where the next page starts (`before`), or None on the last page.
    next_before: datetime.datetime | None


def timeline_page(
    contact: Contact,
    *,
    with_organization: bool = True,
    before: datetime.datetime | None = None,
    size: int = 25,
) -> TimelinePage:
    """One page of the contact's (and their organization's) timeline, newest first.

    Keyset pagination on the entry time: each source is asked for one entry
    more than the page holds, so we know whether another page follows.
    """
    size = max(1, min(int(size), MAX_LIMIT - 1))
    organization_id = contact.organization_id if with_organization else None
    scope = TimelineScope(contact, organization_id=organization_id, before=before)
    entries = scope_timeline(scope, limit=size + 1)
    if len(entries) <= size:
        return TimelinePage(entries, None)
    page = entries[:size]
    return TimelinePage(page, page[-1].at)


def call_entries(scope: TimelineScope, limit: int) -> list[TimelineEntry]:
    from django.utils.translation import gettext as _

    from crm.models import CallRecord

    calls = (
        CallRecord.objects.filter(scope.rows("contact", at="started_at"))
        .order_by("-started_at")
        .select_related("agent")[:limit]
    )
    entries = []
    for call in calls:
        if call.direction == CallRecord.Direction.INBOUND:
            title = _("Inbound call")
        else:
            title = _("Outbound call")
        if call.state != CallRecord.State.ENDED:
            title = f"{title} ({call.get_state_display()})"
        elif call.external_id and call.answered_at is None:
            # The PBX reported the call and its end, never an answer.
            title = _("Missed call")
        parts = []
        if call.agent is not None:
            parts.append(call.agent.get_full_name() or call.agent.get_username())
        if call.duration_s is not None:
            minutes, seconds = divmod(call.duration_s, 60)
            parts.append(f"{minutes}:{seconds:02d}")
        if call.note:
            parts.append(call.note[:200])
        entries.append(
            TimelineEntry(
                kind="call",
                at=call.started_at,
                title=title,
                summary=" · ".join(parts),
                ref=str(call.public_id),
            )
        )
    return entries
