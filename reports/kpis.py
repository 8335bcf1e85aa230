"""The KPIs, computed from the event logs and the timestamps actions write.

The public API other modules build on (the console's reports page, the
wall-board, `reports.api`), kept stable:

- `KpiFilters`: the period (local dates, inclusive, in `tz`) and the filters;
- `compute_kpis(filters) -> dict`: every field of PROTOCOL §5 plus
  deflection, occupancy, logged-in time and the daily resolution rate;
- `compute_series(filters, bucket="day") -> list[dict]`: the same per day;
- `drilldown(filters, metric) -> QuerySet`: the conversations or tickets
  behind a number.

Never a counter: every number is recounted from rows (conversations and
their events, tickets and their status events, presence intervals,
expenses, service lines). On PostgreSQL the chat percentiles are
`percentile_cont`, occupancy is multirange arithmetic, and the rows Python
must read (resolution times) come as Unix seconds straight off the cursor;
SQLite computes the same numbers in Python. No data gives `None`.
Measurements: docs/benchmarks.md (KPI section).
Definitions, formulas and edge cases: docs/kpis.md.
"""

from __future__ import annotations

import datetime
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    F,
    FloatField,
    Func,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.fields.json import KT
from django.db.models.functions import TruncDate
from django.utils import timezone

from chat.models import Conversation
from crm.models import ServiceLine, SupportContract
from queues.hours import schedule_of
from queues.models import AgentPresence, Department, PresenceInterval
from reports.clock import BusinessClock
from reports.models import SupportExpense
from tickets.models import Ticket, TicketEvent

UTC = datetime.UTC
CHAT_CHANNEL = "chat"

# The fields of compute_kpis, in the order the CSV writes them.
KPI_FIELDS: tuple[str, ...] = (
    "chats_total",
    "chats_missed",
    "chats_deflected",
    "deflection_rate_pct",
    "wait_s_median",
    "first_response_s_median",
    "first_response_s_p90",
    "handle_s_median",
    "tickets_opened",
    "tickets_solved",
    "resolution_s_median",
    "daily_resolution_rate_pct",
    "sla_first_response_met_pct",
    "sla_resolution_met_pct",
    "csat_avg",
    "cost_per_ticket",
    "support_revenue",
    "contract_renewal_rate_pct",
    "occupancy_pct",
    "logged_in_s",
)

# What compute_series gives per bucket (the trend charts).
SERIES_FIELDS: tuple[str, ...] = (
    "chats_total",
    "chats_missed",
    "chats_deflected",
    "wait_s_median",
    "first_response_s_median",
    "handle_s_median",
    "tickets_opened",
    "tickets_solved",
    "resolution_s_median",
    "sla_first_response_met_pct",
    "sla_resolution_met_pct",
    "csat_avg",
)

# drilldown(metric): the rows behind each number.
CONVERSATION_METRICS = frozenset(
    {
        "chats_total",
        "chats_missed",
        "chats_deflected",
        "deflection_rate_pct",
        "wait_s_median",
        "first_response_s_median",
        "first_response_s_p90",
        "handle_s_median",
        "csat_avg",
    }
)
TICKET_METRICS = frozenset(
    {
        "tickets_opened",
        "tickets_solved",
        "resolution_s_median",
        "daily_resolution_rate_pct",
        "sla_first_response_met_pct",
        "sla_resolution_met_pct",
        "cost_per_ticket",
    }
)
DRILLDOWN_METRICS = CONVERSATION_METRICS | TICKET_METRICS


class UnknownMetric(ValueError):
    pass


