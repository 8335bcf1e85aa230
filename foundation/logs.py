"""Log lines as text or JSON (`CHATPORTAL_LOG_FORMAT=text|json`), with request ids.

`RequestIdMiddleware` (an ASGI middleware around the whole application in
chatportal/asgi.py) gives every HTTP request and every WebSocket connection
an id in a context variable: a well-formed `X-Request-ID` from the proxy is
kept, otherwise an HTTP request gets a new one (echoed in the response) and a
socket gets `ws-<hex>`. Everything the request or connection logs, including
from the threads `database_sync_to_async` runs it in (asgiref copies the
context), carries it. `RequestIdFilter` puts it on each record as
`request_id` ("-" outside a request), and `JsonFormatter` writes one JSON
object per line: `ts`, `level`, `logger`, `message`, `request_id`, `exc`
(the traceback, for the log only), plus any `extra={...}` fields.
"""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import re
import uuid
from typing import Any

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar(
    "chatportal_request_id", default="-"
)
VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "request_id",
    "taskName",
}


def current_request_id() -> str:
    return REQUEST_ID.get()


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; values that JSON cannot hold are written with str()."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", REQUEST_ID.get()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def logging_config(*, log_format: str, level: str) -> dict[str, Any]:
    """The LOGGING setting for `CHATPORTAL_LOG_FORMAT` (`text` or `json`)."""
    formatter = "json" if log_format.strip().lower() == "json" else "text"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "foundation.logs.RequestIdFilter"}},
        "formatters": {
            "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
            "json": {"()": "foundation.logs.JsonFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": formatter,
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"django.channels.server": {"level": "WARNING"}},
    }


class RequestIdMiddleware:
    """ASGI middleware: one id per HTTP request or WebSocket connection."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        if scope["type"] == "http":
            request_id = given if VALID_REQUEST_ID.match(given) else uuid.uuid4().hex
            token = REQUEST_ID.set(request_id)
            header = (b"x-request-id", request_id.encode("ascii"))

            async def send_with_id(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    message = {**message, "headers": [*message.get("headers", []), header]}
                await send(message)

            try:
                return await self.app(scope, receive, send_with_id)
            finally:
                REQUEST_ID.reset(token)
        if scope["type"] == "websocket":
            token = REQUEST_ID.set(
                given if VALID_REQUEST_ID.match(given) else f"ws-{uuid.uuid4().hex[:16]}"
            )
            try:
                return await self.app(scope, receive, send)
            finally:
                REQUEST_ID.reset(token)
        return await self.app(scope, receive, send)
