"""CRM endpoints of the HTTP API: caller identification, search, the timeline, upserts.

The call log (`/api/v1/calls`) is `tickets.api.calls`: ringing consoles and
turning a call into a ticket need the layers above crm.

Mounted by `chatportal/api.py`, which also sets the bearer authentication
and turns every error into `{"error": {"code", "detail"}}`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.http import Http404, HttpRequest
from ninja import Path, Query, Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from crm.importing import upsert_records
from crm.lookup import InvalidEmail, find_contact_by_email, find_contact_by_phone
from crm.phones import InvalidPhoneNumber
from crm.record import contact_by_public_id, contact_record
from crm.schemas import (
    AssetIn,
    BatchIn,
    BatchOut,
    ContactIn,
    ContactRecordOut,
    ContractIn,
    OrganizationIn,
    SearchHitOut,
    SearchOut,
    TimelineEntryOut,
    UpsertOut,
)
from crm.search import DEFAULT_LIMIT, MAX_LIMIT, MAX_QUERY_CHARS, MIN_QUERY_CHARS, InvalidQuery
from crm.search import search as search_crm
from crm.timeline import contact_timeline
from crm.upserts import (
    InvalidRecord,
    Upserted,
    upsert_asset,
    upsert_contact,
    upsert_contract,
    upsert_organization,
)
from foundation.api_errors import error_response, error_responses

try:
    from ninja import Status
except ImportError:  # django-ninja < 1.5 answers a (status, body) tuple instead

    def Status(status_code, value):  # noqa: N802
        return status_code, value


router = Router(tags=["crm"])


class LookupQuery(Schema):
    phone: str | None = Field(
        None,
        max_length=40,
        description="Any common format",
        json_schema_extra={"example": "0721234567"},
    )
    email: str | None = Field(None, max_length=254)


@router.get(
    "/lookup",
    response={200: ContactRecordOut, **error_responses(400, 404)},
    summary="Identify a caller by phone or e-mail",
)
def lookup(request: HttpRequest, query: Query[LookupQuery]):
    if (query.phone is None) == (query.email is None):
        raise HttpError(400, "give exactly one of phone and email")
    try:
        if query.phone is not None:
            contact = find_contact_by_phone(query.phone)
        else:
            contact = find_contact_by_email(query.email or "")
    except (InvalidPhoneNumber, InvalidEmail) as exc:
        raise HttpError(400, str(exc)) from exc
    if contact is None:
        raise Http404("no contact has this phone number or e-mail")
    return contact_record(contact)


class SearchQuery(Schema):
    q: str = Field(
        min_length=MIN_QUERY_CHARS,
        max_length=MAX_QUERY_CHARS,
        description="Name, e-mail, phone (any format), serial number, organization "
        "or ticket number; prefixes work too",
        json_schema_extra={"example": "0721 234 567"},
    )
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


@router.get(
    "/search",
    response={200: SearchOut, **error_responses(400)},
    summary="Find contacts and tickets: exact matches first",
)
def search(request: HttpRequest, query: Query[SearchQuery]):
    try:
        hits = search_crm(query.q, user=request.user, limit=query.limit)
    except InvalidQuery as exc:
        raise HttpError(400, str(exc)) from exc
    return {"results": [SearchHitOut.from_hit(hit) for hit in hits]}


@router.get(
    "/contacts/{contact_id}/timeline",
    response={200: list[TimelineEntryOut], **error_responses(400, 404)},
    summary="A contact's chats, calls and tickets, newest first",
)
def timeline(request: HttpRequest, contact_id: str, limit: int = 50):
    if not 1 <= limit <= 200:
        raise HttpError(400, "limit must be between 1 and 200")
    contact = contact_by_public_id(contact_id)
    if contact is None:
        raise Http404("no such contact")
    return contact_timeline(contact, limit=limit)


# --- the company's CRM pushing its records ----------------------------------------------


class ExternalIdPath(Schema):
    external_id: str = Field(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$")


class SerialPath(Schema):
    serial_number: str = Field(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$")


UPSERT_RESPONSES = {200: UpsertOut, 201: UpsertOut, **error_responses(403, 409)}


def _require_crm_permission(request: HttpRequest, model: str) -> None:
    # The CRM's integration user, not every agent, rewrites the record:
    # it needs the model's add and change permissions (set in /admin/).
    user = request.user
    if not (user.has_perm(f"crm.add_{model}") and user.has_perm(f"crm.change_{model}")):
        raise PermissionDenied(f"this token may not change {model} records")


def _upsert_answer(upsert: Callable[[str, Any], Upserted], key: str, payload: Any):
    try:
        upserted = upsert(key, payload)
    except InvalidRecord as exc:
        return error_response(
            422,
            str(exc),
            code="invalid",
            fields=[{"loc": ["body", "payload", exc.field], "msg": exc.message}],
        )
    except IntegrityError as exc:
        # Two writers creating the same record at once: the loser may retry.
        raise HttpError(409, "the record changed meanwhile; send it again") from exc
    status = 201 if upserted.outcome == "created" else 200
    return Status(
        status,
        {"outcome": upserted.outcome, "id": upserted.id, "external_id": upserted.external_id},
    )


@router.put(
    "/organizations/{external_id}",
    response=UPSERT_RESPONSES,
    summary="Create or update an organization by the CRM's id",
)
def put_organization(request: HttpRequest, path: Path[ExternalIdPath], payload: OrganizationIn):
    _require_crm_permission(request, "organization")
    return _upsert_answer(upsert_organization, path.external_id, payload)


@router.put(
    "/contacts/{external_id}",
    response=UPSERT_RESPONSES,
    summary="Create or update a contact, with phones and e-mails, by the CRM's id",
)
def put_contact(request: HttpRequest, path: Path[ExternalIdPath], payload: ContactIn):
    _require_crm_permission(request, "contact")
    return _upsert_answer(upsert_contact, path.external_id, payload)


@router.put(
    "/assets/{serial_number}",
    response=UPSERT_RESPONSES,
    summary="Create or update an asset by its serial number",
)
def put_asset(request: HttpRequest, path: Path[SerialPath], payload: AssetIn):
    _require_crm_permission(request, "asset")
    return _upsert_answer(upsert_asset, path.serial_number, payload)


@router.put(
    "/contracts/{external_id}",
    response=UPSERT_RESPONSES,
    summary="Create or update a support contract by the CRM's id",
)
def put_contract(request: HttpRequest, path: Path[ExternalIdPath], payload: ContractIn):
    _require_crm_permission(request, "supportcontract")
    return _upsert_answer(upsert_contract, path.external_id, payload)


@router.post(
    "/batch",
    response={200: BatchOut, **error_responses(403)},
    summary="Upsert up to 500 records of any type, in order",
)
def upsert_batch(request: HttpRequest, payload: BatchIn):
    for model in ("organization", "contact", "asset", "supportcontract"):
        _require_crm_permission(request, model)
    report = upsert_records(
        enumerate(payload.records, start=1),
        dry_run=payload.dry_run,
        all_or_nothing=payload.all_or_nothing,
    )
    return {
        **{outcome: report.counts[outcome] for outcome in ("created", "updated", "unchanged")},
        "failed": report.failed_rows,
        "written": not report.rolled_back,
        "errors": [
            {"index": error.line, "field": error.field, "message": error.message}
            for error in report.errors
        ],
    }
