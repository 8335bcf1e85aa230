"""`/api/v1/calls`: the PBX's posts (a call's life) and a call turned into a ticket.

Here, not in crm: a `ringing` post rings agents' consoles (`chat.actions.calls`)
and `/calls/{id}/ticket` opens a ticket, both layers above the CRM record.
"""

from __future__ import annotations

from typing import Annotated

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError
from pydantic import ConfigDict, Field, StrictStr

from chat.access import access_call_for_agent
from chat.actions.calls import UnknownDepartment, report_call
from chat.errors import NotFound
from crm.actions import UnknownAgent
from crm.record import call_data, contact_record
from crm.schemas import CallIn, RecordedCallOut
from foundation.api_errors import error_responses
from queues.agent_scope import agent_scope
from queues.models import Department
from tickets.actions.calls import ticket_from_call
from tickets.api.schemas import PriorityName, TicketDetailOut
from tickets.api.tickets import ticket_detail_data
from tickets.errors import TicketError

try:
    from ninja import Status
except ImportError:  # django-ninja < 1.5 answers a (status, body) tuple instead

    def Status(status_code, value):  # noqa: N802
        return status_code, value


router = Router(tags=["calls"])


@router.post(
    "",
    response={200: RecordedCallOut, 201: RecordedCallOut, **error_responses(400)},
    summary="Report a phone call, or the next state of one (by call_id)",
)
def report(request: HttpRequest, payload: CallIn):
    """201 for a new call, 200 when `call_id` named a call already reported."""
    try:
        reported = report_call(
            phone=payload.phone,
            direction=payload.direction,
            started_at=payload.started_at,
            duration_s=payload.duration_s,
            agent=payload.agent,
            note=payload.note,
            call_id=payload.call_id,
            state=payload.state,
            department=payload.department,
        )
    except UnknownAgent as exc:
        raise HttpError(400, "unknown agent") from exc
    except UnknownDepartment as exc:
        raise HttpError(400, "unknown department") from exc
    except ValueError as exc:
        raise HttpError(400, str(exc)) from exc
    recorded = reported.recorded
    contact = recorded.contact
    return Status(
        201 if recorded.created else 200,
        {
            "call": call_data(recorded.call),
            "contact": contact_record(contact) if contact is not None else None,
        },
    )


class CallTicketIn(Schema):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"asset": "RZA-2024-0001"}}
    )

    subject: Annotated[StrictStr, Field(max_length=300)] = ""
    body: Annotated[StrictStr, Field(max_length=10_000)] = ""
    department: Annotated[StrictStr, Field(min_length=1, max_length=50)] | None = Field(
        None, description="Slug; defaults to the call's department, then the agent's first"
    )
    priority: PriorityName = "normal"
    asset: Annotated[StrictStr, Field(min_length=1, max_length=100)] | None = Field(
        None, description="Serial number of one of the caller's units"
    )


@router.post(
    "/{call_id}/ticket",
    response={200: TicketDetailOut, 201: TicketDetailOut, **error_responses(400, 403, 404)},
    summary="Open a ticket from a call (again: the same ticket)",
)
def ticket(request: HttpRequest, call_id: str, payload: CallTicketIn | None = None):
    """201 with the new ticket; 200 with the same ticket when the call already has one."""
    payload = payload or CallTicketIn()
    scope = agent_scope(request.user)
    if scope is None:
        raise HttpError(403, "only agents open tickets")
    try:
        call = access_call_for_agent(request.user, call_id, scope=scope)
    except NotFound:
        raise HttpError(404, "no such call") from None
    department = None
    slug = payload.department or call.department
    if slug:
        department = Department.objects.filter(slug=slug).first()
        if department is None or not scope.serves(department.pk):
            raise HttpError(400, "unknown department")
    try:
        made, created = ticket_from_call(
            call,
            by=request.user,
            department=department,
            subject=payload.subject,
            body=payload.body,
            priority=payload.priority,
            asset_serial=payload.asset or "",
        )
    except TicketError as exc:
        raise HttpError(exc.status, exc.detail) from exc
    return Status(201 if created else 200, ticket_detail_data(request, made.number))
