"""Chat attachments over HTTP (mounted under /api/v1/ by `chatportal/api.py`).

- `POST /api/v1/conversations/{id}/attachments` — multipart, field `file`
  (agents: optional `internal` = `true`). Who is asking:
  `Authorization: Bearer vt_…` (the visitor token; or a `token` form field),
  `Authorization: Bearer <agent API token>`, or a signed-in agent's session
  cookie (with the CSRF token, as for any form). Answers 201
  `{"conversation", "seq", "attachment": {"id", "filename", "content_type",
  "size", "url"}}`; every participant's socket gets the `attachment` event.
- `GET /api/v1/conversations/{id}/attachments/{token}` — the file, for the
  same participants only; another visitor, or an agent of another
  department, gets 404/403 even with the right link.
- `GET /api/v1/conversations/{id}/attachments/{token}/thumbnail` — an image's
  thumbnail (WebP), with exactly the same check; 404 for a file without one.

The widget runs on other sites, so both answer CORS for the widget origins
(`CHATPORTAL_WIDGET_ORIGINS`) without credentials: visitors authenticate
by bearer token, never by cookie.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Router, Schema
from ninja.utils import check_csrf

from chat.access import authenticate_agent_token, authenticate_visitor
from chat.actions.attachments import check_agent_attachment, check_visitor_attachment
from chat.api_contacts import router as contacts_router
from chat.attachments import (
    ATTACHMENT_LINKS,
    access_attachment_for_agent,
    access_attachment_for_visitor,
)
from chat.errors import ChatError, RateLimited
from chat.models import Visitor
from foundation.api_errors import error_responses
from foundation.errors import ClientError
from foundation.openapi_extra import BEARER, FILE_DOWNLOAD, multipart_body
from foundation.origins import widget_origin_allowed
from foundation.public_url import rebase_links, request_base
from foundation.thumbnails import THUMBNAIL_CONTENT_TYPE, thumbnail_filename
from foundation.uploads import UploadRefused, attachment_response, max_upload_bytes
from queues.agent_scope import agent_scope

router = Router(tags=["chat attachments"])
API_ROUTERS = [("/conversations", router), ("/conversations", contacts_router)]

# Multipart framing around one file: generous, it only guards the parser.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
STATUS_BY_CODE = {
    "not_found": 404,
    "forbidden": 403,
    "conflict": 409,
    "rate_limited": 429,
    "invalid": 400,
}


class AttachmentOut(Schema):
    id: str
    filename: str
    content_type: str
    size: int
    url: str
    thumbnail_url: str | None = None


class AttachmentPostedOut(Schema):
    conversation: str
    seq: int
    attachment: AttachmentOut


UPLOAD_FORM = multipart_body(
    {
        "file": {"type": "string", "format": "binary"},
        "internal": {
            "type": "string",
            "enum": ["true", "false"],
            "description": "Agents only: `true` keeps the file from the visitor",
        },
        "token": {
            "type": "string",
            "description": "The visitor token, where the Authorization header cannot be set",
        },
    },
    required=["file"],
)


@dataclass(frozen=True)
class Participant:
    visitor: Visitor | None = None
    user: AbstractBaseUser | None = None
    by_session: bool = False


class Refused(ClientError):
    """What this router answers with: every refusal spelled with its status and code."""

    def __init__(self, status: int, code: str, detail: str, **extra: Any):
        super().__init__(detail, code=code, status=status)
        self.extra = extra


def _cors(request: HttpRequest, response: HttpResponse, *, methods: str) -> HttpResponse:
    origin = request.headers.get("Origin", "")
    if origin and widget_origin_allowed(request, origin):
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = methods
        response["Access-Control-Allow-Headers"] = "Authorization"
        response["Access-Control-Expose-Headers"] = "Content-Disposition"
        response["Access-Control-Max-Age"] = "600"
    response["Vary"] = "Origin"
    return response


def _error(status: int, code: str, detail: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "detail": detail, **extra}}, status=status)


def _bearer(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _space, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def _participant(request: HttpRequest, *, form_token: str = "") -> Participant:
    token = _bearer(request) or form_token
    if token.startswith("vt_"):
        visitor = authenticate_visitor(token)
        if visitor is None:
            raise Refused(401, "unauthorized", "the visitor token is not valid")
        return Participant(visitor=visitor)
    if token:
        user = authenticate_agent_token(token)
        if agent_scope(user) is None:
            raise Refused(401, "unauthorized", "the agent API token is not valid")
        return Participant(user=user)
    user = getattr(request, "user", None)
    if agent_scope(user) is not None:
        return Participant(user=user, by_session=True)
    raise Refused(
        401, "unauthorized", "a visitor token, an agent API token or an agent session is required"
    )


def _chat_refusal(exc: ChatError) -> Refused:
    extra = {"retry_after_s": exc.retry_after_s} if isinstance(exc, RateLimited) else {}
    return Refused(STATUS_BY_CODE.get(exc.code, 400), exc.code, exc.detail, **extra)


@router.post(
    "/{conversation_id}/attachments",
    auth=None,
    summary="Attach a file to a conversation (multipart field `file`)",
    description="A visitor token (`vt_…`) or an agent API token as the bearer, "
    "or a signed-in agent's session cookie with its CSRF token.",
    response={
        201: AttachmentPostedOut,
        **error_responses(400, 401, 403, 404, 409, 413, 415, 429),
    },
    openapi_extra={**UPLOAD_FORM, **BEARER},
)
def upload_attachment(request: HttpRequest, conversation_id: str):
    try:
        response = _upload(request, conversation_id)
    except Refused as exc:
        response = _error(exc.status, exc.code, exc.detail, **exc.extra)
    return _cors(request, response, methods="POST, OPTIONS")


# CORS preflights are the browser's business, not API operations: not in the document.
@router.api_operation(
    ["OPTIONS"], "/{conversation_id}/attachments", auth=None, include_in_schema=False
)
def upload_attachment_preflight(request: HttpRequest, conversation_id: str):
    return _cors(request, HttpResponse(status=204), methods="POST, OPTIONS")


def _upload(request: HttpRequest, conversation_id: str) -> HttpResponse:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > max_upload_bytes() + MULTIPART_OVERHEAD_BYTES:
        # Refused before the body is read: nobody streams a gigabyte to the parser.
        raise Refused(413, "too_large", "the file is too large")
    if not request.content_type.startswith("multipart/form-data"):
        raise Refused(400, "invalid", "send the file as multipart/form-data in the field `file`")
    participant = _participant(request, form_token=request.POST.get("token", "")[:128])
    if participant.by_session and check_csrf(request) is not None:
        raise Refused(403, "forbidden", "the CSRF token is missing or wrong")
    files = request.FILES.getlist("file")
    if len(files) != 1:
        raise Refused(400, "invalid", "send exactly one file in the field `file`")
    internal_raw = request.POST.get("internal", "false").strip().lower()
    if internal_raw not in {"true", "false", "1", "0", ""}:
        raise Refused(400, "invalid", "internal must be true or false")
    internal = internal_raw in {"true", "1"}
    try:
        if participant.visitor is not None:
            if internal:
                raise Refused(403, "forbidden", "visitors cannot send internal files")
            appended = check_visitor_attachment(participant.visitor, conversation_id, files[0])
        else:
            appended = check_agent_attachment(
                participant.user, conversation_id, files[0], internal=internal
            )
    except ChatError as exc:
        raise _chat_refusal(exc) from None
    except UploadRefused as exc:
        raise Refused(exc.status, exc.code, exc.detail) from None
    frame = appended.frame
    fields = ("id", "filename", "content_type", "size", *ATTACHMENT_LINKS)
    attachment = {key: frame[key] for key in fields if key in frame}
    attachment = rebase_links(attachment, ATTACHMENT_LINKS, request_base(request))
    return JsonResponse(
        {"conversation": str(appended.conversation), "seq": appended.seq, "attachment": attachment},
        status=201,
    )


@router.get(
    "/{conversation_id}/attachments/{token}",
    auth=None,
    summary="Download a conversation's file (its participants only)",
    response={200: None, **error_responses(401, 403, 404, 429)},
    openapi_extra={**FILE_DOWNLOAD, **BEARER},
)
def download_attachment(request: HttpRequest, conversation_id: str, token: str):
    return _serve(request, conversation_id, token, thumbnail=False)


@router.get(
    "/{conversation_id}/attachments/{token}/thumbnail",
    auth=None,
    summary="An image's thumbnail (WebP; its participants only)",
    response={200: None, **error_responses(401, 403, 404, 429)},
    openapi_extra={**FILE_DOWNLOAD, **BEARER},
)
def download_attachment_thumbnail(request: HttpRequest, conversation_id: str, token: str):
    return _serve(request, conversation_id, token, thumbnail=True)


@router.api_operation(
    ["OPTIONS"],
    "/{conversation_id}/attachments/{token}/thumbnail",
    auth=None,
    include_in_schema=False,
)
def download_thumbnail_preflight(request: HttpRequest, conversation_id: str, token: str):
    return _cors(request, HttpResponse(status=204), methods="GET, OPTIONS")


def _serve(request: HttpRequest, conversation_id: str, token: str, *, thumbnail: bool):
    try:
        participant = _participant(request)
        if participant.visitor is not None:
            attachment = access_attachment_for_visitor(participant.visitor, conversation_id, token)
        else:
            attachment = access_attachment_for_agent(participant.user, conversation_id, token)
        if not thumbnail:
            response: HttpResponse = attachment_response(
                attachment.file.name,
                filename=attachment.filename,
                content_type=attachment.content_type,
                size=attachment.size,
            )
        elif attachment.thumbnail:
            response = attachment_response(
                attachment.thumbnail.name,
                filename=thumbnail_filename(attachment.filename),
                content_type=THUMBNAIL_CONTENT_TYPE,
            )
        else:
            response = _error(404, "not_found", "this file has no thumbnail")
    except Refused as exc:
        response = _error(exc.status, exc.code, exc.detail, **exc.extra)
    except ChatError as exc:
        refusal = _chat_refusal(exc)
        response = _error(refusal.status, refusal.code, refusal.detail)
    except OSError:  # the file is gone (erased, or lost from the storage)
        response = _error(404, "not_found", "the file is no longer stored")
    return _cors(request, response, methods="GET, OPTIONS")


@router.api_operation(
    ["OPTIONS"], "/{conversation_id}/attachments/{token}", auth=None, include_in_schema=False
)
def download_attachment_preflight(request: HttpRequest, conversation_id: str, token: str):
    return _cors(request, HttpResponse(status=204), methods="GET, OPTIONS")
