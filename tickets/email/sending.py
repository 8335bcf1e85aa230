"""Sending what the outbox holds: after each commit, on every worker's tick, with retries.

`deliver_due_emails` claims due rows (`tickets.locks.claim_due_email`, safe
in several workers at once), sends each with the SMTP timeout
(`EMAIL_TIMEOUT`), and on failure retries with doubling delays; after the
last attempt the row is given up and the ticket shows "not delivered" to its
agents (`tickets.actions.mail.record_undelivered_email`). `kick_delivery`
runs it in this process's sender thread once a transaction that queued mail
commits (`tickets.notifications.outbox` calls it; registered at start-up). The
periodic maintenance tick of every worker also runs `deliver_due_emails`,
which picks up retries and anything a crashed worker left behind.

Delivery is at least once: a relay that took a mail but answered too late
gets it again, with the same Message-ID, which mail clients collapse.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import smtplib
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import close_old_connections, connections, transaction
from django.utils import timezone

from tickets.actions.mail import record_undelivered_email
from tickets.locks import claim_due_email
from tickets.models import OutboundEmail
from tickets.notifications.outbound import ComposedEmail, compose_sign_in_link, email_message

logger = logging.getLogger(__name__)

Kind = OutboundEmail.Kind
State = OutboundEmail.State

# Rows one call sends at most; the next tick (or kick) takes the rest.
BATCH = 50
# The longest wait between two attempts, however many failed before.
MAX_RETRY_DELAY_S = 3600


# --- sending -------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    dropped: int = 0


def retry_delay_s(attempts: int) -> float:
    """The wait after the `attempts`-th failure: the base, doubled each time, capped."""
    base = float(settings.CHATPORTAL_EMAIL_RETRY_BASE_S)
    return min(base * 2 ** max(attempts - 1, 0), MAX_RETRY_DELAY_S)


def _lease_s() -> float:
    # Longer than one send can take (connect plus a few commands, each
    # bounded by the timeout): a live sender never loses its row to another.
    return 6 * float(settings.EMAIL_TIMEOUT or 10) + 30


def deliver_due_emails(
    *, now: datetime.datetime | None = None, limit: int = BATCH
) -> DeliveryReport:
    """Send what is due; safe to run in every worker at once (rows are claimed).

    One relay connection serves the batch. A relay that cannot be reached
    (refused, timed out, disconnected) ends the batch after the first
    failure: the other rows stay due for the next tick instead of each
    waiting out the same timeout.
    """
    report = DeliveryReport()
    connections_by_backend: dict[str, object] = {}
    try:
        for _ in range(limit):
            started = now or timezone.now()
            lease_until = started + datetime.timedelta(seconds=_lease_s())
            row = claim_due_email(now=started, lease_until=lease_until)
            if row is None:
                break
            if row.expires_at is not None and row.expires_at <= started:
                _finish(row, state=State.DROPPED, error="expired before it could be sent")
                report.dropped += 1
                continue
            backend = row.backend or settings.EMAIL_BACKEND
            connection = None
            try:
                message = _message_for(row)
                if message is None:
                    # A sign-in link asked for an address that is nobody's.
                    _finish(row, state=State.DROPPED)
                    report.dropped += 1
                    continue
                connection = connections_by_backend.get(backend)
                if connection is None:
                    connection = get_connection(backend, fail_silently=False)
                    connections_by_backend[backend] = connection
                message.connection = connection
                if not message.send():
                    raise RuntimeError("the backend accepted no message")
            except Exception as exc:  # noqa: BLE001 - any backend failure is a failed attempt
                connections_by_backend.pop(backend, None)
                _close_quietly(connection)
                if _failed(row, exc, now=now):
                    report.failed += 1
                else:
                    report.retrying += 1
                if _relay_unreachable(exc):
                    break
                continue
            _finish(row, state=State.SENT)
            report.sent += 1
    finally:
        for connection in connections_by_backend.values():
            _close_quietly(connection)
    return report


def _relay_unreachable(exc: Exception) -> bool:
    # smtplib's errors are OSErrors too; only those that say nothing about
    # this one message (refused, timed out, cut off) mean the relay is away.
    if isinstance(exc, smtplib.SMTPConnectError | smtplib.SMTPServerDisconnected):
        return True
    return isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException)


def _permanent(exc: Exception) -> bool:
    """A 5xx answer for this message: retrying cannot help (RFC 5321 §4.2.1)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _message in exc.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    return (
        isinstance(exc, smtplib.SMTPResponseException)
        and not isinstance(exc, smtplib.SMTPConnectError)
        and exc.smtp_code >= 500
    )


