"""A chat's transcript by e-mail when it ends, without chat importing tickets.

The mail goes through the tickets app's outbox (a higher layer), which
registers its sender at start-up (`TicketsConfig.ready()`); chat calls it
from `close_in_transaction`, inside the closing transaction, so a
rolled-back close mails nobody. Who gets one: a visitor who ticked "Email me
a transcript" in the widget (`Visitor.transcript_requested`), or anyone
chatting with a department that sends them always
(`Department.send_transcripts`); either way only with an e-mail address.
"""

from __future__ import annotations

from collections.abc import Callable

from chat.models import Conversation

Sender = Callable[[Conversation], object]

_sender: Sender | None = None

# A visitor's chat closed as `merged` goes on in the verified visitor's chat.
NO_TRANSCRIPT_REASONS = frozenset({"merged"})


def register_transcript_sender(fn: Sender) -> None:
    global _sender
    _sender = fn


def wants_transcript(conversation: Conversation) -> bool:
    return bool(
        conversation.visitor.transcript_requested or conversation.department.send_transcripts
    )


def transcript_on_close(conversation_pk: int, *, reason: str) -> None:
    """For `close_in_transaction`: queue the transcript if one is due (in the caller's transaction)."""
    if _sender is None or reason in NO_TRANSCRIPT_REASONS:
        return
    conversation = (
        Conversation.objects.select_related("visitor", "department", "contact")
        .filter(pk=conversation_pk)
        .first()
    )
    if conversation is None or not wants_transcript(conversation):
        return
    _sender(conversation)
