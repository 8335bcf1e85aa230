"""Tickets endpoints of the HTTP API (PROTOCOL §5), mounted by `chatportal/api.py`.

Agents see the tickets of their departments and the ones assigned to them;
supervisors see all. Another department's ticket answers 404, exactly like
a number that does not exist.
"""

from __future__ import annotations

import uuid
from typing import Any, NoReturn

from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest
from ninja import Router
from ninja.errors import HttpError

from crm.linking import BadLinkRequest, link_request
from crm.models import Contact
from crm.schemas import ContactLinkedOut, ContactLinkIn
from foundation.api_errors import error_responses
from foundation.public_url import request_base
from queues.agent_scope import AgentScope, agent_scope
from queues.models import Department
from tickets.access import access_ticket_for_agent, tickets_for_agent
from tickets.actions.assets import asset_for, set_ticket_asset
from tickets.actions.assignment import assign_ticket
from tickets.actions.contacts import check_link_ticket
from tickets.actions.lifecycle import change_priority, change_status
from tickets.actions.messages import add_reply, create_ticket
from tickets.api.schemas import (
    ReplyIn,
    TicketDetailOut,
    TicketEventOut,
    TicketIn,
    TicketNumber,
    TicketPageOut,
    TicketPatch,
    event_data,
    ticket_data,
)
from tickets.errors import TicketError
from tickets.models import Ticket

try:
    from ninja import Status
except ImportError:  # django-ninja < 1.5 answers a (status, body) tuple instead

    def Status(status_code, value):  # noqa: N802
        return status_code, value


router = Router(tags=["tickets"])

LIST_PARAMS = {
    "status",
    "assignee",
    "contact",
    "department",
    "channel",
    "ordering",
    "limit",
    "offset",
}
ORDERINGS = {
    "created_at": "created_at",
    "updated_at": "updated_at",
    "priority": "priority_rank",
    "resolution_due": "resolution_due",
}
MAX_LIMIT = 200
DEFAULT_LIMIT = 50
DETAIL_EVENTS_LIMIT = 500


def _scope(request: HttpRequest) -> AgentScope:
    scope = agent_scope(request.user)
    if scope is None:
        raise HttpError(403, "only agents use the tickets API")
    return scope


def _raise(exc: TicketError) -> NoReturn:
    raise HttpError(exc.status, exc.detail) from exc


_RELATED = (
    "contact",
    "organization",
    "assignee",
    "department",
    "sla_plan",
    "conversation",
    "call",
    "asset__product",
)


def _split(raw: str, allowed: set[str], name: str) -> list[str]:
    values = [v.strip() for v in raw.split(",") if v.strip()]
    bad = [v for v in values if v not in allowed]
    if not values or bad:
        raise HttpError(400, f"{name} must be one or more of: {', '.join(sorted(allowed))}")
    return values


