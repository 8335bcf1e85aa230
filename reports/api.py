"""`GET /api/v1/reports/kpis` (PROTOCOL §5): the KPIs as JSON or CSV.

The view parses and checks the query (dates, zone, the filters' names),
narrows it to what the caller may see (a supervisor: every department; any
other agent: its own departments, asking for another is a 403), and hands
a `KpiFilters` to `reports.kpis.compute_kpis`. Definitions: docs/kpis.md.
"""

from __future__ import annotations

import csv
import datetime
import io
import uuid
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from crm.models import Organization
from foundation.api_errors import error_responses
from queues.agent_scope import agent_scope
from queues.models import Department
from reports.kpis import KPI_FIELDS, KpiFilters, compute_kpis
from tickets.models import Ticket

router = Router(tags=["reports"])

# A longer period is a different report (and a heavier query): ask per year.
MAX_PERIOD_DAYS = 366
CHANNELS = tuple(Ticket.Channel.values)

Money = float | dict[str, float] | None


class KpiQuery(Schema):
    date_from: str = Field(
        alias="from",
        description="First local day, YYYY-MM-DD (inclusive)",
        json_schema_extra={"example": "2026-03-01"},
    )
    date_to: str = Field(
        alias="to",
        description=f"Last local day, YYYY-MM-DD (inclusive); at most {MAX_PERIOD_DAYS} days",
        json_schema_extra={"example": "2026-03-31"},
    )
    tz: str = Field("UTC", description="IANA time zone the days are read in", max_length=64)
    department: list[str] = Field(
        default_factory=list, description="Department slugs (repeat or comma-separate)"
    )
    agent: list[str] = Field(default_factory=list, description="Agents' usernames")
    channel: list[str] = Field(default_factory=list, description=f"Channels: {', '.join(CHANNELS)}")
    organization: list[str] = Field(
        default_factory=list, description="Organizations' public ids (UUID)"
    )
    product_line: list[str] = Field(default_factory=list, description="Product lines")
    category: list[str] = Field(default_factory=list, description="Customer categories")
    format: Literal["json", "csv"] = Field(
        "json", description="csv: one header row and one row (also with Accept: text/csv)"
    )


class PeriodOut(Schema):
    date_from: str = Field(alias="from")
    date_to: str = Field(alias="to")
    tz: str


class KpisOut(Schema):
    period: PeriodOut
    chats_total: int
    chats_missed: int = Field(description="Ended with no agent reply")
    chats_deflected: int = Field(description='Ended by "This solved my problem"')
    deflection_rate_pct: float | None
    wait_s_median: float | None
    first_response_s_median: float | None
    first_response_s_p90: float | None
    handle_s_median: float | None
    tickets_opened: int
    tickets_solved: int
    resolution_s_median: float | None = Field(
        description="Business seconds, pauses (pending) taken out"
    )
    daily_resolution_rate_pct: float | None
    sla_first_response_met_pct: float | None
    sla_resolution_met_pct: float | None
    csat_avg: float | None
    cost_per_ticket: Money = Field(
        description="One currency: the amount; several: {currency: amount}"
    )
    support_revenue: Money = Field(
        description="One currency: the amount; several: {currency: amount}"
    )
    contract_renewal_rate_pct: float | None
    occupancy_pct: float | None
    logged_in_s: float | None


def _values(raw: list[str]) -> list[str]:
    return [part.strip() for item in raw for part in item.split(",") if part.strip()]


def _date(value: str, name: str) -> datetime.date:
    try:
        day = datetime.date.fromisoformat(value)
    except ValueError:
        raise HttpError(400, f"{name}: expected a date YYYY-MM-DD") from None
    if not 1900 <= day.year <= 9000:
        raise HttpError(400, f"{name}: the year must be between 1900 and 9000")
    return day


def _ids(model: Any, field: str, wanted: list[str], label: str) -> tuple[int, ...]:
    if not wanted:
        return ()
    found = dict(model.objects.filter(**{f"{field}__in": wanted}).values_list(field, "pk"))
    missing = [value for value in wanted if value not in found and str(value) not in found]
    if missing:
        raise HttpError(400, f"unknown {label}: {', '.join(map(str, missing))[:200]}")
    return tuple(found.values())