@dataclass(frozen=True)
class KpiFilters:
    """A period of local days (both inclusive) in `tz`, and filters (empty: all).

    Ids are primary keys, except `product_line_ids` (the `crm.Product.line`
    names) and `customer_categories` (`crm.Organization.category` values).
    """

    date_from: datetime.date
    date_to: datetime.date
    tz: str = "UTC"
    department_ids: tuple[int, ...] = ()
    agent_ids: tuple[int, ...] = ()
    channels: tuple[str, ...] = ()
    organization_ids: tuple[int, ...] = ()
    product_line_ids: tuple[str, ...] = ()
    customer_categories: tuple[str, ...] = ()
    # Only for tests and the bench: "now" for open clocks (default timezone.now()).
    now: datetime.datetime | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.date_to < self.date_from:
            raise ValueError("date_to is before date_from")
        ZoneInfo(self.tz)  # raises for an unknown zone
        for name in (
            "department_ids",
            "agent_ids",
            "channels",
            "organization_ids",
            "product_line_ids",
            "customer_categories",
        ):
            object.__setattr__(self, name, tuple(getattr(self, name) or ()))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def start(self) -> datetime.datetime:
        """The first moment of `date_from`, local midnight in `tz`."""
        return _local_midnight(self.date_from, self.zone)

    @property
    def end(self) -> datetime.datetime:
        """The first moment after `date_to` (exclusive)."""
        return _local_midnight(self.date_to + datetime.timedelta(days=1), self.zone)

    @property
    def includes_chats(self) -> bool:
        return not self.channels or CHAT_CHANNEL in self.channels

    def days(self) -> list[datetime.date]:
        count = (self.date_to - self.date_from).days + 1
        return [self.date_from + datetime.timedelta(days=n) for n in range(count)]


def _local_midnight(day: datetime.date, zone: ZoneInfo) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(0, 0), tzinfo=zone).astimezone(UTC)


# --- the rows each number counts ---------------------------------------------------------


def conversations_in(filters: KpiFilters) -> QuerySet[Conversation]:
    """Conversations started in the period that match the filters."""
    if not filters.includes_chats:
        return Conversation.objects.none()
    rows = Conversation.objects.filter(created_at__gte=filters.start, created_at__lt=filters.end)
    if filters.department_ids:
        rows = rows.filter(department_id__in=filters.department_ids)
    if filters.agent_ids:
        rows = rows.filter(assigned_agent_id__in=filters.agent_ids)
    if filters.organization_ids:
        rows = rows.filter(contact__organization_id__in=filters.organization_ids)
    if filters.customer_categories:
        rows = rows.filter(contact__organization__category__in=filters.customer_categories)
    if filters.product_line_ids:
        rows = rows.filter(asset__product__line__in=filters.product_line_ids)
    return rows


def tickets_matching(filters: KpiFilters) -> QuerySet[Ticket]:
    """Tickets matching the filters, whatever their dates."""
    rows = Ticket.objects.all()
    if filters.department_ids:
        rows = rows.filter(department_id__in=filters.department_ids)
    if filters.agent_ids:
        rows = rows.filter(assignee_id__in=filters.agent_ids)
    if filters.channels:
        rows = rows.filter(channel__in=filters.channels)
    if filters.organization_ids:
        rows = rows.filter(organization_id__in=filters.organization_ids)
    if filters.customer_categories:
        rows = rows.filter(organization__category__in=filters.customer_categories)
    if filters.product_line_ids:
        rows = rows.filter(asset__product__line__in=filters.product_line_ids)
    return rows


def tickets_opened_in(filters: KpiFilters) -> QuerySet[Ticket]:
    return tickets_matching(filters).filter(
        created_at__gte=filters.start, created_at__lt=filters.end
    )


def tickets_solved_in(filters: KpiFilters) -> QuerySet[Ticket]:
    return tickets_matching(filters).filter(solved_at__gte=filters.start, solved_at__lt=filters.end)


def _with_chat_moments(rows: QuerySet[Conversation]) -> QuerySet[Conversation]:
    """Each conversation with its first assignment and first agent reply.

    Both are columns of the conversation, written by chat.log with the
    event that sets them (`Conversation.first_assigned_at`, `first_reply_at`):
    a plain column read, no join of the events.
    """
    return rows


# --- statistics ----------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's percentile_cont)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = math.ceil(position)
    value = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    return round(value, 1)


def median(values: Sequence[float]) -> float | None:
    return percentile(values, 0.5)


def pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def money(totals: dict[str, Decimal]) -> float | dict[str, float] | None:
    """One currency: the amount; several: {currency: amount}; none: None."""
    rounded = {cur: float(amount.quantize(Decimal("0.01"))) for cur, amount in totals.items()}
    if not rounded:
        return None
    if len(rounded) == 1:
        return next(iter(rounded.values()))
    return dict(sorted(rounded.items()))


# --- the numbers ---------------------------------------------------------------------------


