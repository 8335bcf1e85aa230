"""Chat → ticket, without chat importing tickets.

The tickets app (a higher layer) registers its converter at start-up
(`TicketsConfig.ready()`); chat calls it only through here. The whole path,
in reading order:

1. the triggers, in `chat.actions.conversations`: `check_visitor_message`
   (a chat started while the department is offline: reason `offline`) and
   `check_visitor_close` (a queued chat the visitor ends: `left`); the
   agent socket's `to_ticket` (`chat.consumers.agent`: `agent`); the sweep
   (`chat.sweeper`, with the tickets app's registered sweep: `unanswered`);
2. this registry: `convert_on_request` / `convert_automatically`;
3. the converter, `tickets.conversion.convert_for_chat`: which chats
   qualify for each reason, and closing a queued one;
4. the ticket itself, `tickets.actions.convert_conversation`: the ticket,
   its transcript events, and the chat's `ticket` event (`chat.log`).

With no converter registered, `to_ticket` answers `not_available` and
nothing converts by itself.

A converter is `fn(conversation, *, subject, priority, by, reason)`
returning the conversation's event of kind `ticket` as a
`chat.log.Appended` (None when the chat did not qualify). `reason` is
`agent`, `offline`, `unanswered` or `left`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chat.models import Conversation

if TYPE_CHECKING:
    from chat.log import Appended

logger = logging.getLogger(__name__)

Converter = Callable[..., "Appended | None"]

_converter: Converter | None = None


def register_ticket_converter(fn: Converter) -> None:
    global _converter
    _converter = fn


def convert_on_request(
    conversation: Conversation, *, subject: str | None, priority: str | None, by: Any
) -> Appended | None:
    """An agent's `to_ticket`; None when this server has no tickets app."""
    if _converter is None:
        return None
    return _converter(conversation, subject=subject, priority=priority, by=by, reason="agent")


def convert_automatically(conversation_pk: int, *, reason: str) -> Appended | None:
    """Best effort: a failure is logged and never turns the visitor's frame into an error."""
    if _converter is None:
        return None
    conversation = Conversation.objects.filter(pk=conversation_pk).first()
    if conversation is None:
        return None
    try:
        return _converter(conversation, subject=None, priority=None, by=None, reason=reason)
    except Exception:
        logger.exception(
            "automatic ticket (%s) for conversation %s failed", reason, conversation_pk
        )
        return None
