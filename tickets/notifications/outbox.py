"""The durable outbox: mail is a row written with its event, sent after the commit.

`enqueue_email` writes an `OutboundEmail` in the caller's transaction and,
once that commits, wakes this process's sender (`tickets.email.sending`):
the request never talks to the relay. Actions put a customer's notification
in here with its event (`notify_customer_on_commit`); the portal its sign-in
links (`request_sign_in_link`). A rolled-back transaction takes its mail
with it. What the mail says is `tickets.notifications.outbound`'s business.

The sender records a mail it gave up on as an event on the ticket, through
the actions that themselves fill this outbox; so it sits above them and
registers its wake-up here at start-up (`TicketsConfig.ready`) instead of
being imported.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tickets import customers
from tickets.models import OutboundEmail, Ticket, TicketEvent
from tickets.notifications.outbound import (
    ComposedEmail,
    compose_acknowledgement,
    compose_notification,
    compose_transcript,
    new_message_id,
    thread_message_id,
)

# The demo's mail goes to the console whatever the deployment's backend is
# (`outbox_backend` below); rows remember it, so whichever worker sends them.
_backend_for_new_rows: contextvars.ContextVar[str] = contextvars.ContextVar(
    "outbox_backend", default=""
)


@contextlib.contextmanager
def outbox_backend(backend: str) -> Iterator[None]:
    """Mail queued inside this block goes through `backend` (e.g. the console), not the relay."""
    token = _backend_for_new_rows.set(backend)
    try:
        yield
    finally:
        _backend_for_new_rows.reset(token)


_wake_sender: Callable[[], None] | None = None


def register_sender(wake: Callable[[], None]) -> None:
    """The sender's wake-up, called after every commit that queued mail."""
    global _wake_sender
    _wake_sender = wake


def _wake_sender_after_commit() -> None:
    if _wake_sender is not None:
        _wake_sender()


def enqueue_email(
    kind: str,
    composed: ComposedEmail,
    *,
    ticket: Ticket | None = None,
    event: TicketEvent | None = None,
    expires_in_s: float | None = None,
    message_id: str = "",
) -> OutboundEmail:
    """Write the mail into the outbox in the caller's transaction; send it after the commit."""
    now = timezone.now()
    headers = dict(composed.headers)
    if composed.reply_to:
        headers["Reply-To"] = ", ".join(composed.reply_to)
    row = OutboundEmail.objects.create(
        kind=kind,
        ticket=ticket,
        event=event,
        to=list(composed.to),
        subject=composed.subject,
        text_body=composed.text,
        html_body=composed.html,
        headers=headers,
        message_id=message_id or new_message_id(),
        backend=_backend_for_new_rows.get(),
        next_attempt_at=now,
        expires_at=now + datetime.timedelta(seconds=expires_in_s) if expires_in_s else None,
    )
    transaction.on_commit(_wake_sender_after_commit, robust=True)
    return row


def notify_customer_on_commit(ticket: Ticket, event: TicketEvent) -> None:
    """For actions: put the customer's mail for `event` in the outbox, in this transaction.

    The outbox sends it once the transaction commits (and retries it); a
    rollback takes the mail with it. A ticket's `created` event brings the
    requester's acknowledgement, whatever channel opened it.
    """
    if event.kind == TicketEvent.Kind.CREATED:
        if not getattr(settings, "CHATPORTAL_TICKET_ACKNOWLEDGEMENTS", True):
            return
        acknowledgement = compose_acknowledgement(ticket)
        if acknowledgement is not None:
            enqueue_email(
                OutboundEmail.Kind.ACKNOWLEDGEMENT,
                acknowledgement,
                ticket=ticket,
                event=event,
                message_id=thread_message_id(ticket),
            )
        return
    composed = compose_notification(ticket, event)
    if composed is None:
        return
    enqueue_email(OutboundEmail.Kind.NOTIFICATION, composed, ticket=ticket, event=event)


def send_transcript(conversation: Any) -> None:
    """For chat (`chat.transcripts`): queue the ended chat's transcript, in its transaction."""
    composed = compose_transcript(conversation)
    if composed is None:
        return
    ticket = Ticket.objects.filter(conversation=conversation).first()
    enqueue_email(OutboundEmail.Kind.TRANSCRIPT, composed, ticket=ticket)


def request_sign_in_link(address: str) -> None:
    """Queue a portal sign-in link for `address`, whoever it belongs to.

    The request does the same work for every address (one row); the sender
    decides whether the address is a customer's (`compose_sign_in_link`), so
    neither the answer nor its timing tells an address with an account from
    one without, whatever the relay does.
    """
    enqueue_email(
        OutboundEmail.Kind.SIGN_IN_LINK,
        ComposedEmail(to=[address.strip().lower()], subject="", text=""),
        expires_in_s=customers.PORTAL_LINK_MAX_AGE_S,
    )
