"""The frames both baselines speak: the subset of Chatportal's protocol bench/loadgen.py uses.

Visitor (/ws/widget/): hello -> welcome; message -> ack (the first one opens
the conversation). Agent (/ws/agent/): hello -> welcome; presence (ignored);
accept -> assigned; message with `conversation` -> ack. Either side: ping ->
pong. Each message reaches the other side as an `event` of kind `message`.
No authentication: any token is welcome (the baselines measure the message
path, not sign-in).
"""

from __future__ import annotations

import json
from typing import Any

VISITOR = "visitor"
AGENT = "agent"
MAX_BODY_CHARS = 10_000


class FrameError(ValueError):
    """A frame the baselines do not understand; the server answers with an `error` frame."""

    def __init__(self, code: str, detail: str, client_id: str | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.client_id = client_id


def role_for_path(path: str) -> str | None:
    if path.startswith("/ws/widget/"):
        return VISITOR
    if path.startswith("/ws/agent/"):
        return AGENT
    return None


def parse(raw: str | bytes) -> dict[str, Any]:
    try:
        frame = json.loads(raw)
    except ValueError:
        raise FrameError("bad_frame", "not JSON") from None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise FrameError("bad_frame", "expected an object with a string `type`")
    return frame


def message_fields(frame: dict[str, Any], role: str) -> tuple[str, str, str | None]:
    """(client_id, body, conversation) of a `message` frame; the visitor's conversation is implied."""
    client_id = frame.get("client_id")
    if not isinstance(client_id, str) or not client_id:
        raise FrameError("bad_frame", "message without client_id")
    body = frame.get("body")
    if not isinstance(body, str) or not body or len(body) > MAX_BODY_CHARS:
        raise FrameError("bad_frame", "message body must be 1..10000 characters", client_id)
    conversation = frame.get("conversation")
    if role == AGENT and not isinstance(conversation, str):
        raise FrameError("bad_frame", "an agent's message names its conversation", client_id)
    return client_id, body, conversation if role == AGENT else None


def encode(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"))


def welcome(role: str, token: str | None = None) -> dict[str, Any]:
    if role == AGENT:
        return {"type": "welcome", "agent": {"id": token or "agent"}, "conversations": []}
    return {"type": "welcome", "token": token, "conversation": None}


def ack(client_id: str, conversation: str, seq: int) -> dict[str, Any]:
    return {"type": "ack", "client_id": client_id, "conversation": conversation, "seq": seq}


def event(conversation: str, seq: int, author: str, client_id: str, body: str) -> dict[str, Any]:
    return {
        "type": "event",
        "conversation": conversation,
        "seq": seq,
        "kind": "message",
        "author": {"role": author},
        "client_id": client_id,
        "body": body,
    }


def assigned(conversation: str) -> dict[str, Any]:
    return {"type": "assigned", "conversation": {"id": conversation}}


def pong() -> dict[str, Any]:
    return {"type": "pong", "last_seq": {}}


def error(code: str, detail: str, client_id: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "detail": detail}
    if client_id is not None:
        frame["client_id"] = client_id
    return frame
