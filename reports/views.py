"""`/console/reports/`: the managers' reports page, and the drill-down behind every number.

Thin views over `reports.kpis` (the one computation the API uses too): the
GET form (`reports.forms`) becomes `KpiFilters`; the page shows the KPI
tiles, daily trends and a distribution as server-rendered SVG
(`reports.charts`, each chart followed by its numbers as a table), and the
targets (`KpiTarget`) against what was measured. Every number links to
`/console/reports/drilldown/?metric=…` with the same filters: the chats and
tickets it was computed from, each linking to its console page. Works
without JavaScript. Any agent may open it; an agent who is no supervisor
sees only their own departments (`ReportFilterForm`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from chat.models import Conversation
from reports import charts
from reports.forms import ReportFilterForm, with_default_period
from reports.kpis import (
    CONVERSATION_METRICS,
    DRILLDOWN_METRICS,
    compute_kpis,
    compute_series,
    drilldown,
)
from reports.models import KpiTarget
from reports.wallboard import duration
from tickets.console.access import agent_required

DRILLDOWN_LIMIT = 200
PATH = "/console/reports/"
DRILLDOWN_PATH = "/console/reports/drilldown/"

# The tiles, in order: metric, label.
TILES: tuple[tuple[str, Any], ...] = (
    ("chats_total", gettext_lazy("Chats")),
    ("chats_missed", gettext_lazy("Missed chats")),
    ("wait_s_median", gettext_lazy("Median wait")),
    ("first_response_s_median", gettext_lazy("Median first response")),
    ("first_response_s_p90", gettext_lazy("90th percentile first response")),
    ("handle_s_median", gettext_lazy("Median handle time")),
    ("tickets_opened", gettext_lazy("Tickets opened")),
    ("tickets_solved", gettext_lazy("Tickets solved")),
    ("resolution_s_median", gettext_lazy("Median resolution")),
    ("sla_first_response_met_pct", gettext_lazy("First-response SLA met")),
    ("sla_resolution_met_pct", gettext_lazy("Resolution SLA met")),
    ("csat_avg", gettext_lazy("CSAT")),
    ("deflection_rate_pct", gettext_lazy("Deflection")),
    ("occupancy_pct", gettext_lazy("Occupancy")),
    ("cost_per_ticket", gettext_lazy("Cost per ticket")),
)

# First-response distribution: upper bounds (seconds) of each bin; the last is open.
FIRST_RESPONSE_BINS: tuple[int, ...] = (30, 60, 120, 300, 900, 3600)


def display(metric: str, value: Any) -> str:
    """A KPI as a person reads it: durations as m:ss, rates with %, money with its currency."""
    if value is None:
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{amount:,.2f} {currency}" for currency, amount in value.items())
    if "_s_" in metric or metric.endswith("_s"):
        return duration(round(value))
    if metric.endswith("_pct"):
        return f"{value:g} %"
    if metric == "csat_avg":
        return f"{value:.2f}"
    if metric == "cost_per_ticket":
        return f"{value:,.2f}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _formatter(metric: str) -> Callable[[float | None], str]:
    return lambda value: display(metric, value)


@dataclass(frozen=True)
class Tile:
    metric: str
    label: str
    value: Any
    display: str
    link: str


def _tiles(form: ReportFilterForm, kpis: dict[str, Any]) -> list[Tile]:
    return [
        Tile(
            metric=metric,
            label=str(label),
            value=kpis.get(metric),
            display=display(metric, kpis.get(metric)),
            link=f"{DRILLDOWN_PATH}?{form.query(metric=metric)}"
            if metric in DRILLDOWN_METRICS
            else "",
        )
        for metric, label in TILES
    ]


def _trend_charts(form: ReportFilterForm, series: list[dict[str, Any]]) -> list[charts.Chart]:
    labels = [row["date"][5:] for row in series]  # MM-DD

    def links(metric: str) -> list[str]:
        return [
            f"{DRILLDOWN_PATH}?{form.query(metric=metric, date_from=row['date'], date_to=row['date'])}"
            for row in series
        ]

    def values(metric: str) -> list[Any]:
        return [row[metric] for row in series]

    return [
        charts.bar_chart(
            _("Chats per day"), labels, values("chats_total"), links=links("chats_total")
        ),
        charts.bar_chart(
            _("Tickets solved per day"),
            labels,
            values("tickets_solved"),
            links=links("tickets_solved"),
        ),
        charts.line_chart(
            _("Median first response per day"),
            labels,
            values("first_response_s_median"),
            fmt=_formatter("first_response_s_median"),
            links=links("first_response_s_median"),
        ),
        charts.line_chart(
            _("Resolution SLA met per day"),
            labels,
            values("sla_resolution_met_pct"),
            fmt=_formatter("sla_resolution_met_pct"),
            links=links("sla_resolution_met_pct"),
        ),
        charts.line_chart(
            _("CSAT per day"),
            labels,
            values("csat_avg"),
            fmt=_formatter("csat_avg"),
            links=links("csat_avg"),
        ),
    ]


def first_response_bins(seconds: list[float]) -> list[tuple[str, int]]:
    """(label, count) per bin of FIRST_RESPONSE_BINS, the last one open-ended."""
    counts = [0] * (len(FIRST_RESPONSE_BINS) + 1)
    for value in seconds:
        index = next(
            (n for n, bound in enumerate(FIRST_RESPONSE_BINS) if value < bound),
            len(FIRST_RESPONSE_BINS),
        )
        counts[index] += 1
    labels = []
    lower = 0
    for bound in FIRST_RESPONSE_BINS:
        labels.append(f"{duration(lower)}–{duration(bound)}")
        lower = bound
    labels.append(f"≥ {duration(lower)}")
    return list(zip(labels, counts, strict=True))


def _distribution(form: ReportFilterForm) -> charts.Chart:
    rows = drilldown(form.kpi_filters(), "first_response_s_median").values_list(
        "created_at", "first_reply_at"
    )
    seconds = [(replied - created).total_seconds() for created, replied in rows]
    bins = first_response_bins(seconds)
    return charts.bar_chart(
        _("First response times (chats)"),
        [label for label, _count in bins],
        [count for _label, count in bins],
    )


@dataclass(frozen=True)
class TargetRow:
    target: KpiTarget
    who: str
    label: str
    goal: float
    goal_display: str
    actual: Any
    actual_display: str
    met: bool | None
    link: str


def _target_rows(form: ReportFilterForm) -> list[TargetRow]:
    scope = form.scope
    targets = KpiTarget.objects.select_related("department", "agent")
    if not scope.is_supervisor:
        targets = targets.filter(department__in=scope.department_ids) | targets.filter(
            agent__agent_profile__departments__in=scope.department_ids
        )
    days = (form.cleaned_data["date_to"] - form.cleaned_data["date_from"]).days + 1
    cache: dict[tuple[str, int], dict[str, Any]] = {}
    rows = []
    for target in targets.distinct().order_by("department__name", "agent__username", "metric"):
        key = (
            ("department", target.department_id)
            if target.department_id
            else ("agent", target.agent_id)
        )
        overrides = (
            {"department_ids": (target.department_id,), "agent_ids": ()}
            if target.department_id
            else {"agent_ids": (target.agent_id,)}
        )
        if key not in cache:
            cache[key] = compute_kpis(form.kpi_filters(**overrides))
        actual = cache[key].get(target.metric)
        goal = target.value_for_days(days)
        met = None
        if actual is not None:
            met = actual <= goal if target.lower_is_better else actual >= goal
        who = (
            target.department.name
            if target.department
            else (target.agent.get_full_name() or target.agent.get_username())
        )
        link = ""
        if target.metric in DRILLDOWN_METRICS:
            extra = (
                {"department": target.department_id, "agent": ""}
                if target.department_id
                else {"agent": target.agent_id}
            )
            link = f"{DRILLDOWN_PATH}?{form.query(metric=target.metric, **extra)}"
        rows.append(
            TargetRow(
                target=target,
                who=who,
                label=str(target.get_metric_display()),
                goal=goal,
                goal_display=display(target.metric, goal),
                actual=actual,
                actual_display=display(target.metric, actual),
                met=met,
                link=link,
            )
        )
    return rows


@require_GET
@never_cache
@agent_required
def reports_page(request: HttpRequest) -> HttpResponse:
    form = ReportFilterForm(with_default_period(request.GET), scope=request.agent_scope)  # type: ignore[attr-defined]
    if not form.is_valid():
        return render(
            request,
            "reports/reports.html",
            {"form": form, "console_section": "reports"},
            status=400,
        )
    filters = form.kpi_filters()
    kpis = compute_kpis(filters)
    series = compute_series(filters)
    context = {
        "form": form,
        "console_section": "reports",
        "tiles": _tiles(form, kpis),
        "charts": _trend_charts(form, series),
        "distribution": _distribution(form),
        "targets": _target_rows(form),
        "period": filters,
    }
    return render(request, "reports/reports.html", context)


@require_GET
@never_cache
@agent_required
def drilldown_page(request: HttpRequest) -> HttpResponse:
    form = ReportFilterForm(request.GET, scope=request.agent_scope)  # type: ignore[attr-defined]
    metric = request.GET.get("metric", "")
    if metric not in DRILLDOWN_METRICS or not form.is_valid():
        return render(
            request,
            "reports/drilldown.html",
            {"form": form, "console_section": "reports", "invalid": True},
            status=400,
        )
    rows = drilldown(form.kpi_filters(), metric)
    is_chats = metric in CONVERSATION_METRICS
    if is_chats:
        rows = rows.select_related("department", "assigned_agent", "visitor").order_by(
            "-created_at"
        )
    else:
        rows = rows.select_related("department", "assignee").order_by("-created_at")
    total = rows.count()
    label = dict(TILES).get(metric, metric)
    return render(
        request,
        "reports/drilldown.html",
        {
            "form": form,
            "console_section": "reports",
            "metric": metric,
            "metric_label": label,
            "is_chats": is_chats,
            "rows": list(rows[:DRILLDOWN_LIMIT]),
            "total": total,
            "limit": DRILLDOWN_LIMIT,
            "back": f"{PATH}?{form.query()}",
            "states": dict(Conversation.State.choices),
        },
    )
