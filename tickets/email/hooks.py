"""Where inbound mail comes in; each hook hands the raw message to `inbound.ingest_message`.

- `POST /api/v1/inbound-email`: the raw RFC 822 message as the request body,
  whatever Content-Type the MTA or script sends (`message/rfc822`,
  `text/plain`, `application/octet-stream`, even a form type: the body is
  never parsed as a form), authenticated by the shared secret in
  `X-Chatportal-Inbound-Secret`.
- `chatportal ingest_email` (the MTA pipe) in `tickets.management`.
- `/anymail/<provider>/inbound/`: the providers' inbound webhooks (Mailgun,
  Postmark, Amazon SES, SendGrid, …) through django-anymail, which checks
  the HTTP basic auth in the webhook URL (and Mailgun's signature) and
  sends its `inbound` signal; `take_provider_mail` turns the message back
  into bytes. The hooks answer 404 while no webhook secret is configured,
  since anymail would otherwise accept anyone.
"""

from __future__ import annotations

import copy
import functools
import hmac
import io
import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Field, Router, Schema
from ninja.errors import HttpError

from foundation.api_errors import error_responses
from foundation.openapi_extra import raw_body
from tickets.email.inbound import MAX_MESSAGE_BYTES, InboundError, ingest_message
from tickets.errors import TicketError

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Chatportal-Inbound-Secret"
# What a provider's JSON or form post may weigh: base64 grows a mail by a third.
MAX_WEBHOOK_BYTES = MAX_MESSAGE_BYTES * 3 // 2


# --- the raw endpoint --------------------------------------------------------------------

router = Router(tags=["inbound e-mail"])

try:
    from ninja import Status as _status
except ImportError:  # django-ninja < 1.5 answers a (status, body) tuple

    def _status(code: int, body: Any) -> Any:
        return code, body


def _secret_ok(request: HttpRequest) -> bool:
    expected = getattr(settings, "CHATPORTAL_INBOUND_EMAIL_SECRET", "") or ""
    given = request.headers.get(SECRET_HEADER, "")
    # An unset secret turns the endpoint off rather than accepting an empty one.
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def _raw_body(request: HttpRequest) -> bytes:
    # Read the stream, not `request.body`: mail with attachments is larger
    # than Django's in-memory limit (2.5 MB), and the body is never a form.
    raw = request.read(MAX_MESSAGE_BYTES + 1)
    if len(raw) > MAX_MESSAGE_BYTES:
        raise HttpError(413, "the message is too large")
    return raw


class InboundOut(Schema):
    outcome: str = Field(description='"created", "replied", "duplicate" or "ignored"')
    ticket: str | None = None
    reason: str | None = None


@router.post(
    "",
    auth=None,
    response={200: InboundOut, 201: InboundOut, **error_responses(400, 401, 404, 409, 413)},
    summary="Ingest one raw e-mail from the MTA",
    openapi_extra={
        **raw_body(
            "message/rfc822",
            "The whole RFC 822 message (any Content-Type is read raw)",
            example="From: Ana Pop <ana@example.com>\r\nTo: support@example.com\r\n"
            "Subject: The gateway is offline\r\n\r\nIt stopped answering this morning.\r\n",
        ),
        "parameters": [
            {
                "in": "header",
                "name": SECRET_HEADER,
                "required": True,
                "schema": {"type": "string"},
                "description": "CHATPORTAL_INBOUND_EMAIL_SECRET",
            }
        ],
    },
)
def inbound_email(request: HttpRequest):
    """Ingest one raw RFC 822 message (the request body) from the MTA."""
    if not _secret_ok(request):
        raise HttpError(401, f"a valid {SECRET_HEADER} header is required")
    try:
        result = ingest_message(_raw_body(request))
    except InboundError as exc:
        raise HttpError(400, exc.detail) from None
    except TicketError as exc:
        raise HttpError(exc.status, exc.detail) from None
    answer: dict[str, Any] = {"outcome": result.outcome}
    if result.ticket is not None:
        answer["ticket"] = result.ticket.number
    if result.reason:
        answer["reason"] = result.reason
    return _status(201 if result.outcome == "created" else 200, answer)


# --- the providers' webhooks (django-anymail) ----------------------------------------------


def take_provider_mail(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    """anymail's `inbound` signal: the message, as bytes, into the inbound action.

    A message we cannot use is logged and dropped (the provider would retry
    it forever); anything else raises, so the provider retries later.
    """
    message = event.message
    envelope_sender = getattr(message, "envelope_sender", None)
    if envelope_sender is not None and "Return-Path" not in message:
        # What an MTA would have written: a bounce's empty sender must be seen.
        message["Return-Path"] = f"<{envelope_sender}>"
    try:
        raw = message.as_bytes()
    except Exception:
        logger.warning("inbound e-mail from %s could not be written back as MIME", esp_name)
        return
    try:
        result = ingest_message(raw)
    except (InboundError, TicketError) as exc:
        logger.warning("inbound e-mail from %s not taken: %s", esp_name, exc.detail)
        return
    logger.info(
        "inbound e-mail from %s: %s %s",
        esp_name,
        result.outcome,
        result.ticket.number if result.ticket is not None else "-",
    )


def webhooks_configured(provider: str) -> bool:
    options = getattr(settings, "ANYMAIL", {}) or {}
    if not options.get("WEBHOOK_SECRET"):
        return False
    return provider != "mailgun" or bool(options.get("MAILGUN_WEBHOOK_SIGNING_KEY"))


def _guarded(view: Any, provider: str) -> Any:
    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not webhooks_configured(provider):
            return JsonResponse(
                {"error": {"code": "not_found", "detail": "inbound webhooks are not configured"}},
                status=404,
            )
        if request.method == "POST":
            # The provider's JSON or form holds the whole mail, over Django's
            # 2.5 MB in-memory limit: read it here, up to our own limit.
            body = request.read(MAX_WEBHOOK_BYTES + 1)
            if len(body) > MAX_WEBHOOK_BYTES:
                return JsonResponse(
                    {"error": {"code": "too_large", "detail": "the message is too large"}},
                    status=413,
                )
            request._body = body  # what `request.body` would have cached
            request._stream = io.BytesIO(body)
        return view(request, *args, **kwargs)

    return guarded


def provider_webhook_urls() -> list[Any]:
    """anymail's inbound webhook URLs (tracking ones are not ours), each behind the guard."""
    from anymail.urls import urlpatterns

    guarded = []
    for pattern in urlpatterns:
        name = pattern.name or ""
        if not name.endswith("_inbound_webhook"):
            continue
        own = copy.copy(pattern)
        own.callback = _guarded(pattern.callback, name.removesuffix("_inbound_webhook"))
        guarded.append(own)
    return guarded
