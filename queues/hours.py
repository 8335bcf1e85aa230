"""Business hours: is a department open, when does it open next, how to say it.

Plain code over a `Schedule` value; a `Department` is turned into one with
`department.hours.all()` and `department.holidays.all()` (prefetch them when
asking about many departments).

The rules:

- `is_24x7` departments are always open, holidays included.
- Weekly intervals are wall-clock times in the department's own time zone,
  so "09:00" stays 09:00 across DST switches.
- An interval whose `closes` is not after `opens` runs past midnight into
  the next day (22:00-06:00); `opens == closes` is a 24-hour shift.
- A holiday closes its whole local day, and an overnight interval that would
  start on a holiday does not run either.
- An opening time that does not exist locally (inside a spring-forward gap)
  happens at the first real moment after the gap.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from queues.models import Department

logger = logging.getLogger(__name__)

# Far enough to step over any run of holidays anyone would configure.
NEXT_OPENING_HORIZON_DAYS = 400
ONE_DAY = datetime.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Interval:
    weekday: int  # 0 = Monday
    opens: datetime.time
    closes: datetime.time

    @property
    def overnight(self) -> bool:
        return self.closes <= self.opens


@dataclass(frozen=True, slots=True)
class Schedule:
    time_zone: str
    is_24x7: bool = False
    intervals: tuple[Interval, ...] = ()
    holidays: frozenset[datetime.date] = frozenset()

    @property
    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.time_zone or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            # The admin validates the name; a bad one must not take the widget down.
            logger.warning("unknown time zone %r, using UTC", self.time_zone)
            return ZoneInfo("UTC")

    def intervals_on(self, weekday: int) -> list[Interval]:
        return sorted(
            (iv for iv in self.intervals if iv.weekday == weekday), key=lambda iv: iv.opens
        )


def schedule_of(department: Department | Schedule) -> Schedule:
    if isinstance(department, Schedule):
        return department
    if department.is_24x7:
        return Schedule(time_zone=department.time_zone, is_24x7=True)
    return Schedule(
        time_zone=department.time_zone,
        intervals=tuple(
            Interval(row.weekday, _naive(row.opens), _naive(row.closes))
            for row in department.hours.all()
        ),
        holidays=frozenset(holiday.date for holiday in department.holidays.all()),
    )


def build_schedule(
    time_zone: str,
    weekly: Iterable[tuple[Iterable[int], str, str]] = (),
    *,
    holidays: Iterable[datetime.date] = (),
    is_24x7: bool = False,
) -> Schedule:
    """A schedule from `[(weekdays, "09:00", "18:00"), ...]`, for code and tests."""
    intervals = tuple(
        Interval(day, datetime.time.fromisoformat(opens), datetime.time.fromisoformat(closes))
        for days, opens, closes in weekly
        for day in days
    )
    return Schedule(time_zone, is_24x7, intervals, frozenset(holidays))


def is_open(department: Department | Schedule, at: datetime.datetime) -> bool:
    schedule = schedule_of(department)
    _require_aware(at)
    if schedule.is_24x7:
        return True
    local = at.astimezone(schedule.zone)
    day = local.date()
    if day in schedule.holidays:
        return False
    now = local.time().replace(tzinfo=None)
    for interval in schedule.intervals_on(day.weekday()):
        if interval.overnight:
            if now >= interval.opens:
                return True
        elif interval.opens <= now < interval.closes:
            return True
    yesterday = day - ONE_DAY
    if yesterday not in schedule.holidays:
        for interval in schedule.intervals_on(yesterday.weekday()):
            if interval.overnight and now < interval.closes:
                return True
    return False


def next_opening(
    department: Department | Schedule, at: datetime.datetime
) -> datetime.datetime | None:
    """`at` itself when open, else the next moment it opens; None if never (in a year)."""
    schedule = schedule_of(department)
    _require_aware(at)
    if is_open(schedule, at):
        return at
    if not schedule.intervals:
        return None
    zone = schedule.zone
    start_day = at.astimezone(zone).date()
    for offset in range(NEXT_OPENING_HORIZON_DAYS):
        day = start_day + offset * ONE_DAY
        if day in schedule.holidays:
            continue
        for interval in schedule.intervals_on(day.weekday()):
            opening = local_moment(day, interval.opens, zone)
            if opening > at:
                return opening
    return None


def local_moment(day: datetime.date, wall: datetime.time, zone: ZoneInfo) -> datetime.datetime:
    """The instant the clocks in `zone` show `wall` on `day` (first one if twice).

    A wall time inside a DST gap comes out shifted forward by the gap, which
    is what a round trip through UTC does with fold=0.
    """
    naive = datetime.datetime.combine(day, wall)
    return naive.replace(tzinfo=zone).astimezone(datetime.UTC).astimezone(zone)


def describe_hours(department: Department | Schedule) -> str:
    """The hours in one line, e.g. `Mon-Fri 09:00-18:00 Europe/Bucharest` or `24x7`."""
    schedule = schedule_of(department)
    if schedule.is_24x7:
        return _("24x7")
    by_day = [
        tuple(f"{_hhmm(iv.opens)}-{_hhmm(iv.closes)}" for iv in schedule.intervals_on(day))
        for day in range(7)
    ]
    groups: list[tuple[int, int, tuple[str, ...]]] = []
    for day, spans in enumerate(by_day):
        if groups and groups[-1][2] == spans and groups[-1][1] == day - 1:
            first, _last, same = groups[-1]
            groups[-1] = (first, day, same)
        else:
            groups.append((day, day, spans))
    parts = []
    for first, last, spans in groups:
        if not spans:
            continue
        days = str(WEEKDAYS_ABBR[first])
        if last != first:
            days = f"{days}-{WEEKDAYS_ABBR[last]}"
        parts.append(f"{days} {', '.join(spans)}")
    if not parts:
        return _("closed")
    return f"{'; '.join(parts)} {schedule.time_zone}"


def _hhmm(value: datetime.time) -> str:
    return value.strftime("%H:%M")


def _naive(value: datetime.time) -> datetime.time:
    return value.replace(tzinfo=None)


def _require_aware(at: Any) -> None:
    if not isinstance(at, datetime.datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("an aware datetime is required")
