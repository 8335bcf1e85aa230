"""HTTP API v1: one NinjaAPI, the apps' routers, bearer auth, JSON errors.

Mounted with `path("api/v1/", include("chatportal.api"))`. Every endpoint
needs `Authorization: Bearer <agent API token>` (see `queues/tokens.py`);
the OpenAPI document at `/api/v1/openapi.json` is public, its interactive
page at `/api/v1/docs` is for staff (Swagger UI from django-ninja's own
static files, no CDN).

Every error answers `{"error": {"code": "...", "detail": "..."}}`. Endpoints
raise `ninja.errors.HttpError(status, detail)` (the code follows from the
status, see ERROR_CODES in foundation/api_errors.py), `django.http.Http404`,
or `PermissionDenied`; anything else becomes a logged 500 `server_error`
without a trace.

The document is a contract (tests/api/test_openapi_contract.py runs
schemathesis against it): each route declares the statuses it answers
itself, and ChatportalAPI adds those that every route of a kind answers.

Apps above crm mount their endpoints without editing this file: their
`<app>.api` module (or package) exposes `API_ROUTERS = [("/tickets", router), ...]`, picked up
below in import-direction order (see ROUTER_APPS).
Bearer-token endpoints need no CSRF token: ninja exempts its views from the
CSRF middleware and only cookie authentication checks CSRF itself.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import logging
from http.client import responses as reason_phrases
from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import (
    BadRequest,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.http.multipartparser import MultiPartParserError
from django.urls import URLPattern, path, re_path
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.schema import REF_TEMPLATE
from ninja.openapi.views import openapi_view
from ninja.security import HttpBearer

from chatportal.gdpr_api import router as gdpr_router
from crm.api import router as crm_router
from foundation.api_errors import ErrorOut, error_response
from queues.tokens import authenticate_agent_token

logger = logging.getLogger(__name__)


class AgentTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = authenticate_agent_token(token)
        if user is not None:
            # Views and actions read request.user as they would with a session.
            request.user = user
        return user


def declare_common_errors(document: dict[str, Any]) -> None:
    """Add to each operation the errors that every route of its kind answers.

    Every request can be refused at the door with 400 (NUL characters, see
    chatportal/input_guard.py; a malformed body); a route with a token
    answers 401 without a valid one; a body can be too large (413); and
    what ninja validates (query parameters, a JSON body) answers 422.
    """
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    if "ErrorOut" not in schemas:
        error_schema = ErrorOut.model_json_schema(ref_template=REF_TEMPLATE, mode="serialization")
        schemas.update(error_schema.pop("$defs", {}))
        schemas["ErrorOut"] = error_schema
    error_ref = REF_TEMPLATE.format(model="ErrorOut")
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            statuses = {400}
            if operation.get("security"):
                statuses.add(401)
            body = operation.get("requestBody")
            if body:
                statuses.add(413)
            if (body and "application/json" in body.get("content", {})) or any(
                parameter.get("in") == "query" for parameter in operation.get("parameters", ())
            ):
                statuses.add(422)
            answers = operation.setdefault("responses", {})
            for status in statuses:
                if status not in answers and str(status) not in answers:
                    answers[status] = {
                        "description": reason_phrases[status],
                        "content": {"application/json": {"schema": {"$ref": error_ref}}},
                    }
            operation["responses"] = dict(sorted(answers.items(), key=lambda item: str(item[0])))


class ChatportalAPI(NinjaAPI):
    def get_openapi_schema(self, **kwargs: Any) -> Any:
        document = super().get_openapi_schema(**kwargs)
        declare_common_errors(document)
        return document


api = ChatportalAPI(
    urls_namespace="api-v1",
    version="1",
    title="Chatportal API",
    description="Agent API tokens go in `Authorization: Bearer <token>` "
    "(`chatportal agent-token USER` prints one). "
    'Errors are `{"error": {"code": "...", "detail": "..."}}`.',
    auth=AgentTokenAuth(),
    # The docs page is mounted below for staff only: ninja's docs_decorator
    # would guard the public openapi.json as well.
    docs_url=None,
    # No validator badge: Swagger UI would fetch it from validator.swagger.io.
    docs=Swagger(settings={"validatorUrl": None}),
)

api.add_router("/crm", crm_router)
api.add_router("/gdpr", gdpr_router)


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


@api.exception_handler(RequestDataTooBig)
def on_request_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return error_response(413, "the request body is too large")


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


ROUTER_APPS = ("queues", "chat", "tickets", "kb", "reports", "frontend")


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
            if pattern.name == "api-root":
                # ninja's root view raises a bare Http404 (Django's HTML page); the
                # name must stay, ninja reverses it to find the API's prefix.
                pattern.callback = unknown_endpoint
            pattern.callback = _json_method_not_allowed(pattern.callback)
    return patterns


# Swagger UI from django-ninja's bundled static files ("ninja" is an installed
# app, so its template loads them from /static/ninja/, never from a CDN).
docs_page = staff_member_required(functools.partial(openapi_view, api=api))

app_name = "api-v1"
urlpatterns = [
    *_api_patterns(),
    path("docs", docs_page, name="openapi-view"),
    re_path(r"^(?P<rest>.*)$", unknown_endpoint, name="unknown"),
]
