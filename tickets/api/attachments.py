"""Ticket attachments over HTTP (mounted with the tickets API under /api/v1/tickets).

- `POST /api/v1/tickets/{number}/attachments` — agents (API token, or the
  console session with its CSRF token): multipart
  with one or more `file` fields, optional `body` and `internal`
  (`true` makes it an internal note). Answers 201 with the reply's event,
  whose payload lists the files under `attachments`.
- `GET /api/v1/tickets/{number}/attachments/{id}` — the file, for whoever
  may see it: agents of the ticket's department (API token or session), the
  ticket's customer or an organization admin (portal session; public files
  only). Anyone else gets 404, exactly as for a ticket that does not exist;
  a browser that is not signed in is sent to the portal sign-in.
- `GET /api/v1/tickets/{number}/attachments/{id}/thumbnail` — an image's
  thumbnail (WebP), with exactly the same check; 404 for a file without one.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from ninja import Router
from ninja.errors import HttpError
from ninja.utils import check_csrf

from foundation.api_errors import error_responses
from foundation.openapi_extra import BEARER, FILE_DOWNLOAD, multipart_body
from foundation.public_url import request_base
from foundation.thumbnails import THUMBNAIL_CONTENT_TYPE, thumbnail_filename
from foundation.uploads import attachment_response
from queues.agent_scope import agent_scope
from queues.tokens import authenticate_agent_token
from tickets.access import access_ticket_for_agent, customer_contact, normalize_number
from tickets.actions.messages import add_reply
from tickets.api.schemas import TicketEventOut, TicketNumber, event_data
from tickets.attachments import (
    access_attachment_for_agent,
    access_attachment_for_customer,
    attachment_path,
    check_request_files,
    request_too_large,
)
from tickets.errors import TicketError, TicketNotFound

router = Router(tags=["ticket attachments"])

UPLOAD_FORM = multipart_body(
    {
        "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
        "body": {"type": "string", "maxLength": 20_000, "description": "The reply's text"},
        "internal": {
            "type": "string",
            "enum": ["true", "false"],
            "description": "`true` makes it an internal note",
        },
    },
    required=["file"],
)


def _error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "detail": detail}}, status=status)


def _agent_for_upload(request: HttpRequest):
    """The agent by API token, or by console session with its CSRF token."""
    scheme, _space, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        user = authenticate_agent_token(token.strip())
        if user is None:
            raise HttpError(401, "the agent API token is not valid")
    elif request.user.is_authenticated:
        user = request.user
        if agent_scope(user) is not None and check_csrf(request) is not None:
            raise HttpError(403, "the CSRF token is missing or wrong")
    else:
        raise HttpError(401, "an agent API token or an agent session is required")
    if agent_scope(user) is None:
        raise HttpError(403, "only agents use the tickets API")
    return user


@router.post(
    "/{number}/attachments",
    auth=None,
    response={201: TicketEventOut, **error_responses(400, 401, 403, 404, 409, 413, 415)},
    summary="Reply or add an internal note with files (multipart: file…, body, internal)",
    description="An agent API token as the bearer, or the console session with its CSRF token.",
    openapi_extra={**UPLOAD_FORM, **BEARER},
)
def upload_ticket_attachments(request: HttpRequest, number: TicketNumber):
    user = _agent_for_upload(request)
    if request_too_large(request):
        raise HttpError(413, "the files are too large")
    if not request.content_type.startswith("multipart/form-data"):
        raise HttpError(400, "send the files as multipart/form-data in `file` fields")
    uploaded = request.FILES.getlist("file")
    if not uploaded:
        raise HttpError(400, "send at least one file in the field `file`")
    internal_raw = request.POST.get("internal", "false").strip().lower()
    if internal_raw not in {"true", "false", "1", "0", ""}:
        raise HttpError(400, "internal must be true or false")
    try:
        ticket = access_ticket_for_agent(user, number)
        files = check_request_files(uploaded)
        event = add_reply(
            ticket,
            body=request.POST.get("body", "")[:20_000],
            internal=internal_raw in {"true", "1"},
            author_role="agent",
            author_user=user,
            attachments=files,
        )
    except TicketError as exc:
        raise HttpError(exc.status, exc.detail) from None
    return JsonResponse(event_data(event, link_base=request_base(request)), status=201)


@router.get(
    "/{number}/attachments/{attachment_id}",
    auth=None,
    summary="Download a ticket's file (its customer, or agents of its department)",
    description="An agent API token as the bearer, or a console or portal session. "
    "A browser (Accept: text/html) that is not signed in is sent to the portal sign-in.",
    response={200: None, 302: None, **error_responses(401, 404)},
    openapi_extra={**FILE_DOWNLOAD, **BEARER},
)
def download_ticket_attachment(request: HttpRequest, number: TicketNumber, attachment_id: str):
    return _serve(request, number, attachment_id, thumbnail=False)


@router.get(
    "/{number}/attachments/{attachment_id}/thumbnail",
    auth=None,
    summary="An image's thumbnail (WebP; whoever may download the file)",
    description="The same access as the file itself; 404 for a file without a thumbnail.",
    response={200: None, 302: None, **error_responses(401, 404)},
    openapi_extra={**FILE_DOWNLOAD, **BEARER},
)
def download_ticket_attachment_thumbnail(
    request: HttpRequest, number: TicketNumber, attachment_id: str
):
    return _serve(request, number, attachment_id, thumbnail=True)


def _serve(request: HttpRequest, number: str, attachment_id: str, *, thumbnail: bool):
    header = request.headers.get("Authorization", "")
    scheme, _space, token = header.partition(" ")
    user = None
    if scheme.lower() == "bearer" and token.strip():
        user = authenticate_agent_token(token.strip())
        if user is None:
            return _error(401, "unauthorized", "the agent API token is not valid")
    elif request.user.is_authenticated:
        user = request.user
    try:
        if user is None:
            return _sign_in_first(request, number, attachment_id)
        if agent_scope(user) is not None:
            attachment = access_attachment_for_agent(user, number, attachment_id)
        elif customer_contact(user) is not None:
            attachment = access_attachment_for_customer(user, number, attachment_id)
        else:
            raise TicketNotFound("no such attachment")
        if not thumbnail:
            return attachment_response(
                attachment.file.name,
                filename=attachment.filename,
                content_type=attachment.content_type,
                size=attachment.size,
            )
        if not attachment.thumbnail:
            return _error(404, "not_found", "this file has no thumbnail")
        return attachment_response(
            attachment.thumbnail.name,
            filename=thumbnail_filename(attachment.filename),
            content_type=THUMBNAIL_CONTENT_TYPE,
        )
    except TicketError as exc:
        return _error(exc.status, exc.code, exc.detail)
    except OSError:  # the file is gone (erased, or lost from the storage)
        return _error(404, "not_found", "the file is no longer stored")


def _sign_in_first(request: HttpRequest, number: str, attachment_id: str) -> HttpResponse:
    if "text/html" in request.headers.get("Accept", ""):
        # A customer clicking a link in a notification: sign in, then back to the file.
        try:
            target = attachment_path(normalize_number(number), attachment_id)
        except (TicketError, ValueError):
            target = reverse("portal")
        return HttpResponseRedirect(f"{reverse('portal_login')}?{urlencode({'next': target})}")
    return _error(401, "unauthorized", "sign in, or send an agent API token")
