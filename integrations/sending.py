"""Sending what the webhook outbox holds: after each commit, on every worker's tick, with retries.

`deliver_due_webhooks` claims due deliveries (`integrations.locks`, safe in
several workers at once) and POSTs each, signed (`integrations.signing`),
with a timeout. A 2xx answer delivers it; anything else (another status, a
refused connection, a timeout) is a failed attempt, retried after doubling
delays (`retry_delay_s`) until `CHATPORTAL_WEBHOOK_MAX_ATTEMPTS`, then given
up. Every attempt is logged (`WebhookAttempt`) for the admin. Redirects are
not followed: the configured URL is the one that gets the data.

Like the mail outbox (tickets/email/sending.py): `kick_delivery` runs it in
this process's sender thread once a transaction that queued a delivery
commits, and every worker's sweep (`sweep_webhooks`, registered on chat's
sweep loop) wakes that thread when retries fall due. Delivery is at least
once; receivers drop repeats by the event `id`.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone

from integrations.locks import claim_due_delivery
from integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from integrations.signing import SIGNATURE_HEADER, signature_header

logger = logging.getLogger(__name__)

State = WebhookDelivery.State

BATCH = 50
MAX_RETRY_DELAY_S = 6 * 3600
EXCERPT = 500
USER_AGENT = "Chatportal-Webhooks/1"


@dataclass
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


@dataclass(frozen=True, slots=True)
class Answer:
    status_code: int | None
    excerpt: str
    error: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def retry_delay_s(attempts: int) -> float:
    """The wait after the `attempts`-th failure: the base, doubled each time, capped."""
    base = float(settings.CHATPORTAL_WEBHOOK_RETRY_BASE_S)
    return min(base * 2 ** max(attempts - 1, 0), MAX_RETRY_DELAY_S)


def _timeout_s() -> float:
    return float(settings.CHATPORTAL_WEBHOOK_TIMEOUT_S)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> Answer:
    """One signed POST; never raises for what the receiver or the network does."""
    body = delivery.body.encode()
    request = urllib.request.Request(  # noqa: S310 - the admin allows http(s) URLs only
        endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Chatportal-Event": delivery.event_type,
            "X-Chatportal-Event-Id": str(delivery.event_id),
            "X-Chatportal-Delivery-Attempt": str(delivery.attempts),
            SIGNATURE_HEADER: signature_header(endpoint.secret, int(time.time()), body),
        },
    )
    try:
        with _opener.open(request, timeout=_timeout_s()) as response:
            return Answer(response.status, _excerpt(response), "")
    except urllib.error.HTTPError as exc:
        with exc:
            return Answer(exc.code, _excerpt(exc), f"HTTP {exc.code}")
    except (OSError, ValueError) as exc:  # refused, timed out, reset, unreadable URL
        return Answer(None, "", f"{type(exc).__name__}: {exc}"[:EXCERPT])


def _excerpt(response) -> str:  # type: ignore[no-untyped-def]
    try:
        return response.read(EXCERPT).decode("utf-8", "replace")
    except (OSError, ValueError):
        return ""


def deliver_due_webhooks(
    *, now: datetime.datetime | None = None, limit: int = BATCH
) -> DeliveryReport:
    """Send what is due; safe to run in every worker at once (rows are claimed)."""
    report = DeliveryReport()
    for _ in range(limit):
        started = now or timezone.now()
        lease = datetime.timedelta(seconds=_timeout_s() * 2 + 30)
        row = claim_due_delivery(now=started, lease_until=started + lease)
        if row is None:
            break
        endpoint = WebhookEndpoint.objects.get(pk=row.endpoint_id)
        clock = time.monotonic()
        answer = (
            post(endpoint, row)
            if endpoint.is_active
            else Answer(None, "", "the endpoint was deactivated")
        )
        WebhookAttempt.objects.create(
            delivery=row,
            number=row.attempts,
            attempted_at=started,
            status_code=answer.status_code,
            response_excerpt=answer.excerpt[:EXCERPT],
            error=answer.error[:EXCERPT],
            duration_ms=int((time.monotonic() - clock) * 1000),
        )
        fields: dict[str, object] = {
            "last_status_code": answer.status_code,
            "last_error": answer.error[:EXCERPT],
        }
        if answer.ok:
            fields.update(state=State.DELIVERED, delivered_at=timezone.now())
            report.delivered += 1
        elif row.attempts < settings.CHATPORTAL_WEBHOOK_MAX_ATTEMPTS and endpoint.is_active:
            retry_at = (now or timezone.now()) + datetime.timedelta(
                seconds=retry_delay_s(row.attempts)
            )
            fields["next_attempt_at"] = retry_at
            report.retrying += 1
            logger.warning(
                "webhook %s to %s failed (attempt %s), retry at %s: %s",
                row.event_type,
                endpoint.name,
                row.attempts,
                retry_at.isoformat(),
                answer.error,
            )
        else:
            fields["state"] = State.FAILED
            report.failed += 1
            logger.error(
                "webhook %s to %s given up after %s attempts: %s",
                row.event_type,
                endpoint.name,
                row.attempts,
                answer.error,
            )
        WebhookDelivery.objects.filter(pk=row.pk, attempts=row.attempts).update(**fields)
    return report


# --- the periodic tick and the after-commit kick -------------------------------------


def sweep_webhooks(now: datetime.datetime | None = None) -> dict[str, int]:
    """For every worker's periodic sweep: wake the sender when deliveries are due.

    The sweep runs on the worker's database thread, which must not wait out
    a receiver's timeout; the sending happens in the sender thread.
    """
    due = WebhookDelivery.objects.filter(
        state=State.PENDING, next_attempt_at__lte=now or timezone.now()
    ).exists()
    if due:
        kick_delivery()
    return {"webhooks_due": int(due)}


_kick_lock = threading.Lock()
_sender_running = False
_kicked_again = False


def kick_delivery() -> None:
    """Send what just committed, in this process's sender thread; never blocks the caller."""
    global _sender_running, _kicked_again
    mode = settings.CHATPORTAL_WEBHOOK_AFTER_COMMIT
    if mode == "off":
        return
    if mode == "inline":
        deliver_due_webhooks()
        return
    with _kick_lock:
        if _sender_running:
            _kicked_again = True
            return
        _sender_running = True
        _kicked_again = False
    threading.Thread(target=_sender_thread, name="chatportal-webhooks", daemon=True).start()


def _sender_thread() -> None:
    global _sender_running, _kicked_again
    try:
        while True:
            try:
                close_old_connections()
                deliver_due_webhooks()
            except Exception:
                logger.exception("webhook delivery failed; the maintenance tick retries")
            with _kick_lock:
                if not _kicked_again:
                    _sender_running = False
                    return
                _kicked_again = False
    finally:
        with _kick_lock:
            _sender_running = False
        connections.close_all()


def wait_for_sender(timeout_s: float = 10) -> bool:
    """Block until this process's sender thread is idle (tests); False on timeout."""
    deadline = time.monotonic() + timeout_s
    while _sender_running:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
