"""Outgoing webhooks: the one entry point, reachable from every layer.

An action that changes something the company's other systems want to hear
of calls `enqueue_webhook(event, payload)` inside its transaction. The
webhook machinery (the `integrations` app, above the apps that call this)
registers itself here at start-up and writes one outbox row per subscribed
endpoint in that same transaction: a rollback takes the webhook with it, a
commit makes it durable, and the sender delivers it after the commit.

`payload` is a dict of ids and scalars (datetimes, dates and decimals are
written as ISO 8601 and decimal strings) or a function returning one, so that building it costs nothing when no
endpoint listens to the event. Without `integrations` installed the call
does nothing.

Events and who sends them:

- `ticket.created`, `ticket.updated`: tickets' event log (tickets/actions/log.py)
- `conversation.closed`: chat (chat/actions/conversations.py)
- `call.ended`: the call log, when a call reaches `ended` (crm/actions.py `record_call`)
- `contact.linked`: linking a chat, ticket or call to a contact
  (crm/actions.py `announce_contact_linked`, called by chat/actions/contacts.py,
  tickets/actions/contacts.py and `attach_call_to_contact`).

docs/protocol.md describes every payload and the signature.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Payload = dict[str, Any]
PayloadSource = Payload | Callable[[], Payload]

WEBHOOK_EVENTS = (
    "ticket.created",
    "ticket.updated",
    "conversation.closed",
    "call.ended",
    "contact.linked",
)

_sink: Callable[[str, PayloadSource], None] | None = None


def register_webhook_sink(sink: Callable[[str, PayloadSource], None]) -> None:
    """The outbox writer (`integrations`); called from its AppConfig.ready()."""
    global _sink
    _sink = sink


def enqueue_webhook(event: str, payload: PayloadSource) -> None:
    """Queue `event` for every endpoint that subscribes to it, in the caller's transaction."""
    if event not in WEBHOOK_EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    if _sink is not None:
        _sink(event, payload)
