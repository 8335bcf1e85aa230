"""Every moment leaves the server in one shape (docs/protocol.md, "Timestamps")."""

from __future__ import annotations

import datetime
import re
from zoneinfo import ZoneInfo

from chat.log import event_frame
from crm.gdpr import iso
from foundation.timestamps import iso_timestamp

WIRE_SHAPE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_a_moment_in_another_zone_is_written_in_utc_with_milliseconds():
    moment = datetime.datetime(2026, 12, 1, 10, 9, 41, 23456, tzinfo=ZoneInfo("Europe/Bucharest"))
    assert iso_timestamp(moment) == "2026-12-01T08:09:41.023Z"


def test_a_whole_second_still_carries_milliseconds():
    moment = datetime.datetime(2026, 12, 1, 8, 9, 41, tzinfo=datetime.UTC)
    assert iso_timestamp(moment) == "2026-12-01T08:09:41.000Z"


def test_chat_frames_and_exports_write_moments_the_same_way():
    moment = datetime.datetime(2026, 12, 1, 8, 9, 41, 23456, tzinfo=datetime.UTC)
    frame = event_frame(
        "c", seq=1, kind="message", payload={}, created_at=moment, internal=False, for_agent=True
    )
    assert frame["at"] == iso(moment) == "2026-12-01T08:09:41.023Z"
    assert WIRE_SHAPE.match(iso(moment))


def test_exports_keep_plain_dates_and_missing_values():
    assert iso(datetime.date(2034, 6, 30)) == "2034-06-30"
    assert iso(None) is None