class PercentileCont(Aggregate):
    """PostgreSQL's `percentile_cont(f) WITHIN GROUP (ORDER BY x)` (nulls are skipped)."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        super().__init__(expression, fraction=float(fraction), **extra)


class EpochSeconds(Func):
    """Seconds between two timestamps, on PostgreSQL: `EXTRACT(EPOCH FROM (a - b))`."""

    template = "EXTRACT(EPOCH FROM (%(expressions)s))"
    arg_joiner = " - "
    output_field = FloatField()


def _use_sql_percentiles() -> bool:
    return connection.vendor == "postgresql"


# The key of a figure computed for the whole period (the per-day ones have their date).
WHOLE = None


def _grouped(rows: QuerySet, by_day: str | None, zone: ZoneInfo, **aggregates: Any) -> dict:
    """The aggregates over `rows`: {WHOLE: figures}, or per local day of `by_day`
    (a timestamp field) {date: figures}, in one statement (GROUP BY the date in `zone`)."""
    if by_day is None:
        return {WHOLE: rows.aggregate(**aggregates)}
    grouped = (
        rows.annotate(day=TruncDate(by_day, tzinfo=zone))
        .order_by()
        .values("day")
        .annotate(**aggregates)
    )
    return {row.pop("day"): row for row in grouped}


def _local_day(zone: ZoneInfo) -> Any:
    """Unix seconds to the local date in `zone`."""
    return lambda seconds: datetime.datetime.fromtimestamp(seconds, zone).date()


def _chat_figures(filters: KpiFilters) -> dict[str, Any]:
    return _chat_figures_by(filters, by_day=False).get(WHOLE) or _chat_result({}, {})


def _chat_figures_by(filters: KpiFilters, *, by_day: bool) -> dict[Any, dict[str, Any]]:
    """The chat figures of the period ({WHOLE: ...}) or per local day of the chats' start."""
    Outcome = Conversation.Outcome
    rows = _with_chat_moments(conversations_in(filters))
    aggregates: dict[str, Any] = {
        "total": Count("pk"),
        "missed": Count("pk", filter=Q(outcome=Outcome.MISSED)),
        "deflected": Count("pk", filter=Q(outcome=Outcome.DEFLECTED)),
        "csat_n": Count("rating_score"),
        "csat_sum": Sum("rating_score"),
    }
    day_field = "created_at" if by_day else None
    durations: dict[Any, dict[str, float | None]] = {}
    if _use_sql_percentiles():
        wait = EpochSeconds(F("first_assigned_at"), F("created_at"))
        reply = EpochSeconds(F("first_reply_at"), F("created_at"))
        handle = EpochSeconds(F("closed_at"), F("first_assigned_at"))
        aggregates.update(
            wait=PercentileCont(wait, 0.5),
            reply=PercentileCont(reply, 0.5),
            reply_p90=PercentileCont(reply, 0.9),
            handle=PercentileCont(handle, 0.5),
        )
        found = _grouped(rows, day_field, filters.zone, **aggregates)
        for key, figures in found.items():
            durations[key] = {
                name: None if figures[name] is None else round(figures[name], 1)
                for name in ("wait", "reply", "reply_p90", "handle")
            }
    else:
        found = _grouped(rows, day_field, filters.zone, **aggregates)
        day_of = _local_day(filters.zone)
        waits: dict[Any, list[float]] = defaultdict(list)
        replies: dict[Any, list[float]] = defaultdict(list)
        handles: dict[Any, list[float]] = defaultdict(list)
        for created, closed, assigned, replied in _moments(
            rows.filter(Q(first_assigned_at__isnull=False) | Q(first_reply_at__isnull=False)),
            "created_at",
            "closed_at",
            "first_assigned_at",
            "first_reply_at",
        ):
            key = day_of(created) if by_day else WHOLE
            if assigned is not None:
                waits[key].append(assigned - created)
                if closed is not None:
                    handles[key].append(closed - assigned)
            if replied is not None:
                replies[key].append(replied - created)
        for key in found:
            durations[key] = {
                "wait": median(waits[key]),
                "reply": median(replies[key]),
                "reply_p90": percentile(replies[key], 0.9),
                "handle": median(handles[key]),
            }
    return {key: _chat_result(found[key], durations[key]) for key in found}


def _chat_result(figures: dict[str, Any], durations: dict[str, float | None]) -> dict[str, Any]:
    total = figures.get("total", 0)
    deflected = figures.get("deflected", 0)
    return {
        "chats_total": total,
        "chats_missed": figures.get("missed", 0),
        "chats_deflected": deflected,
        "deflection_rate_pct": pct(deflected, total),
        "wait_s_median": durations.get("wait"),
        "first_response_s_median": durations.get("reply"),
        "first_response_s_p90": durations.get("reply_p90"),
        "handle_s_median": durations.get("handle"),
        "csat_n": figures.get("csat_n", 0),
        "csat_sum": figures.get("csat_sum") or 0,
    }