def filters_from_query(query: KpiQuery, user: Any) -> KpiFilters:
    """The checked filters the caller may see, or HttpError/PermissionDenied."""
    date_from = _date(query.date_from, "from")
    date_to = _date(query.date_to, "to")
    if date_to < date_from:
        raise HttpError(400, "to: the period ends before it starts")
    if (date_to - date_from).days + 1 > MAX_PERIOD_DAYS:
        raise HttpError(400, f"the period is longer than {MAX_PERIOD_DAYS} days")
    try:
        ZoneInfo(query.tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise HttpError(400, "tz: unknown time zone") from None
    channels = _values(query.channel)
    unknown = [channel for channel in channels if channel not in CHANNELS]
    if unknown:
        raise HttpError(400, f"channel: expected one of {', '.join(CHANNELS)}")
    organizations = _values(query.organization)
    for value in organizations:
        try:
            uuid.UUID(value)
        except ValueError:
            raise HttpError(400, "organization: expected public ids (UUID)") from None
    scope = agent_scope(user)
    if scope is None:
        raise PermissionDenied("reports are for agents")
    department_ids = _ids(Department, "slug", _values(query.department), "department")
    if not scope.is_supervisor:
        if not scope.department_ids:
            raise PermissionDenied("you serve no department")
        if not set(department_ids) <= scope.department_ids:
            raise PermissionDenied("you may only see your own departments")
        department_ids = department_ids or tuple(sorted(scope.department_ids))
    agents = _values(query.agent)
    agent_ids = _ids(get_user_model(), "username", agents, "agent")
    organization_ids = _ids(
        Organization, "public_id", [uuid.UUID(v) for v in organizations], "organization"
    )
    return KpiFilters(
        date_from,
        date_to,
        query.tz,
        department_ids=department_ids,
        agent_ids=agent_ids,
        channels=tuple(channels),
        organization_ids=organization_ids,
        product_line_ids=tuple(_values(query.product_line)),
        customer_categories=tuple(_values(query.category)),
    )


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return "; ".join(f"{amount:.2f} {currency}" for currency, amount in value.items())
    return str(value)


def kpis_csv(figures: dict[str, Any], filters: KpiFilters) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["from", "to", "tz", *KPI_FIELDS])
    writer.writerow(
        [
            filters.date_from.isoformat(),
            filters.date_to.isoformat(),
            filters.tz,
            *(_csv_cell(figures[name]) for name in KPI_FIELDS),
        ]
    )
    return out.getvalue()


def _wants_csv(request: HttpRequest, query: KpiQuery) -> bool:
    if query.format == "csv":
        return True
    accept = request.headers.get("Accept", "")
    return "text/csv" in accept and "application/json" not in accept


@router.get(
    "/kpis",
    response={200: KpisOut, **error_responses(400, 403)},
    summary="The KPIs of a period (JSON, or CSV with format=csv or Accept: text/csv)",
    description="Dates are inclusive local days in `tz` (UTC by default). Durations in "
    "seconds, null when there is no data; SLA clocks and resolution count business "
    "hours. Supervisors see every department, other agents their own (another: 403). "
    "Definitions: docs/kpis.md.",
    openapi_extra={
        "responses": {
            200: {
                "description": "OK",
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/KpisOut"}},
                    "text/csv": {"schema": {"type": "string"}},
                },
            }
        }
    },
    by_alias=True,
)
def kpis(request: HttpRequest, query: Query[KpiQuery]):
    filters = filters_from_query(query, request.user)
    figures = compute_kpis(filters)
    if _wants_csv(request, query):
        response = HttpResponse(kpis_csv(figures, filters), content_type="text/csv; charset=utf-8")
        name = f"kpis-{filters.date_from.isoformat()}-{filters.date_to.isoformat()}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    return {
        "period": {
            "from": filters.date_from.isoformat(),
            "to": filters.date_to.isoformat(),
            "tz": filters.tz,
        },
        **figures,
    }


API_ROUTERS = [("/reports", router)]
