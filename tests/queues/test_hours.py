from __future__ import annotations

import datetime as dt

import pytest

from queues.hours import (
    build_schedule,
    describe_hours,
    is_open,
    local_moment,
    next_opening,
)
from queues.models import Department, Holiday, WeeklyHours

UTC = dt.UTC
MON_FRI = range(5)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


BUCHAREST = build_schedule("Europe/Bucharest", [(MON_FRI, "09:00", "18:00")])
MOSCOW = build_schedule(
    "Europe/Moscow", [(MON_FRI, "09:00", "17:00")], holidays=[dt.date(2027, 1, 1)]
)
VLADIVOSTOK_NIGHTS = build_schedule(
    "Asia/Vladivostok", [(MON_FRI, "22:00", "06:00")], holidays=[dt.date(2026, 12, 31)]
)


@pytest.mark.parametrize(
    ("schedule", "at", "expected"),
    [
        # Bucharest is UTC+2 in winter: 09:00 local is 07:00 UTC.
        (BUCHAREST, utc(2026, 12, 1, 6, 59), False),
        (BUCHAREST, utc(2026, 12, 1, 7, 0), True),
        (BUCHAREST, utc(2026, 12, 1, 15, 59), True),
        (BUCHAREST, utc(2026, 12, 1, 16, 0), False),
        # UTC+3 in summer: 09:00 local is 06:00 UTC.
        (BUCHAREST, utc(2026, 7, 1, 6, 0), True),
        (BUCHAREST, utc(2026, 7, 1, 5, 59), False),
        (BUCHAREST, utc(2026, 7, 1, 15, 0), False),
        # Saturday.
        (BUCHAREST, utc(2026, 12, 5, 10, 0), False),
        # Moscow is UTC+3 all year.
        (MOSCOW, utc(2026, 12, 1, 6, 0), True),
        (MOSCOW, utc(2026, 12, 1, 5, 59), False),
        (MOSCOW, utc(2026, 7, 1, 6, 0), True),
        (MOSCOW, utc(2026, 12, 1, 14, 0), False),
        # New Year's Day 2027 is a Friday and a holiday.
        (MOSCOW, utc(2027, 1, 1, 8, 0), False),
        (MOSCOW, utc(2027, 1, 4, 8, 0), True),
        # Vladivostok (UTC+10) night shift Mon-Fri 22:00-06:00 crosses midnight.
        (VLADIVOSTOK_NIGHTS, utc(2026, 12, 1, 12, 0), True),  # Tue 22:00 local
        (VLADIVOSTOK_NIGHTS, utc(2026, 12, 1, 19, 59), True),  # Wed 05:59 local
        (VLADIVOSTOK_NIGHTS, utc(2026, 12, 1, 20, 0), False),  # Wed 06:00 local
        (VLADIVOSTOK_NIGHTS, utc(2026, 12, 1, 11, 59), False),  # Tue 21:59 local
        # Friday night runs into Saturday morning...
        (VLADIVOSTOK_NIGHTS, utc(2026, 12, 4, 18, 0), True),  # Sat 04:00 local
        # ...but Saturday night does not start.
        (VLADIVOSTOK_NIGHTS, utc(2026, 12, 5, 13, 0), False),  # Sat 23:00 local
        # Sunday night does not start, so Monday 03:00 is closed.
        (VLADIVOSTOK_NIGHTS, utc(2026, 12, 6, 17, 0), False),
    ],
)
def test_it_tells_whether_a_department_is_open(schedule, at, expected):
    assert is_open(schedule, at) is expected


