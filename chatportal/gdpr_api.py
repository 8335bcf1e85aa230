"""Staff-only GDPR endpoints: `/api/v1/gdpr/contacts/{id}/export` and `/erase` (crm/gdpr.py).

Mounted by chatportal/api.py (bearer agent token, JSON errors). Only staff
users and supervisors may call them; anyone else gets 403, an unknown or
malformed contact id 404. Erasing needs `{"confirm": true}` in the body.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from ninja import Field, Router, Schema
from ninja.errors import HttpError

from crm.gdpr import erase_contact, export_contact, iso
from crm.record import contact_by_public_id
from foundation.api_errors import error_responses
from queues.agent_scope import agent_scope

router = Router(tags=["gdpr"])


class EraseIn(Schema):
    confirm: bool = False


class ErasureOut(Schema):
    contact: str
    erased_at: str = Field(description="ISO 8601")
    erased_by: str
    already_erased: bool
    summary: dict[str, Any]


def require_staff(request: HttpRequest) -> None:
    user = request.user
    if user.is_staff or user.is_superuser:
        return
    scope = agent_scope(user)
    if scope is not None and scope.is_supervisor:
        return
    raise PermissionDenied("only staff and supervisors may read or erase personal data")


def _contact(contact_id: str):
    contact = contact_by_public_id(contact_id)
    if contact is None:
        raise Http404("no such contact")
    return contact


@router.get(
    "/contacts/{contact_id}/export",
    response={200: dict[str, Any], **error_responses(403, 404)},
    summary="Everything stored about a contact (GDPR access)",
)
def export(request: HttpRequest, contact_id: str) -> dict[str, Any]:
    require_staff(request)
    return export_contact(_contact(contact_id))


@router.post(
    "/contacts/{contact_id}/erase",
    response={200: ErasureOut, **error_responses(400, 403, 404)},
    summary="Erase a contact's personal data (GDPR erasure)",
)
def erase(request: HttpRequest, contact_id: str, payload: EraseIn) -> dict[str, Any]:
    require_staff(request)
    contact = _contact(contact_id)
    if not payload.confirm:
        raise HttpError(400, 'erasing cannot be undone: send {"confirm": true}')
    erasure, created = erase_contact(contact, by=f"api:{request.user.get_username()}")
    return {
        "contact": str(contact.public_id),
        "erased_at": iso(erasure.erased_at),
        "erased_by": erasure.erased_by,
        "already_erased": not created,
        "summary": erasure.summary,
    }