class _Clocks:
    """One BusinessClock per (department, 24x7 plan) over the span needed."""

    def __init__(self, lo: datetime.datetime, hi: datetime.datetime) -> None:
        self.lo, self.hi = lo, hi
        self.cache: dict[tuple[int, bool], BusinessClock] = {}
        self.departments: dict[int, Department] = {}

    def clock(self, department_id: int, plan_24x7: bool) -> BusinessClock:
        key = (department_id, plan_24x7)
        if key not in self.cache:
            if department_id not in self.departments:
                self.departments[department_id] = Department.objects.prefetch_related(
                    "hours", "holidays"
                ).get(pk=department_id)
            department = self.departments[department_id]
            schedule = schedule_of(department)
            if plan_24x7:
                schedule = replace(schedule, is_24x7=True)
            self.cache[key] = BusinessClock(schedule, self.lo, self.hi)
        return self.cache[key]


def _paused_spans(ticket_ids: Iterable[int]) -> dict[int, list[tuple[float, float | None]]]:
    """Per ticket, the spans (Unix seconds) its resolution clock stood still (pending, solved)."""
    paused_statuses = {str(s) for s in Ticket.PAUSED_STATUSES}
    spans: dict[int, list[tuple[float, float | None]]] = defaultdict(list)
    open_since: dict[int, float] = {}
    # The new status as text (KT), not the decoded JSON payload: one string per row.
    events = (
        TicketEvent.objects.filter(ticket_id__in=ticket_ids, kind=TicketEvent.Kind.STATUS)
        .annotate(new_status=KT("payload__new"))
        .order_by("ticket_id", "seq")
    )
    for ticket_id, new, at in _moments(events, "ticket_id", "new_status", "created_at"):
        if new in paused_statuses:
            open_since.setdefault(ticket_id, at)
        elif ticket_id in open_since:
            spans[ticket_id].append((open_since.pop(ticket_id), at))
    for ticket_id, since in open_since.items():
        spans[ticket_id].append((since, None))
    return spans


def _resolution_seconds(filters: KpiFilters) -> list[tuple[float, float]]:
    """Business seconds from opening to (last) solving, pauses taken out.

    Timestamps are read as Unix seconds (PostgreSQL converts them; turning
    tens of thousands of them into datetimes was most of the report's time).
    Per solved ticket: (when it was solved, in Unix seconds; the duration).
    """
    solved = list(
        _moments(
            tickets_solved_in(filters),
            "pk",
            "department_id",
            "sla_plan__is_24x7",
            "created_at",
            "solved_at",
        )
    )
    if not solved:
        return []
    # Only tickets that ever paused before being solved have status events worth reading.
    paused = _paused_spans(
        tickets_solved_in(filters)
        .filter(
            events__kind=TicketEvent.Kind.STATUS,
            events__payload__new=Ticket.Status.PENDING,
        )
        .values("pk")
    )
    lo = datetime.datetime.fromtimestamp(min(row[3] for row in solved), UTC)
    clocks = _Clocks(lo, filters.end)
    seconds = []
    for pk, department_id, plan_24x7, created, solved_at in solved:
        clock = clocks.clock(department_id, bool(plan_24x7))
        total = clock.seconds(created, solved_at)
        for since, until in paused.get(pk, ()):
            until = min(until or solved_at, solved_at)
            if since < solved_at:
                total -= clock.seconds(max(since, created), until)
        seconds.append((solved_at, max(total, 0.0)))
    return seconds


def tickets_rated_in(filters: KpiFilters) -> QuerySet[Ticket]:
    """Tickets matching the filters whose (latest) rating was given in the period."""
    return tickets_matching(filters).filter(
        rated_at__gte=filters.start, rated_at__lt=filters.end, rating_score__isnull=False
    )


def _csat(filters: KpiFilters, chats: dict[str, Any]) -> float | None:
    """The mean of every rating: the period's rated chats and the tickets rated in it."""
    tickets = tickets_rated_in(filters).aggregate(n=Count("pk"), total=Sum("rating_score"))
    return _csat_mean(chats, tickets["n"], tickets["total"])