def test_it_closes_the_whole_local_day_of_a_holiday_even_for_an_overnight_shift():
    # 2026-12-31 is a Thursday and a holiday in Vladivostok.
    wed_night_spilling_into_holiday = utc(2026, 12, 30, 16, 0)  # Thu 02:00 local
    holiday_evening = utc(2026, 12, 31, 13, 0)  # Thu 23:00 local
    after_holiday_midnight = utc(2026, 12, 31, 16, 0)  # Fri 02:00, the holiday's shift
    assert is_open(VLADIVOSTOK_NIGHTS, wed_night_spilling_into_holiday) is False
    assert is_open(VLADIVOSTOK_NIGHTS, holiday_evening) is False
    assert is_open(VLADIVOSTOK_NIGHTS, after_holiday_midnight) is False
    assert is_open(VLADIVOSTOK_NIGHTS, utc(2026, 12, 30, 13, 0)) is True  # Wed 23:00


def test_it_keeps_wall_clock_hours_on_the_spring_forward_day():
    # Bucharest, Sunday 2026-03-29: 03:00 EET jumps to 04:00 EEST (01:00 UTC).
    sunday = build_schedule("Europe/Bucharest", [([6], "02:00", "06:00")])
    assert is_open(sunday, utc(2026, 3, 28, 23, 59)) is False  # 01:59 EET
    assert is_open(sunday, utc(2026, 3, 29, 0, 0)) is True  # 02:00 EET
    assert is_open(sunday, utc(2026, 3, 29, 1, 0)) is True  # 04:00 EEST
    assert is_open(sunday, utc(2026, 3, 29, 2, 59)) is True  # 05:59 EEST
    assert is_open(sunday, utc(2026, 3, 29, 3, 0)) is False  # 06:00 EEST


def test_it_keeps_wall_clock_hours_on_the_fall_back_day():
    # Bucharest, Sunday 2026-10-25: 04:00 EEST falls back to 03:00 EET (01:00 UTC).
    sunday = build_schedule("Europe/Bucharest", [([6], "03:00", "05:00")])
    assert is_open(sunday, utc(2026, 10, 24, 23, 59)) is False  # 02:59 EEST
    assert is_open(sunday, utc(2026, 10, 25, 0, 0)) is True  # 03:00 EEST
    assert is_open(sunday, utc(2026, 10, 25, 1, 0)) is True  # 03:00 EET, again
    assert is_open(sunday, utc(2026, 10, 25, 2, 59)) is True  # 04:59 EET
    assert is_open(sunday, utc(2026, 10, 25, 3, 0)) is False  # 05:00 EET


def test_it_opens_after_the_gap_when_the_opening_time_does_not_exist():
    sunday = build_schedule("Europe/Bucharest", [([6], "03:30", "06:00")])
    opening = next_opening(sunday, utc(2026, 3, 28, 12, 0))
    assert opening == utc(2026, 3, 29, 1, 30)  # 04:30 EEST, the first real moment
    assert is_open(sunday, opening) is True


def test_it_finds_the_next_opening_across_the_weekend_in_the_local_zone():
    friday_evening = utc(2026, 12, 4, 17, 0)  # 19:00 Bucharest
    opening = next_opening(BUCHAREST, friday_evening)
    assert opening == utc(2026, 12, 7, 7, 0)
    assert opening.tzinfo is not None and opening.utcoffset() == dt.timedelta(hours=2)


def test_it_steps_over_holidays_to_the_next_opening():
    new_years_eve = utc(2026, 12, 31, 15, 0)  # Thu 18:00 Moscow, closed
    assert next_opening(MOSCOW, new_years_eve) == utc(2027, 1, 4, 6, 0)


def test_it_answers_the_moment_itself_when_already_open():
    at = utc(2026, 12, 1, 8, 0)
    assert next_opening(BUCHAREST, at) == at


def test_it_finds_the_next_opening_across_a_dst_switch():
    saturday = utc(2026, 3, 28, 12, 0)  # EET; Monday is EEST
    assert next_opening(BUCHAREST, saturday) == utc(2026, 3, 30, 6, 0)


def test_it_has_no_next_opening_without_hours():
    closed = build_schedule("Europe/Bucharest", [])
    assert next_opening(closed, utc(2026, 12, 1, 8, 0)) is None
    assert is_open(closed, utc(2026, 12, 1, 8, 0)) is False


