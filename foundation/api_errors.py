"""The HTTP API's error shape, for the views that answer it and the OpenAPI document.

Every API error is `{"error": {"code": "...", "detail": "..."}}` (422 adds
`fields`, 429 `retry_after_s`). The apps' routers declare the statuses their
endpoints answer with `error_responses(404, ...)`; `chatportal/api.py` adds
the ones every endpoint of a kind can answer (401 with a token, 400/413/422
with a body). No app imports live here, so any app's `api.py` may use it.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from ninja import Field, Schema

API_PREFIX = "/api/"

ERROR_CODES = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}


class FieldErrorOut(Schema):
    loc: list[str] = Field(description='Where, e.g. ["body", "payload", "phone"]')
    msg: str


class ErrorDetailOut(Schema):
    code: str = Field(description='"invalid", "unauthorized", "not_found", …')
    detail: str = Field(description="For people; may be translated")
    fields: list[FieldErrorOut] | None = Field(None, description="422: each invalid input")
    retry_after_s: float | None = Field(None, description="429: when to try again")


class ErrorOut(Schema):
    error: ErrorDetailOut


def error_responses(*statuses: int) -> dict[int, type[ErrorOut]]:
    """`response={200: ThingOut, **error_responses(400, 404)}` in a route decorator."""
    return dict.fromkeys(statuses, ErrorOut)


def error_response(
    status: int, detail: str, *, code: str | None = None, **extra: Any
) -> JsonResponse:
    body: dict[str, Any] = {"code": code or ERROR_CODES.get(status, "error"), "detail": detail}
    body.update(extra)
    return JsonResponse({"error": body}, status=status)


def bad_request(request: HttpRequest, exception: Exception, **kwargs: Any) -> HttpResponse:
    """`handler400`: what Django refuses before any view (a body over
    DATA_UPLOAD_MAX_MEMORY_SIZE, too many fields) is a JSON error on the API."""
    if not request.path.startswith(API_PREFIX):
        return defaults.bad_request(request, exception, **kwargs)
    if isinstance(exception, RequestDataTooBig):
        return error_response(413, "the request body is too large")
    return error_response(400, "the request is malformed")
