"""Business seconds between many pairs of moments, fast.

`tickets.sla.business_seconds_between` walks the open windows from the
start every time; a report asks it for tens of thousands of tickets. A
`BusinessClock` lists a schedule's open windows once over the span the
report needs, with a running total, so each question is two binary
searches. The rules (weekly hours, holidays, time zones, 24x7) are those
of `queues.hours` and `tickets.sla`, whose `business_windows` it reuses.
"""

from __future__ import annotations

import bisect
import datetime
from itertools import accumulate

from queues.hours import Schedule
from tickets.sla import business_windows

UTC = datetime.UTC


class BusinessClock:
    def __init__(self, schedule: Schedule, lo: datetime.datetime, hi: datetime.datetime) -> None:
        self.calendar = schedule.is_24x7 or not schedule.intervals
        self.starts: list[float] = []
        self.ends: list[float] = []
        if self.calendar:
            return
        cursor = lo.astimezone(UTC)
        hi = hi.astimezone(UTC)
        # business_windows looks ahead a bounded horizon: restart it until `hi` is covered.
        while cursor < hi:
            advanced = False
            for opens, closes in business_windows(schedule, cursor):
                if self.ends and opens.timestamp() <= self.ends[-1]:
                    self.ends[-1] = max(self.ends[-1], closes.timestamp())
                else:
                    self.starts.append(opens.timestamp())
                    self.ends.append(closes.timestamp())
                cursor = closes
                advanced = True
                if closes >= hi:
                    break
            if not advanced:
                break
        self.cumulative = [
            0.0,
            *accumulate(e - s for s, e in zip(self.starts, self.ends, strict=True)),
        ]

    def _open_until(self, moment: float) -> float:
        """Open seconds from the first window to `moment`."""
        index = bisect.bisect_right(self.starts, moment) - 1
        if index < 0:
            return 0.0
        return self.cumulative[index] + min(moment, self.ends[index]) - self.starts[index]

    def between(self, start: datetime.datetime, end: datetime.datetime) -> float:
        """Open seconds in `[start, end)`; 0 when `end` is not after `start`."""
        return self.seconds(start.timestamp(), end.timestamp())

    def seconds(self, a: float, b: float) -> float:
        """Open seconds in `[a, b)`, both Unix seconds; 0 when `b` is not after `a`."""
        if b <= a:
            return 0.0
        if self.calendar:
            return b - a
        return self._open_until(b) - self._open_until(a)
