"""The one way a moment is written on the wire and in exports.

UTC, millisecond precision, a `Z` suffix: `2026-12-01T08:09:41.023Z`, as
docs/protocol.md promises. Browsers parse it with `new Date(...)` and Python
with `datetime.fromisoformat` (3.11+). Kept free of app imports so every
layer can use it.
"""

from __future__ import annotations

import datetime


def iso_timestamp(moment: datetime.datetime) -> str:
    """An aware datetime in UTC with milliseconds and a `Z`."""
    utc = moment.astimezone(datetime.UTC)
    return utc.isoformat(timespec="milliseconds").removesuffix("+00:00") + "Z"