def _csat_mean(chats: dict[str, Any], ticket_n: int, ticket_sum: int | None) -> float | None:
    count = chats["csat_n"] + ticket_n
    if not count:
        return None
    return round((chats["csat_sum"] + (ticket_sum or 0)) / count, 2)


def _ticket_figures(filters: KpiFilters, now: datetime.datetime) -> dict[str, Any]:
    return _ticket_figures_by(filters, now, by_day=False)[WHOLE]


def _ticket_figures_by(
    filters: KpiFilters, now: datetime.datetime, *, by_day: bool
) -> dict[Any, dict[str, Any]]:
    """The ticket figures of the period ({WHOLE: ...}), or per local day: opened
    tickets and their SLAs by the day they were opened, resolutions by the day solved."""
    zone = filters.zone
    fr_due, res_due = F("first_response_due"), F("resolution_due")
    fr_decided = Q(first_response_due__isnull=False) & (
        Q(first_responded_at__isnull=False) | Q(first_response_due__lt=now)
    )
    res_decided = Q(resolution_due__isnull=False) & (
        Q(solved_at__isnull=False) | Q(resolution_due__lt=now)
    )
    opened = _grouped(
        tickets_opened_in(filters).annotate(
            opened_day=TruncDate("created_at", tzinfo=zone),
            solved_day=TruncDate("solved_at", tzinfo=zone),
        ),
        "created_at" if by_day else None,
        zone,
        opened=Count("pk"),
        same_day=Count("pk", filter=Q(solved_day=F("opened_day"))),
        fr_decided=Count("pk", filter=fr_decided),
        fr_met=Count("pk", filter=fr_decided & Q(first_responded_at__lte=fr_due)),
        res_decided=Count("pk", filter=res_decided),
        res_met=Count("pk", filter=res_decided & Q(solved_at__lte=res_due)),
    )
    solved = _resolution_figures_by(filters, by_day=by_day)
    return {
        key: _ticket_result(opened.get(key, {}), solved.get(key, (0, None)))
        for key in set(opened) | set(solved)
    }


def _resolution_figures_by(filters: KpiFilters, *, by_day: bool) -> dict[Any, tuple[int, Any]]:
    """(tickets solved, median resolution time) of the period or per local day solved.

    The resolution time of each ticket is `Ticket.resolution_s`, fixed when it
    was solved (tickets.sla.resolution_seconds): a column read and, on
    PostgreSQL, `percentile_cont` in the same statement.
    """
    solved = tickets_solved_in(filters).order_by()
    day_field = "solved_at" if by_day else None
    if _use_sql_percentiles():
        found = _grouped(
            solved,
            day_field,
            filters.zone,
            n=Count("pk"),
            p50=PercentileCont(F("resolution_s"), 0.5),
        )
        return {
            key: (row["n"], None if row["p50"] is None else round(row["p50"], 1))
            for key, row in found.items()
            if row["n"]
        }
    values: dict[Any, list[float]] = defaultdict(list)
    counts: dict[Any, int] = defaultdict(int)
    day_of = _local_day(filters.zone)
    for seconds, solved_at in _moments(solved, "resolution_s", "solved_at"):
        key = day_of(solved_at) if by_day else WHOLE
        counts[key] += 1
        if seconds is not None:
            values[key].append(seconds)
    return {key: (count, median(values[key])) for key, count in counts.items()}


def _ticket_result(figures: dict[str, Any], solved: tuple[int, Any]) -> dict[str, Any]:
    def n(name: str) -> int:
        return figures.get(name) or 0

    return {
        "tickets_opened": n("opened"),
        "tickets_solved": solved[0],
        "resolution_s_median": solved[1],
        "daily_resolution_rate_pct": pct(n("same_day"), n("opened")),
        "sla_first_response_met_pct": pct(n("fr_met"), n("fr_decided")),
        "sla_resolution_met_pct": pct(n("res_met"), n("res_decided")),
    }


def _expenses(filters: KpiFilters) -> dict[str, Decimal]:
    """Expenses spread evenly over their days; the period's share, per currency."""
    rows = SupportExpense.objects.filter(
        period_start__lte=filters.date_to, period_end__gte=filters.date_from
    )
    if filters.department_ids:
        rows = rows.filter(department_id__in=filters.department_ids)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for start, end, amount, currency in rows.values_list(
        "period_start", "period_end", "amount", "currency"
    ):
        days = (end - start).days + 1
        overlap = (min(end, filters.date_to) - max(start, filters.date_from)).days + 1
        totals[currency] += amount * overlap / days
    return totals


