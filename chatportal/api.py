"""HTTP API v1: one NinjaAPI, the apps' routers, bearer auth, JSON errors.

Mounted with `path("api/v1/", include("chatportal.api"))`. Every endpoint
needs `Authorization: Bearer <agent API token>` (see `queues/tokens.py`);
the OpenAPI document at `/api/v1/openapi.json` is public.

Every error answers `{"error": {"code": "...", "detail": "..."}}`. Endpoints
raise `ninja.errors.HttpError(status, detail)` (the code follows from the
status, see ERROR_CODES), `django.http.Http404`, or `PermissionDenied`;
anything else becomes a logged 500 `server_error` without a trace.

Apps above crm mount their endpoints without editing this file: their
`<app>/api.py` exposes `API_ROUTERS = [("/tickets", router), ...]`, picked up
below in import-direction order (see ROUTER_APPS).
Bearer-token endpoints need no CSRF token: ninja exempts its views from the
CSRF middleware and only cookie authentication checks CSRF itself.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import logging
from typing import Any

from django.core.exceptions import (
    BadRequest,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import URLPattern, re_path
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from chatportal.gdpr_api import router as gdpr_router
from crm.api import calls_router
from crm.api import router as crm_router
from queues.tokens import authenticate_agent_token

logger = logging.getLogger(__name__)

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


class AgentTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = authenticate_agent_token(token)
        if user is not None:
            # Views and actions read request.user as they would with a session.
            request.user = user
        return user


api = NinjaAPI(
    urls_namespace="api-v1",
    version="1",
    title="Chatportal API",
    description="Agent API tokens go in `Authorization: Bearer <token>` "
    "(`chatportal agent-token USER` prints one). "
    'Errors are `{"error": {"code": "...", "detail": "..."}}`.',
    auth=AgentTokenAuth(),
    # The interactive docs page loads its scripts from a CDN; the document is enough.
    docs_url=None,
)

api.add_router("/crm", crm_router)
api.add_router("/calls", calls_router)
api.add_router("/gdpr", gdpr_router)


def error_response(
    status: int, detail: str, *, code: str | None = None, **extra: Any
) -> JsonResponse:
    body: dict[str, Any] = {"code": code or ERROR_CODES.get(status, "error"), "detail": detail}
    body.update(extra)
    return JsonResponse({"error": body}, status=status)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields = [
        {
            "loc": [str(part) for part in error.get("loc", ())],
            "msg": str(error.get("msg", "invalid")),
        }
        for error in exc.errors
    ]
    detail = "; ".join(f"{'.'.join(f['loc'])}: {f['msg']}" for f in fields) or "invalid input"
    return error_response(422, detail, code="invalid", fields=fields)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = error_response(401, "a valid agent API token is required", code="unauthorized")
    response["WWW-Authenticate"] = 'Bearer realm="chatportal"'
    return response


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    status = exc.status_code if 400 <= exc.status_code < 600 else 500
    return error_response(status, str(exc.message))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    detail = str(exc) if exc.args and isinstance(exc.args[0], str) else "not found"
    return error_response(404, detail, code="not_found")


@api.exception_handler(PermissionDenied)
def on_permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return error_response(403, str(exc) or "forbidden", code="forbidden")


@api.exception_handler(MultiPartParserError)
@api.exception_handler(BadRequest)
@api.exception_handler(SuspiciousOperation)
def on_unreadable_body(request: HttpRequest, exc: Exception) -> HttpResponse:
    # What Django's own handler answers 400 for on pages (a body its parser
    # refuses, too many fields or files): the client's fault, not a 500.
    # Headers the parser refuses never get here (chatportal/input_guard.py).
    if isinstance(exc, RequestDataTooBig):
        return error_response(413, "the request body is too large", code="too_large")
    if isinstance(exc, SuspiciousOperation):
        logger.warning("suspicious request to %s: %s", request.path, type(exc).__name__)
    return error_response(400, "the request body could not be read", code="invalid")


@api.exception_handler(Exception)
def on_unexpected_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("API error on %s %s", request.method, request.path)
    return error_response(500, "internal server error", code="server_error")


def _json_method_not_allowed(view):
    # ninja answers a wrong method with a bare text 405; clients get our shape.
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            response = error_response(405, f"allowed methods: {allowed}")
            response["Allow"] = allowed
        return response

    return wrapper


def unknown_endpoint(request: HttpRequest, rest: str = "") -> HttpResponse:
    return error_response(404, "no such endpoint", code="not_found")


ROUTER_APPS = ("queues", "chat", "tickets", "frontend")


def mount_app_routers(target: NinjaAPI, apps: tuple[str, ...] = ROUTER_APPS) -> None:
    for app in apps:
        if importlib.util.find_spec(app) is None or importlib.util.find_spec(f"{app}.api") is None:
            continue
        # An import error in an app's api.py must fail loudly, not hide its endpoints.
        module = importlib.import_module(f"{app}.api")
        for prefix, router in getattr(module, "API_ROUTERS", ()):
            target.add_router(prefix, router)


mount_app_routers(api)


def _api_patterns() -> list[Any]:
    patterns, _app_name, _namespace = api.urls
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern.callback = _json_method_not_allowed(pattern.callback)
    return patterns


app_name = "api-v1"
urlpatterns = [
    *_api_patterns(),
    re_path(r"^(?P<rest>.*)$", unknown_endpoint, name="unknown"),
]
