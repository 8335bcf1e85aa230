"""The SLA clock as a table: business hours, time zones, DST, holidays, 24x7, pauses."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest

from queues.hours import build_schedule
from tickets.sla import (
    add_business_minutes,
    business_seconds_between,
    resume_after_pending,
)

UTC = datetime.UTC
WEEKDAYS = range(0, 5)
EVERY_DAY = range(0, 7)

BUCHAREST = build_schedule(
    "Europe/Bucharest",
    [(WEEKDAYS, "09:00", "18:00")],
    holidays=[datetime.date(2026, 12, 1)],  # Ziua Națională, a Tuesday
)
MOSCOW = build_schedule(
    "Europe/Moscow", [(WEEKDAYS, "09:00", "17:00")], holidays=[datetime.date(2027, 1, 7)]
)
VLADIVOSTOK = build_schedule("Asia/Vladivostok", [(WEEKDAYS, "09:00", "18:00")])
SPLIT_DAY = build_schedule(
    "Europe/Bucharest", [(WEEKDAYS, "09:00", "12:00"), (WEEKDAYS, "13:00", "18:00")]
)
NIGHTS = build_schedule(
    "UTC", [(EVERY_DAY, "22:00", "06:00")], holidays=[datetime.date(2026, 11, 25)]
)
BUCHAREST_NIGHTS = build_schedule("Europe/Bucharest", [(EVERY_DAY, "22:00", "06:00")])
AROUND_THE_CLOCK = build_schedule("Europe/Bucharest", is_24x7=True)
NEVER_OPEN = build_schedule("Europe/Bucharest")


def local(zone: str, *args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=ZoneInfo(zone))


def utc(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


B, M, V = "Europe/Bucharest", "Europe/Moscow", "Asia/Vladivostok"

# schedule, start, minutes, expected due — 2026-11-23 is a Monday.
CASES = [
    pytest.param(
        BUCHAREST,
        local(B, 2026, 11, 23, 10, 0),
        60,
        local(B, 2026, 11, 23, 11, 0),
        id="within-the-day",
    ),
    pytest.param(
        BUCHAREST,
        local(B, 2026, 11, 23, 17, 30),
        60,
        local(B, 2026, 11, 24, 9, 30),
        id="rolls-to-next-morning",
    ),
    pytest.param(
        BUCHAREST,
        local(B, 2026, 11, 23, 7, 0),
        30,
        local(B, 2026, 11, 23, 9, 30),
        id="before-opening",
    ),
    pytest.param(
        BUCHAREST, local(B, 2026, 11, 23, 18, 0), 1, local(B, 2026, 11, 24, 9, 1), id="at-closing"
    ),
    pytest.param(
        BUCHAREST,
        local(B, 2026, 11, 27, 17, 0),
        120,
        local(B, 2026, 11, 30, 10, 0),
        id="over-the-weekend",
    ),
    pytest.param(
        BUCHAREST,
        local(B, 2026, 11, 28, 12, 0),
        30,
        local(B, 2026, 11, 30, 9, 30),
        id="started-on-saturday",
    ),
    pytest.param(
        BUCHAREST,
        local(B, 2026, 11, 30, 17, 0),
        120,
        local(B, 2026, 12, 2, 10, 0),
        id="skips-a-holiday",
    ),
    pytest.param(
        BUCHAREST,
        local(B, 2026, 11, 23, 9, 0),
        5 * 540,
        local(B, 2026, 11, 27, 18, 0),
        id="a-whole-week",
    ),
    pytest.param(
        BUCHAREST,
        local(B, 2026, 10, 23, 17, 0),
        120,
        local(B, 2026, 10, 26, 10, 0),
        id="dst-ends-over-the-weekend",
    ),
    pytest.param(
        BUCHAREST,
        local(B, 2027, 3, 26, 17, 0),
        120,
        local(B, 2027, 3, 29, 10, 0),
        id="dst-starts-over-the-weekend",
    ),
    pytest.param(
        SPLIT_DAY,
        local(B, 2026, 11, 23, 11, 30),
        60,
        local(B, 2026, 11, 23, 13, 30),
        id="lunch-break",
    ),
    pytest.param(
        MOSCOW,
        local(M, 2026, 11, 23, 16, 0),
        120,
        local(M, 2026, 11, 24, 10, 0),
        id="moscow-no-dst",
    ),
    pytest.param(
        MOSCOW, utc(2026, 11, 23, 13, 0), 120, utc(2026, 11, 24, 7, 0), id="moscow-in-utc"
    ),
    pytest.param(
        MOSCOW,
        local(M, 2027, 1, 6, 16, 0),
        120,
        local(M, 2027, 1, 8, 10, 0),
        id="moscow-orthodox-christmas",
    ),
    pytest.param(
        VLADIVOSTOK,
        utc(2026, 11, 22, 20, 0),
        60,
        utc(2026, 11, 23, 0, 0),
        id="vladivostok-monday-before-utc-monday",
    ),
    pytest.param(
        VLADIVOSTOK,
        local(V, 2026, 11, 27, 17, 30),
        60,
        local(V, 2026, 11, 30, 9, 30),
        id="vladivostok-weekend",
    ),
    pytest.param(
        NIGHTS, utc(2026, 11, 23, 23, 0), 120, utc(2026, 11, 24, 1, 0), id="overnight-shift"
    ),
    pytest.param(
        NIGHTS,
        utc(2026, 11, 23, 5, 30),
        60,
        utc(2026, 11, 23, 22, 30),
        id="overnight-shift-morning-end",
    ),
    pytest.param(
        NIGHTS,
        utc(2026, 11, 24, 23, 0),
        120,
        utc(2026, 11, 26, 23, 0),
        id="overnight-into-a-holiday",
    ),
    # The night the clocks go back lasts nine real hours, not eight.
    pytest.param(
        BUCHAREST_NIGHTS,
        local(B, 2026, 10, 24, 22, 0),
        540,
        utc(2026, 10, 25, 4, 0),
        id="night-shift-across-dst-end",
    ),
    pytest.param(
        BUCHAREST_NIGHTS,
        local(B, 2026, 10, 24, 22, 0),
        600,
        local(B, 2026, 10, 25, 23, 0),
        id="night-shift-after-dst-end",
    ),
    pytest.param(
        BUCHAREST_NIGHTS,
        local(B, 2027, 3, 27, 22, 0),
        420,
        local(B, 2027, 3, 28, 6, 0),
        id="night-shift-across-dst-start",
    ),
    pytest.param(
        AROUND_THE_CLOCK,
        local(B, 2026, 11, 28, 23, 0),
        90,
        local(B, 2026, 11, 29, 0, 30),
        id="24x7",
    ),
    pytest.param(
        AROUND_THE_CLOCK,
        local(B, 2026, 10, 25, 2, 0),
        180,
        utc(2026, 10, 25, 2, 0),
        id="24x7-counts-real-time-across-dst",
    ),
    pytest.param(
        NEVER_OPEN,
        utc(2026, 11, 23, 10, 0),
        60,
        utc(2026, 11, 23, 11, 0),
        id="no-hours-counts-calendar-time",
    ),
]


@pytest.mark.parametrize(("schedule", "start", "minutes", "expected"), CASES)
def test_it_adds_business_minutes(schedule, start, minutes, expected):
    assert add_business_minutes(schedule, start, minutes) == expected


@pytest.mark.parametrize(("schedule", "start", "minutes", "expected"), CASES)
def test_business_seconds_between_inverts_the_addition(schedule, start, minutes, expected):
    assert business_seconds_between(schedule, start, expected) == minutes * 60


@pytest.mark.parametrize(
    ("schedule", "start", "end", "seconds"),
    [
        pytest.param(
            BUCHAREST,
            local(B, 2026, 11, 27, 17, 0),
            local(B, 2026, 11, 30, 10, 0),
            7200,
            id="weekend",
        ),
        pytest.param(
            BUCHAREST,
            local(B, 2026, 11, 28, 8, 0),
            local(B, 2026, 11, 29, 20, 0),
            0,
            id="all-weekend",
        ),
        pytest.param(
            BUCHAREST, local(B, 2026, 12, 1, 8, 0), local(B, 2026, 12, 1, 20, 0), 0, id="holiday"
        ),
        pytest.param(
            BUCHAREST,
            local(B, 2026, 11, 23, 12, 0),
            local(B, 2026, 11, 23, 11, 0),
            0,
            id="end-before-start",
        ),
        pytest.param(
            SPLIT_DAY,
            local(B, 2026, 11, 23, 8, 0),
            local(B, 2026, 11, 23, 19, 0),
            8 * 3600,
            id="split-day",
        ),
        pytest.param(
            AROUND_THE_CLOCK, utc(2026, 11, 23, 0, 0), utc(2026, 11, 24, 0, 0), 86400, id="24x7"
        ),
    ],
)
def test_it_counts_business_seconds_between(schedule, start, end, seconds):
    assert business_seconds_between(schedule, start, end) == seconds


@pytest.mark.parametrize(
    ("schedule", "due", "paused_from", "resumed", "expected"),
    [
        pytest.param(
            BUCHAREST,
            local(B, 2026, 11, 24, 12, 0),
            local(B, 2026, 11, 23, 17, 0),
            local(B, 2026, 11, 24, 10, 0),
            local(B, 2026, 11, 24, 14, 0),
            id="overnight-pause",
        ),
        pytest.param(
            BUCHAREST,
            local(B, 2026, 11, 30, 12, 0),
            local(B, 2026, 11, 28, 9, 0),
            local(B, 2026, 11, 29, 18, 0),
            local(B, 2026, 11, 30, 12, 0),
            id="weekend-pause-costs-nothing",
        ),
        pytest.param(
            BUCHAREST,
            local(B, 2026, 11, 27, 17, 0),
            local(B, 2026, 11, 27, 10, 0),
            local(B, 2026, 11, 27, 12, 0),
            local(B, 2026, 11, 30, 10, 0),
            id="pause-pushes-past-the-weekend",
        ),
        pytest.param(
            AROUND_THE_CLOCK,
            utc(2026, 11, 24, 12, 0),
            utc(2026, 11, 23, 12, 0),
            utc(2026, 11, 23, 15, 30),
            utc(2026, 11, 24, 15, 30),
            id="24x7-pause",
        ),
        pytest.param(
            MOSCOW,
            local(M, 2027, 1, 6, 12, 0),
            local(M, 2027, 1, 5, 16, 0),
            local(M, 2027, 1, 6, 10, 0),
            local(M, 2027, 1, 6, 14, 0),
            id="moscow-pause",
        ),
    ],
)
def test_a_pause_moves_the_due_time_by_the_business_time_spent_pending(
    schedule, due, paused_from, resumed, expected
):
    assert resume_after_pending(schedule, due, paused_from, resumed) == expected


def test_it_requires_aware_datetimes():
    with pytest.raises(ValueError):
        add_business_minutes(BUCHAREST, datetime.datetime(2026, 11, 23, 10, 0), 5)