def _int_param(raw: str | None, name: str, *, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise HttpError(400, f"{name} must be an integer from {low} to {high}")
    return int(raw)


@router.get(
    "",
    response={200: TicketPageOut, **error_responses(403)},
    summary="Tickets, filtered, ordered and paginated",
)
def list_tickets(
    request: HttpRequest,
    status: str | None = None,
    assignee: str | None = None,
    contact: str | None = None,
    department: str | None = None,
    channel: str | None = None,
    ordering: str = "-updated_at",
    limit: str | None = None,
    offset: str | None = None,
):
    """`status`/`channel` take comma-separated values; `assignee` a username or `none`;
    `contact` a contact id; `department` a slug; `ordering` one of `created_at`,
    `updated_at`, `priority`, `resolution_due`, with `-` for descending."""
    unknown = sorted(set(request.GET) - LIST_PARAMS)
    if unknown:
        raise HttpError(400, f"unknown parameter: {unknown[0][:50]}")
    if any(len(request.GET.getlist(key)) > 1 for key in request.GET):
        raise HttpError(400, "give each parameter once (use commas for several values)")
    scope = _scope(request)
    tickets = tickets_for_agent(request.user, scope=scope)
    if status is not None:
        tickets = tickets.filter(status__in=_split(status, set(Ticket.Status.values), "status"))
    if channel is not None:
        tickets = tickets.filter(channel__in=_split(channel, set(Ticket.Channel.values), "channel"))
    if assignee is not None:
        if assignee == "none":
            tickets = tickets.filter(assignee__isnull=True)
        else:
            tickets = tickets.filter(assignee__username=assignee[:150])
    if contact is not None:
        try:
            tickets = tickets.filter(contact__public_id=uuid.UUID(contact))
        except ValueError:
            raise HttpError(400, "contact must be a contact id") from None
    if department is not None:
        tickets = tickets.filter(department__slug=department[:50])
    field = ORDERINGS.get(ordering.removeprefix("-"))
    if field is None:
        raise HttpError(400, f"ordering must be one of: {', '.join(ORDERINGS)} (with - to reverse)")
    descending = ordering.startswith("-")
    order = (f"-{field}" if descending else field, "-pk" if descending else "pk")
    limit_n = _int_param(limit, "limit", default=DEFAULT_LIMIT, low=1, high=MAX_LIMIT)
    offset_n = _int_param(offset, "offset", default=0, low=0, high=10_000_000)
    total = tickets.count()
    page = list(tickets.select_related(*_RELATED).order_by(*order)[offset_n : offset_n + limit_n])
    return {
        "total": total,
        "limit": limit_n,
        "offset": offset_n,
        "items": [ticket_data(t) for t in page],
    }


def _agent_by_username(username: str):
    user = (
        get_user_model()
        .objects.select_related("agent_profile")
        .filter(username=username, is_active=True, agent_profile__isnull=False)
        .first()
    )
    if user is None:
        raise HttpError(400, "unknown agent")
    return user


@router.post("", response={201: TicketDetailOut, **error_responses(403)}, summary="Open a ticket")
def create(request: HttpRequest, payload: TicketIn):
    scope = _scope(request)
    department = Department.objects.filter(slug=payload.department).first()
    if department is None or not scope.serves(department.pk):
        raise HttpError(400, "unknown department")
    contact = None
    if payload.contact is not None:
        try:
            contact = Contact.objects.filter(public_id=uuid.UUID(payload.contact)).first()
        except ValueError:
            contact = None
        if contact is None:
            raise HttpError(400, "unknown contact")
    elif not (payload.requester_name.strip() or payload.requester_email.strip()):
        raise HttpError(400, "give a contact, or the requester's name or e-mail")
    assignee = _agent_by_username(payload.assignee) if payload.assignee else None
    try:
        asset = asset_for(contact, payload.asset) if payload.asset is not None else None
        # One transaction: an assignee the action refuses leaves no ticket behind.
        with transaction.atomic():
            ticket = create_ticket(
                asset=asset,
                subject=payload.subject,
                body=payload.body,
                contact=contact,
                channel=payload.channel,
                department=department,
                priority=payload.priority,
                author_role="agent",
                author_user=request.user,
                requester_name=payload.requester_name.strip(),
                requester_email=payload.requester_email.strip(),
            )
            if assignee is not None:
                assign_ticket(ticket, assignee, by=request.user)
    except TicketError as exc:
        _raise(exc)
    return Status(201, ticket_detail_data(request, ticket.number))


def ticket_detail_data(request: HttpRequest, number: str) -> dict[str, Any]:
    try:
        ticket = access_ticket_for_agent(request.user, number)
    except TicketError as exc:
        _raise(exc)
    data = ticket_data(ticket)
    data["events"] = [
        event_data(e, link_base=request_base(request))
        for e in ticket.events.order_by("seq")[:DETAIL_EVENTS_LIMIT]
    ]
    return data


@router.get(
    "/{number}",
    response={200: TicketDetailOut, **error_responses(403, 404)},
    summary="One ticket with its timeline",
)
def detail(request: HttpRequest, number: TicketNumber):
    _scope(request)
    return ticket_detail_data(request, number)


@router.patch(
    "/{number}",
    response={200: TicketDetailOut, **error_responses(403, 404, 409)},
    summary="Change status, priority, assignee or the unit (asset)",
)
def update(request: HttpRequest, number: TicketNumber, payload: TicketPatch):
    scope = _scope(request)
    changes = payload.model_fields_set
    if not changes:
        raise HttpError(400, "nothing to change: give status, priority, assignee or asset")
    for field in ("status", "priority"):
        if field in changes and getattr(payload, field) is None:
            raise HttpError(400, f"{field} cannot be null")
    try:
        ticket = access_ticket_for_agent(request.user, number, scope=scope)
        assignee = None
        if "assignee" in changes and payload.assignee is not None:
            assignee = _agent_by_username(payload.assignee)
        with transaction.atomic():
            if payload.priority is not None:
                change_priority(ticket, payload.priority, by=request.user)
            if "assignee" in changes:
                assign_ticket(ticket, assignee, by=request.user)
            if "asset" in changes:
                set_ticket_asset(ticket, payload.asset, by=request.user)
            if payload.status is not None:
                change_status(ticket, payload.status, by=request.user)
    except TicketError as exc:
        _raise(exc)
    return ticket_detail_data(request, ticket.number)


@router.post(
    "/{number}/replies",
    response={201: TicketEventOut, **error_responses(403, 404, 409)},
    summary="Reply, or add an internal note",
)
def reply(request: HttpRequest, number: TicketNumber, payload: ReplyIn):
    scope = _scope(request)
    try:
        ticket = access_ticket_for_agent(request.user, number, scope=scope)
        event = add_reply(
            ticket,
            body=payload.body,
            internal=payload.internal,
            author_role="agent",
            author_user=request.user,
        )
    except TicketError as exc:
        _raise(exc)
    return Status(201, event_data(event, link_base=request_base(request)))


@router.post(
    "/{number}/contact",
    response={200: ContactLinkedOut, **error_responses(403, 404)},
    summary="Link the ticket to a contact, or to one made from its requester",
)
def link_contact(request: HttpRequest, number: TicketNumber, payload: ContactLinkIn):
    scope = _scope(request)
    try:
        wanted = link_request(payload)
    except BadLinkRequest as exc:
        raise HttpError(400, str(exc)) from exc
    try:
        _ticket, event, contact, created = check_link_ticket(
            request.user, number, contact=wanted.contact, prefill=wanted.prefill, scope=scope
        )
    except TicketError as exc:
        _raise(exc)
    return {
        "contact": {"id": str(contact.public_id), "name": contact.name},
        "created": created,
        "changed": event is not None,
    }