def cost_per_ticket(filters: KpiFilters) -> float | dict[str, float] | None:
    """The period's expenses (of the departments asked for) over the tickets they opened.

    Only the department filter applies to both sides: expenses are not
    kept per agent, channel or customer (docs/kpis.md).
    """
    scope = KpiFilters(
        filters.date_from, filters.date_to, filters.tz, department_ids=filters.department_ids
    )
    opened = tickets_opened_in(scope).count()
    if not opened:
        return None
    expenses = _expenses(scope)
    return money({cur: amount / opened for cur, amount in expenses.items()})


def _revenue(filters: KpiFilters) -> dict[str, Decimal]:
    rows = ServiceLine.objects.filter(date__gte=filters.date_from, date__lte=filters.date_to)
    if filters.organization_ids:
        rows = rows.filter(organization_id__in=filters.organization_ids)
    if filters.customer_categories:
        rows = rows.filter(organization__category__in=filters.customer_categories)
    if filters.product_line_ids:
        rows = rows.filter(product__line__in=filters.product_line_ids)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for currency, amount in rows.values_list("currency", "amount"):
        totals[currency] += amount
    return totals


def renewal_rate(filters: KpiFilters) -> float | None:
    """Of the contracts that ended in the period, the share some contract renews."""
    ending = SupportContract.objects.filter(
        ends_on__gte=filters.date_from, ends_on__lte=filters.date_to
    )
    if filters.organization_ids:
        ending = ending.filter(organization_id__in=filters.organization_ids)
    if filters.customer_categories:
        ending = ending.filter(organization__category__in=filters.customer_categories)
    total = ending.count()
    renewed = ending.filter(renewals__isnull=False).distinct().count() if total else 0
    return pct(renewed, total)


class Epoch(Func):
    """A timestamp as Unix seconds on PostgreSQL, as a double (cheaper to read than a datetime,
    and than the `numeric` EXTRACT gives since PostgreSQL 14)."""

    template = "EXTRACT(EPOCH FROM %(expressions)s)::double precision"
    output_field = FloatField()


def _moments(rows: QuerySet, *fields: str) -> Iterable[tuple]:
    """`values_list` of the fields, the timestamps as Unix seconds (None stays None).

    On PostgreSQL the query runs on the cursor directly: the rows are plain
    ints, strings and floats already, and Django's per-value converters were
    a third of the time of reading tens of thousands of them.
    """
    names = [name for name in fields if not name.endswith("_at")]
    stamps = [name for name in fields if name.endswith("_at")]
    if connection.vendor == "postgresql":
        rows = rows.annotate(**{f"{name}_epoch": Epoch(F(name)) for name in stamps})
        query = rows.values_list(*names, *(f"{name}_epoch" for name in stamps)).query
        try:
            sql, params = query.get_compiler(using=rows.db).as_sql()
        except EmptyResultSet:  # e.g. `pk__in=[]`
            return []
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            found = cursor.fetchall()
        # DISTINCT with an ordering appends the ordering's columns: cut them off.
        if found and len(found[0]) > len(fields):
            return [row[: len(fields)] for row in found]
        return found
    return (
        (*row[: len(names)], *(None if v is None else v.timestamp() for v in row[len(names) :]))
        for row in rows.values_list(*names, *stamps)
    )


def _clip(start: float, end: float | None, lo: float, hi: float) -> tuple[float, float] | None:
    start = max(start, lo)
    end = min(hi if end is None else end, hi)
    return (start, end) if end > start else None


