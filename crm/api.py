"""CRM endpoints of the HTTP API: caller identification and the timeline.

The call log (`/api/v1/calls`) is `tickets.api.calls`: ringing consoles and
turning a call into a ticket need the layers above crm.

Mounted by `chatportal/api.py`, which also sets the bearer authentication
and turns every error into `{"error": {"code", "detail"}}`.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from crm.lookup import InvalidEmail, find_contact_by_email, find_contact_by_phone
from crm.phones import InvalidPhoneNumber
from crm.record import contact_by_public_id, contact_record
from crm.schemas import ContactRecordOut, SearchHitOut, SearchOut, TimelineEntryOut
from crm.search import DEFAULT_LIMIT, MAX_LIMIT, MAX_QUERY_CHARS, MIN_QUERY_CHARS, InvalidQuery
from crm.search import search as search_crm
from crm.timeline import contact_timeline
from foundation.api_errors import error_responses

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
