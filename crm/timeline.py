"""The customer timeline: chats, calls and tickets of one contact, newest first.

crm sits at the bottom of the import chain (crm <- queues <- chat <- tickets),
so it cannot ask chat or tickets for their rows. Instead each app registers a
source here from its `AppConfig.ready()`:

    register_timeline_source("chats", chat_entries)   # fn(contact, limit)

and `contact_timeline` merges what the sources return. crm registers its own
calls source in `CrmConfig.ready()`.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

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


TimelineSource = Callable[["Contact", int], Iterable[TimelineEntry]]

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
    limit = max(0, min(int(limit), MAX_LIMIT))
    if limit == 0:
        return []
    entries: list[TimelineEntry] = []
    for name, fn in list(_sources.items()):
        try:
            entries.extend(list(fn(contact, limit))[:limit])
        except Exception:
            logger.exception("timeline source %s failed for contact %s", name, contact.pk)
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]


def call_entries(contact: Contact, limit: int) -> list[TimelineEntry]:
    from django.utils.translation import gettext as _

    from crm.models import CallRecord

    calls = CallRecord.objects.filter(contact=contact).select_related("agent")[:limit]
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
