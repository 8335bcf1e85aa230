"""Chat → ticket, without chat importing tickets.

The tickets app (a higher layer) registers its converter at start-up
(`TicketsConfig.ready()`); the agent socket's `to_ticket` and the chat
actions' automatic conversions (`check_visitor_message`: a chat started
while the department is offline; `check_visitor_close`: a queued chat the
visitor ends) call it through here. With no
converter registered, `to_ticket` answers `not_available` and nothing
converts by itself.

A converter is `fn(conversation, *, subject, priority, by, reason)`
returning the conversation's event of kind `ticket` as an
`chat.actions.Appended` (None when the chat did not qualify). `reason` is
`agent`, `offline`, `unanswered` or `left`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chat.actions import Appended
    from chat.models import Conversation

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
    from chat.models import Conversation

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