def _union(spans: list[tuple[float, float]]) -> list[list[float]]:
    merged: list[list[float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def _overlap(a: list[list[float]], b: list[list[float]]) -> float:
    """Seconds in both of two sorted lists of disjoint spans."""
    total = 0.0
    i = j = 0
    while i < len(a) and j < len(b):
        start = max(a[i][0], b[j][0])
        end = min(a[i][1], b[j][1])
        if end > start:
            total += end - start
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


def presence_figures(filters: KpiFilters, now: datetime.datetime) -> dict[str, Any]:
    """Logged-in time and occupancy from presence history and chat assignments."""
    hi_at = min(filters.end, now)
    lo_at = filters.start
    hi, lo = hi_at.timestamp(), lo_at.timestamp()
    intervals = PresenceInterval.objects.filter(started_at__lt=hi_at).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=lo_at)
    )
    if filters.agent_ids:
        intervals = intervals.filter(user_id__in=filters.agent_ids)
    if filters.department_ids:
        intervals = intervals.filter(
            user__agent_profile__departments__in=filters.department_ids
        ).distinct()
    if connection.vendor == "postgresql":
        return _presence_in_sql(intervals, lo_at, hi_at)
    logged_in = 0.0
    online: dict[int, list] = defaultdict(list)
    for user_id, status, started, ended in _moments(
        intervals, "user_id", "status", "started_at", "ended_at"
    ):
        span = _clip(started, ended, lo, hi)
        if span is None:
            continue
        logged_in += span[1] - span[0]
        if status == AgentPresence.Status.ONLINE:
            online[user_id].append(span)
    if not online and not logged_in:
        return {"occupancy_pct": None, "logged_in_s": None}
    busy_total = online_total = 0.0
    chats = Conversation.objects.filter(
        assigned_agent_id__in=list(online), assigned_at__lt=hi_at
    ).filter(Q(closed_at__isnull=True) | Q(closed_at__gt=lo_at))
    busy: dict[int, list] = defaultdict(list)
    for agent_id, assigned, closed in _moments(
        chats, "assigned_agent_id", "assigned_at", "closed_at"
    ):
        span = _clip(assigned, closed, lo, hi)
        if span is not None:
            busy[agent_id].append(span)
    for user_id, spans in online.items():
        merged_online = _union(spans)
        online_total += sum(e - s for s, e in merged_online)
        busy_total += _overlap(merged_online, _union(busy.get(user_id, [])))
    return {
        "occupancy_pct": pct_float(busy_total, online_total),
        "logged_in_s": round(logged_in, 1),
    }


# Logged-in time, and occupancy as the overlap of each agent's online time with the
# time they held a chat, all in one statement: `range_agg` merges an agent's spans into
# a multirange, `*` intersects two of them (PostgreSQL 14+). The spans are clipped to
# the period [lo, hi) first; `x` is the presence intervals of the filters.
_PRESENCE_SQL = """
WITH x AS ({intervals}),
clipped AS (
    SELECT user_id, status, GREATEST(started_at, %s) AS s, LEAST(COALESCE(ended_at, %s), %s) AS e
    FROM x
),
spans AS (SELECT * FROM clipped WHERE e > s),
online AS (
    SELECT user_id, range_agg(tstzrange(s, e)) AS m FROM spans WHERE status = %s GROUP BY user_id
),
busy AS (
    SELECT assigned_agent_id AS user_id,
           range_agg(tstzrange(GREATEST(assigned_at, %s), LEAST(COALESCE(closed_at, %s), %s))) AS m
    FROM chat_conversation
    WHERE assigned_agent_id IN (SELECT user_id FROM online)
      AND assigned_at < %s AND (closed_at IS NULL OR closed_at > %s)
      AND GREATEST(assigned_at, %s) < LEAST(COALESCE(closed_at, %s), %s)
    GROUP BY assigned_agent_id
)
SELECT
    (SELECT SUM(EXTRACT(EPOCH FROM e - s)) FROM spans)::double precision,
    (SELECT SUM(EXTRACT(EPOCH FROM upper(r) - lower(r))) FROM online, unnest(online.m) r)
        ::double precision,
    (SELECT SUM(EXTRACT(EPOCH FROM upper(r) - lower(r)))
     FROM online JOIN busy USING (user_id), unnest(online.m * busy.m) r)::double precision
"""


