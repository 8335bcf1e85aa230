"""Group names and the (small, typed) messages chat sends through the layer.

Group names: letters, digits, `.`, `_`, `-`; under 100 characters; no colons.
Department and agent groups are the queues app's (`queues.events`), so that
presence and chat reach the same sockets.
"""

from __future__ import annotations

import uuid
from typing import Literal, TypedDict

from queues.events import agent_group, department_group

__all__ = [
    "agent_group",
    "conversation_group",
    "department_group",
    "visitor_group",
]


def conversation_group(public_id: uuid.UUID | str) -> str:
    return f"conv.{uuid.UUID(str(public_id)).hex}"


def visitor_group(public_id: uuid.UUID | str) -> str:
    return f"visitor.{uuid.UUID(str(public_id)).hex}"


# Events up to this size ride along with their doorbell, so that a socket
# whose mark is exactly seq - 1 sends it without reading the log back.
INLINE_EVENT_MAX_CHARS = 2000


class EventAppended(TypedDict, total=False):
    """The doorbell: something was appended; read the log past your last seq.

    `event` (optional) is the event frame as agents see it. It is only a
    shortcut: a socket uses it when it is the very next seq for it, and reads
    the log otherwise, so order and exactly-once never depend on the layer.
    """

    type: Literal["conversation.event_appended"]
    conversation: str
    seq: int
    event: dict


def event_appended(
    conversation: uuid.UUID | str, seq: int, *, frame: dict | None = None
) -> EventAppended:
    doorbell: EventAppended = {
        "type": "conversation.event_appended",
        "conversation": str(conversation),
        "seq": seq,
    }
    if frame is not None and len(str(frame.get("body", ""))) <= INLINE_EVENT_MAX_CHARS:
        doorbell["event"] = frame
    return doorbell


class ConversationStarted(TypedDict):
    """To the visitor's group: other tabs of the same visitor join the new chat."""

    type: Literal["conversation.started"]
    conversation: str


def conversation_started(conversation: uuid.UUID | str) -> ConversationStarted:
    return {"type": "conversation.started", "conversation": str(conversation)}


class ConversationAssigned(TypedDict):
    """To the agent's group: every socket of that agent follows the chat."""

    type: Literal["conversation.assigned"]
    conversation: str


def conversation_assigned(conversation: uuid.UUID | str) -> ConversationAssigned:
    return {"type": "conversation.assigned", "conversation": str(conversation)}


class QueueChanged(TypedDict):
    """To the department's group: each agent socket re-reads the queue."""

    type: Literal["queue.changed"]
    department: str


def queue_changed(department_slug: str) -> QueueChanged:
    return {"type": "queue.changed", "department": department_slug}


class ParticipantTyping(TypedDict):
    type: Literal["conversation.typing"]
    conversation: str
    role: str
    active: bool
    sender: str  # channel name of the socket that typed, so it gets no echo


def participant_typing(
    conversation: uuid.UUID | str, *, role: str, active: bool, sender: str
) -> ParticipantTyping:
    return {
        "type": "conversation.typing",
        "conversation": str(conversation),
        "role": role,
        "active": active,
        "sender": sender,
    }


class ParticipantRead(TypedDict):
    type: Literal["conversation.read"]
    conversation: str
    role: str
    seq: int
    sender: str


def participant_read(
    conversation: uuid.UUID | str, *, role: str, seq: int, sender: str
) -> ParticipantRead:
    return {
        "type": "conversation.read",
        "conversation": str(conversation),
        "role": role,
        "seq": seq,
        "sender": sender,
    }


class ConversationUnassigned(TypedDict):
    """To the agent's group: the chat was taken away (requeue, transfer)."""

    type: Literal["conversation.unassigned"]
    conversation: str
    reason: str


def conversation_unassigned(
    conversation: uuid.UUID | str, *, reason: str
) -> ConversationUnassigned:
    return {"type": "conversation.unassigned", "conversation": str(conversation), "reason": reason}


class CallChanged(TypedDict):
    type: Literal["call.changed"]
    call: str


def call_changed(call: uuid.UUID | str) -> CallChanged:
    """A phone call rang or moved on; the agent socket reads it and sends a `call` frame."""
    return {"type": "call.changed", "call": str(call)}
