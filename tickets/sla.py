"""SLA clocks: which plan applies, and time counted in business hours.

The plan is the one of the contact's organization's active support contract
(the highest-priority one if several are active); otherwise the default plan,
the `SlaPlan` named by the setting `CHATPORTAL_DEFAULT_SLA` (default
"Standard"; the demo seed creates it). No plan at all means no clocks.

Time counts only while the department is open (its weekly hours, holidays
and time zone, the rules of `queues.hours`) unless the plan is 24x7 or the
department itself is open 24x7. While a ticket is `pending` (waiting on the
customer) its resolution clock is paused: leaving `pending` moves the due
time later by the business time spent there. Solving stops the clocks (and
a reopened ticket does not count the time it spent solved either). The
first-response clock is met by the first public agent reply.

The math works on a `Schedule` and plain aware datetimes, so it is tested
as a table without a database.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone

from queues.hours import ONE_DAY, Schedule, local_moment, schedule_of
from tickets.models import Ticket, TicketEvent

if TYPE_CHECKING:
    from crm.models import Contact, SlaPlan
    from queues.models import Department

logger = logging.getLogger(__name__)

# A schedule with no opening in this many days counts calendar time instead:
# a misconfigured department must not make a due time infinitely far away.
HORIZON_DAYS = 400
_MIDNIGHT = datetime.time(0, 0)


def business_windows(
    schedule: Schedule, start: datetime.datetime
) -> Iterator[tuple[datetime.datetime, datetime.datetime]]:
    """The open periods `[opens, closes)` that end after `start`, in order, merged."""
    if start.tzinfo is None:
        raise ValueError("an aware datetime is required")
    zone = schedule.zone
    # All arithmetic in UTC: Python adds and subtracts datetimes that share a
    # tzinfo in wall-clock time, which is wrong across a DST switch.
    start = start.astimezone(datetime.UTC)
    first_day = start.astimezone(zone).date() - ONE_DAY  # an overnight shift from yesterday
    pending: tuple[datetime.datetime, datetime.datetime] | None = None
    for offset in range(HORIZON_DAYS + 2):
        day = first_day + offset * ONE_DAY
        if day in schedule.holidays:
            continue
        for interval in schedule.intervals_on(day.weekday()):
            opens = local_moment(day, interval.opens, zone).astimezone(datetime.UTC)
            if interval.overnight:
                next_day = day + ONE_DAY
                # A holiday closes its whole local day, overnight shifts included.
                closes_wall = _MIDNIGHT if next_day in schedule.holidays else interval.closes
                closes = local_moment(next_day, closes_wall, zone)
            else:
                closes = local_moment(day, interval.closes, zone)
            closes = closes.astimezone(datetime.UTC)
            if closes <= start or closes <= opens:
                continue
            opens = max(opens, start)
            if pending is None:
                pending = (opens, closes)
            elif opens <= pending[1]:
                pending = (pending[0], max(pending[1], closes))
            else:
                yield pending
                pending = (opens, closes)
    if pending is not None:
        yield pending


def _is_calendar(schedule: Schedule) -> bool:
    return schedule.is_24x7 or not schedule.intervals


def add_business_seconds(
    schedule: Schedule, start: datetime.datetime, seconds: float
) -> datetime.datetime:
    """The moment `seconds` of open time after `start` (in UTC)."""
    if seconds <= 0:
        return start
    if _is_calendar(schedule):
        if not schedule.is_24x7:
            logger.warning("department without business hours: SLA counts calendar time")
        return start.astimezone(datetime.UTC) + datetime.timedelta(seconds=seconds)
    remaining = datetime.timedelta(seconds=seconds)
    for opens, closes in business_windows(schedule, start):
        span = closes - opens
        if remaining <= span:
            return opens + remaining
        remaining -= span
    logger.warning("no business hours within %s days: SLA counts calendar time", HORIZON_DAYS)
    return start.astimezone(datetime.UTC) + datetime.timedelta(seconds=seconds)


def add_business_minutes(
    schedule: Schedule, start: datetime.datetime, minutes: float
) -> datetime.datetime:
    return add_business_seconds(schedule, start, minutes * 60)


def business_seconds_between(
    schedule: Schedule, start: datetime.datetime, end: datetime.datetime
) -> float:
    """Open time in `[start, end)`; 0 if `end` is not after `start`."""
    if end <= start:
        return 0.0
    end = end.astimezone(datetime.UTC)
    if _is_calendar(schedule):
        return (end.astimezone(datetime.UTC) - start.astimezone(datetime.UTC)).total_seconds()
    total = 0.0
    for opens, closes in business_windows(schedule, start):
        if opens >= end:
            break
        total += (min(closes, end) - opens).total_seconds()
    return total


# --- plans and due times -------------------------------------------------------------


def plan_for(contact: Contact | None, *, on: datetime.date | None = None) -> SlaPlan | None:
    """The contact's organization's active contract plan, else the default plan."""
    from crm.models import SlaPlan, SupportContract

    on = on or timezone.localdate()
    if contact is not None and contact.organization_id is not None:
        contract = (
            SupportContract.objects.filter(
                organization_id=contact.organization_id, starts_on__lte=on, ends_on__gte=on
            )
            .select_related("plan")
            .order_by("-plan__priority", "-ends_on")
            .first()
        )
        if contract is not None:
            return contract.plan
    name = getattr(settings, "CHATPORTAL_DEFAULT_SLA", "Standard")
    if not name:
        return None
    return SlaPlan.objects.filter(name=name).first()


def clock_schedule(plan: SlaPlan, department: Department | Schedule) -> Schedule:
    """The schedule the plan's clocks run on: the department's, unless the plan is 24x7."""
    if isinstance(department, Schedule):
        base = department
    else:
        if plan.is_24x7 or department.is_24x7:
            return Schedule(time_zone=department.time_zone, is_24x7=True)
        base = schedule_of(department)
    if plan.is_24x7:
        return Schedule(time_zone=base.time_zone, is_24x7=True)
    return base


def due_times(
    plan: SlaPlan, schedule: Schedule, start: datetime.datetime
) -> tuple[datetime.datetime, datetime.datetime]:
    """(first response due, resolution due) for a ticket opened at `start`."""
    return (
        add_business_minutes(schedule, start, plan.first_response_minutes),
        add_business_minutes(schedule, start, plan.resolution_minutes),
    )


def resume_after_pending(
    schedule: Schedule,
    due: datetime.datetime,
    paused_from: datetime.datetime,
    now: datetime.datetime,
) -> datetime.datetime:
    """The resolution due after a pause: later by the business time spent pending."""
    return add_business_seconds(schedule, due, business_seconds_between(schedule, paused_from, now))


def warn_before() -> datetime.timedelta:
    return datetime.timedelta(seconds=getattr(settings, "CHATPORTAL_SLA_WARN_BEFORE_S", 1800))


def resolution_seconds(ticket: Any, schedule: Schedule, solved_at: datetime.datetime) -> float:
    """Business seconds from the ticket's opening to `solved_at`, paused time taken out.

    Paused: from a `pending` or `solved` status to the next status change,
    read from the `status` events, for tickets that were ever pending (the
    KPI definition, docs/kpis.md). Called when the ticket is solved.
    """
    total = business_seconds_between(schedule, ticket.created_at, solved_at)
    events = TicketEvent.objects.filter(ticket_id=ticket.pk, kind=TicketEvent.Kind.STATUS)
    if not events.filter(payload__new=Ticket.Status.PENDING).exists():
        return max(total, 0.0)
    paused_statuses = {str(status) for status in Ticket.PAUSED_STATUSES}
    spans: list[tuple[datetime.datetime, datetime.datetime | None]] = []
    since: datetime.datetime | None = None
    for payload, at in events.order_by("seq").values_list("payload", "created_at"):
        if payload.get("new") in paused_statuses:
            since = since or at
        elif since is not None:
            spans.append((since, at))
            since = None
    if since is not None:
        spans.append((since, None))
    for start, until in spans:
        if start < solved_at:
            end = min(until or solved_at, solved_at)
            total -= business_seconds_between(schedule, max(start, ticket.created_at), end)
    return max(total, 0.0)