def _close_quietly(connection: object) -> None:
    with contextlib.suppress(Exception):
        connection.close()  # type: ignore[attr-defined]


def _message_for(row: OutboundEmail) -> EmailMultiAlternatives | None:
    if row.kind == Kind.SIGN_IN_LINK:
        # Composed now: only the sender learns whether the address has an
        # account, and a link at rest in the table would be a live key.
        composed = compose_sign_in_link(row.to[0]) if row.to else None
        if composed is None:
            return None
    else:
        headers = dict(row.headers)
        reply_to = [a.strip() for a in headers.pop("Reply-To", "").split(",") if a.strip()]
        composed = ComposedEmail(
            to=list(row.to),
            subject=row.subject,
            text=row.text_body,
            html=row.html_body,
            headers=headers,
            reply_to=reply_to,
        )
    return email_message(composed, message_id=row.message_id)


def _finish(row: OutboundEmail, *, state: str, error: str = "") -> None:
    fields: dict[str, object] = {"state": state, "last_error": error[:500]}
    if state == State.SENT:
        fields["sent_at"] = timezone.now()
    if row.kind == Kind.SIGN_IN_LINK:
        # A sign-in request's address is needed only until it is done with.
        fields["to"] = []
    OutboundEmail.objects.filter(pk=row.pk, attempts=row.attempts).update(**fields)


def _failed(row: OutboundEmail, exc: Exception, *, now: datetime.datetime | None) -> bool:
    """Record a failed attempt; True if it was the last one."""
    error = f"{type(exc).__name__}: {exc}"[:500]
    if row.attempts < settings.CHATPORTAL_EMAIL_MAX_ATTEMPTS and not _permanent(exc):
        retry_at = (now or timezone.now()) + datetime.timedelta(seconds=retry_delay_s(row.attempts))
        OutboundEmail.objects.filter(pk=row.pk, attempts=row.attempts).update(
            next_attempt_at=retry_at, last_error=error
        )
        logger.warning(
            "mail %s (%s) not sent, attempt %s, retry at %s: %s",
            row.message_id,
            row.kind,
            row.attempts,
            retry_at.isoformat(),
            error,
        )
        return False
    with transaction.atomic():
        updated = OutboundEmail.objects.filter(pk=row.pk, attempts=row.attempts).update(
            state=State.FAILED,
            last_error=error,
            **({"to": []} if row.kind == Kind.SIGN_IN_LINK else {}),
        )
        if updated and row.ticket_id is not None:
            record_undelivered_email(row)
    logger.error(
        "mail %s (%s) given up after %s attempts: %s", row.message_id, row.kind, row.attempts, error
    )
    return True


# --- the periodic tick and the after-commit kick -------------------------------------


def sweep_outbox(now: datetime.datetime | None = None) -> dict[str, int]:
    """For every worker's periodic sweep: wake the sender when mail is due (retries, leftovers).

    The sweep runs on the worker's one database thread, which must not wait
    out a relay's timeout; the sending itself happens in the sender thread.
    """
    due = OutboundEmail.objects.filter(
        state=State.PENDING, next_attempt_at__lte=now or timezone.now()
    ).exists()
    if due:
        kick_delivery()
    return {"mail_due": int(due)}


_kick_lock = threading.Lock()
_sender_running = False
_kicked_again = False


def kick_delivery() -> None:
    """Send what just committed, in this process's sender thread; never blocks the caller.

    Kicks that come while the thread is sending coalesce into one more pass.
    """
    global _sender_running, _kicked_again
    mode = getattr(settings, "CHATPORTAL_EMAIL_AFTER_COMMIT", "thread")
    if mode == "off":
        return
    if mode == "inline":  # tests that read mail.outbox right after the commit
        deliver_due_emails()
        return
    with _kick_lock:
        if _sender_running:
            _kicked_again = True
            return
        _sender_running = True
        _kicked_again = False
    threading.Thread(target=_sender_thread, name="chatportal-outbox", daemon=True).start()


def _sender_thread() -> None:
    global _sender_running, _kicked_again
    try:
        while True:
            try:
                close_old_connections()
                deliver_due_emails()
            except Exception:
                logger.exception("outbox delivery failed; the maintenance tick retries")
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