def test_it_keeps_a_24x7_department_open_on_holidays():
    always = build_schedule("Europe/Bucharest", is_24x7=True, holidays=[dt.date(2026, 12, 25)])
    assert is_open(always, utc(2026, 12, 25, 3, 0)) is True
    assert next_opening(always, utc(2026, 12, 25, 3, 0)) == utc(2026, 12, 25, 3, 0)
    assert describe_hours(always) == "24x7"


def test_it_treats_equal_opening_and_closing_times_as_a_24_hour_shift():
    sunday = build_schedule("UTC", [([6], "08:00", "08:00")])
    assert is_open(sunday, utc(2026, 12, 6, 8, 0)) is True
    assert is_open(sunday, utc(2026, 12, 7, 7, 59)) is True
    assert is_open(sunday, utc(2026, 12, 7, 8, 0)) is False


def test_it_refuses_naive_datetimes():
    with pytest.raises(ValueError, match="aware"):
        is_open(BUCHAREST, dt.datetime(2026, 12, 1, 9, 0))


@pytest.mark.parametrize(
    ("schedule", "text"),
    [
        (BUCHAREST, "Mon-Fri 09:00-18:00 Europe/Bucharest"),
        (MOSCOW, "Mon-Fri 09:00-17:00 Europe/Moscow"),
        (VLADIVOSTOK_NIGHTS, "Mon-Fri 22:00-06:00 Asia/Vladivostok"),
        (
            build_schedule(
                "Europe/Bucharest",
                [(MON_FRI, "09:00", "13:00"), (MON_FRI, "14:00", "18:00"), ([5], "10:00", "14:00")],
            ),
            "Mon-Fri 09:00-13:00, 14:00-18:00; Sat 10:00-14:00 Europe/Bucharest",
        ),
        (
            build_schedule("UTC", [([0, 2], "09:00", "17:00")]),
            "Mon 09:00-17:00; Wed 09:00-17:00 UTC",
        ),
        (build_schedule("UTC", []), "closed"),
    ],
)
def test_it_describes_the_hours(schedule, text):
    assert describe_hours(schedule) == text


def test_it_resolves_local_moments_in_the_department_zone():
    moment = local_moment(dt.date(2026, 7, 1), dt.time(9, 0), BUCHAREST.zone)
    assert moment == utc(2026, 7, 1, 6, 0)


def test_it_falls_back_to_utc_for_an_unknown_time_zone():
    broken = build_schedule("Mars/Olympus_Mons", [(MON_FRI, "09:00", "17:00")])
    assert is_open(broken, utc(2026, 12, 1, 9, 0)) is True


@pytest.mark.django_db
def test_it_reads_a_department_with_prefetched_hours_and_holidays(django_assert_num_queries):
    department = Department.objects.create(
        slug="billing-test", name="Billing", time_zone="Europe/Moscow"
    )
    for day in MON_FRI:
        WeeklyHours.objects.create(
            department=department, weekday=day, opens=dt.time(9), closes=dt.time(17)
        )
    Holiday.objects.create(department=department, date=dt.date(2027, 1, 1), name="Новый год")
    with django_assert_num_queries(3):
        loaded = Department.objects.prefetch_related("hours", "holidays").get(pk=department.pk)
    with django_assert_num_queries(0):
        assert is_open(loaded, utc(2026, 12, 1, 6, 0)) is True
        assert is_open(loaded, utc(2027, 1, 1, 8, 0)) is False
        assert describe_hours(loaded) == "Mon-Fri 09:00-17:00 Europe/Moscow"
        assert next_opening(loaded, utc(2026, 12, 31, 15, 0)) == utc(2027, 1, 4, 6, 0)


@pytest.mark.django_db
def test_it_says_24x7_for_a_24x7_department_without_querying_hours(django_assert_num_queries):
    department = Department.objects.create(slug="support-test", name="Support", is_24x7=True)
    with django_assert_num_queries(0):
        assert describe_hours(department) == "24x7"
        assert is_open(department, utc(2026, 12, 25, 3, 0)) is True