def _presence_in_sql(
    intervals: QuerySet, lo: datetime.datetime, hi: datetime.datetime
) -> dict[str, Any]:
    """presence_figures on PostgreSQL: the same numbers, without reading the rows."""
    query = intervals.order_by().values("user_id", "status", "started_at", "ended_at").query
    try:
        inner, inner_params = query.get_compiler(using=intervals.db).as_sql()
    except EmptyResultSet:
        return {"occupancy_pct": None, "logged_in_s": None}
    params = [
        *inner_params,
        lo, hi, hi,  # clipped
        str(AgentPresence.Status.ONLINE),
        lo, hi, hi,  # busy spans
        hi, lo,
        lo, hi, hi,
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(_PRESENCE_SQL.format(intervals=inner), params)
        logged_in, online_total, busy_total = cursor.fetchone()
    if not logged_in:
        return {"occupancy_pct": None, "logged_in_s": None}
    return {
        "occupancy_pct": pct_float(busy_total or 0.0, online_total or 0.0),
        "logged_in_s": round(logged_in, 1),
    }


def pct_float(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def compute_kpis(filters: KpiFilters) -> dict[str, Any]:
    """Every KPI of the period and filters (see docs/kpis.md), keys as in KPI_FIELDS."""
    now = filters.now or timezone.now()
    result: dict[str, Any] = {}
    chats = _chat_figures(filters)
    result.update(chats)
    result["csat_avg"] = _csat(filters, chats)
    result.update(_ticket_figures(filters, now))
    result["cost_per_ticket"] = cost_per_ticket(filters)
    result["support_revenue"] = money(_revenue(filters))
    result["contract_renewal_rate_pct"] = renewal_rate(filters)
    result.update(presence_figures(filters, now))
    return {name: result[name] for name in KPI_FIELDS}


def compute_series(filters: KpiFilters, bucket: str = "day") -> list[dict[str, Any]]:
    """Per local day of the period: {"date": "YYYY-MM-DD", <SERIES_FIELDS>}.

    One pass per kind of figure grouped by local day (not a report per day):
    chats by the day they started, opened tickets and SLAs by the day they
    were opened, resolutions by the day solved, ticket ratings by the day given.
    """
    if bucket != "day":
        raise ValueError("only daily buckets are supported")
    now = filters.now or timezone.now()
    chats = _chat_figures_by(filters, by_day=True)
    tickets = _ticket_figures_by(filters, now, by_day=True)
    rated = _grouped(
        tickets_rated_in(filters),
        "rated_at",
        filters.zone,
        n=Count("pk"),
        total=Sum("rating_score"),
    )
    no_chats = _chat_result({}, {})
    no_tickets = _ticket_result({}, (0, None))
    series = []
    for day in filters.days():
        day_chats = chats.get(day, no_chats)
        day_rated = rated.get(day, {"n": 0, "total": None})
        figures = {
            **day_chats,
            **tickets.get(day, no_tickets),
            "csat_avg": _csat_mean(day_chats, day_rated["n"], day_rated["total"]),
        }
        series.append({"date": day.isoformat(), **{k: figures[k] for k in SERIES_FIELDS}})
    return series


def drilldown(filters: KpiFilters, metric: str) -> QuerySet:
    """The conversations or tickets a number was computed from.

    Conversation metrics give `Conversation` rows, ticket metrics `Ticket`
    rows; for a rate, the rows of its denominator (the chats counted, the
    tickets decided), for a median the rows that have the duration.
    """
    if metric not in DRILLDOWN_METRICS:
        raise UnknownMetric(metric)
    now = filters.now or timezone.now()
    if metric in CONVERSATION_METRICS:
        rows = conversations_in(filters)
        Outcome = Conversation.Outcome
        if metric == "chats_missed":
            return rows.filter(outcome=Outcome.MISSED)
        if metric == "chats_deflected":
            return rows.filter(outcome=Outcome.DEFLECTED)
        if metric == "csat_avg":
            return rows.filter(rating_score__isnull=False)
        if metric in ("wait_s_median", "handle_s_median", "first_response_s_median",
                      "first_response_s_p90"):  # fmt: skip
            moments = _with_chat_moments(rows)
            if metric == "wait_s_median":
                return moments.filter(first_assigned_at__isnull=False)
            if metric == "handle_s_median":
                return moments.filter(first_assigned_at__isnull=False, closed_at__isnull=False)
            return moments.filter(first_reply_at__isnull=False)
        return rows
    if metric in ("tickets_solved", "resolution_s_median"):
        return tickets_solved_in(filters)
    opened = tickets_opened_in(filters)
    if metric == "sla_first_response_met_pct":
        return opened.filter(first_response_due__isnull=False).filter(
            Q(first_responded_at__isnull=False) | Q(first_response_due__lt=now)
        )
    if metric == "sla_resolution_met_pct":
        return opened.filter(resolution_due__isnull=False).filter(
            Q(solved_at__isnull=False) | Q(resolution_due__lt=now)
        )
    return opened


__all__ = [
    "DRILLDOWN_METRICS",
    "KPI_FIELDS",
    "SERIES_FIELDS",
    "KpiFilters",
    "UnknownMetric",
    "compute_kpis",
    "compute_series",
    "drilldown",
]
