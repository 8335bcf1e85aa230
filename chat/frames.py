"""Declarative validation of client frames.

Each frame type has a schema: field name -> (validator, required). Values
must have exactly the JSON type asked for (`true` is not an integer, `"3"` is
not a number). Unknown fields are ignored so that newer clients can talk to
this server. Details in errors are our own words, never echoed input.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from foundation.errors import ClientError

MAX_FRAME_BYTES = 64 * 1024
MAX_BODY_CHARS = 10_000


class FrameInvalid(ClientError, ValueError):
    """The frame breaks the protocol (code `invalid`); `detail` is safe to show the client."""


Validator = Callable[[Any, str], Any]


def uuid_string(value: Any, field: str) -> str:
    if not isinstance(value, str) or len(value) > 36:
        raise FrameInvalid(f"{field} must be a UUID string")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise FrameInvalid(f"{field} must be a UUID string") from None


def text(*, max_chars: int, allow_empty: bool = True, strip: bool = False) -> Validator:
    def check(value: Any, field: str) -> str:
        if not isinstance(value, str):
            raise FrameInvalid(f"{field} must be a string")
        if strip:
            value = value.strip()
        if not allow_empty and not value.strip():
            raise FrameInvalid(f"{field} must not be empty")
        if len(value) > max_chars:
            raise FrameInvalid(f"{field} must be at most {max_chars} characters")
        if "\x00" in value:
            raise FrameInvalid(f"{field} must not contain NUL characters")
        return value

    return check


def plain_text(*, max_chars: int) -> Validator:
    """Text a person typed: no control characters but line breaks and tabs; trimmed."""
    within = text(max_chars=max_chars)

    def check(value: Any, field: str) -> str:
        value = within(value, field)
        if any((ord(c) < 32 and c not in "\n\r\t") or 0x7F <= ord(c) < 0xA0 for c in value):
            raise FrameInvalid(f"{field} must be plain text")
        return value.strip()

    return check


def optional(validator: Validator) -> Validator:
    """Also accepts JSON null (returned as None)."""

    def check(value: Any, field: str) -> Any:
        return None if value is None else validator(value, field)

    return check


def boolean(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise FrameInvalid(f"{field} must be true or false")
    return value


def integer(*, minimum: int, maximum: int) -> Validator:
    def check(value: Any, field: str) -> int:
        # bool is an int subclass in Python; in JSON it is not a number.
        if not isinstance(value, int) or isinstance(value, bool):
            raise FrameInvalid(f"{field} must be an integer")
        if not minimum <= value <= maximum:
            raise FrameInvalid(f"{field} must be between {minimum} and {maximum}")
        return value

    return check


def choice(*values: str) -> Validator:
    def check(value: Any, field: str) -> str:
        if not isinstance(value, str) or value not in values:
            raise FrameInvalid(f"{field} must be one of: {', '.join(values)}")
        return value

    return check


SLUG_RE = re.compile(r"[-a-zA-Z0-9_]{1,50}")


def slug(value: Any, field: str) -> str:
    if not isinstance(value, str) or not SLUG_RE.fullmatch(value):
        raise FrameInvalid(f"{field} must be a department slug")
    return value


LOCALE_RE = re.compile(r"[a-zA-Z]{2,3}([-_][a-zA-Z0-9]{2,8}){0,2}")


def slug_list(*, max_items: int) -> Validator:
    """A list of distinct department slugs (the site's offer, in its order)."""

    def check(value: Any, field: str) -> list[str]:
        if not isinstance(value, list) or len(value) > max_items:
            raise FrameInvalid(f"{field} must be a list of at most {max_items} department slugs")
        return list(dict.fromkeys(slug(item, field) for item in value))

    return check


def locale(value: Any, field: str) -> str:
    if not isinstance(value, str) or not LOCALE_RE.fullmatch(value):
        raise FrameInvalid(f"{field} must be a language tag such as 'ro' or 'en-GB'")
    return value


def email(value: Any, field: str) -> str:
    value = text(max_chars=254, strip=True)(value, field)
    if value:
        try:
            validate_email(value)
        except ValidationError:
            raise FrameInvalid(f"{field} must be an e-mail address") from None
    return value


Schema = Mapping[str, tuple[Validator, bool]]


def obj(schema: Schema) -> Validator:
    def check(value: Any, field: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise FrameInvalid(f"{field} must be an object")
        return validate_fields(value, schema, prefix=f"{field}.")

    return check


def seq_map(*, max_items: int) -> Validator:
    """`{"<conversation id>": seq, ...}` as sent in hello.resume."""
    seq = integer(minimum=0, maximum=2**31 - 1)

    def check(value: Any, field: str) -> dict[str, int]:
        if not isinstance(value, dict):
            raise FrameInvalid(f"{field} must be an object")
        if len(value) > max_items:
            raise FrameInvalid(f"{field} must have at most {max_items} entries")
        return {
            uuid_string(key, f"{field} key"): seq(item, f"{field} value")
            for key, item in value.items()
        }

    return check


def validate_fields(data: dict[str, Any], schema: Schema, *, prefix: str = "") -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for name, (validator, required) in schema.items():
        if name not in data:
            if required:
                raise FrameInvalid(f"{prefix}{name} is required")
            continue
        clean[name] = validator(data[name], f"{prefix}{name}")
    return clean


SEQ = integer(minimum=0, maximum=2**31 - 1)
CONVERSATION = (uuid_string, True)
BODY = text(max_chars=MAX_BODY_CHARS, allow_empty=False)

HELLO_PROFILE: Schema = {
    "name": (text(max_chars=200, strip=True), False),
    "email": (email, False),
    "phone": (text(max_chars=40, strip=True), False),
    # "Email me a transcript": the chat's visible messages by e-mail when it ends.
    "transcript": (boolean, False),
}
HELLO_IDENTITY: Schema = {
    "jwt": (text(max_chars=4096), False),
    "external_id": (text(max_chars=100, allow_empty=False), False),
    "hmac": (text(max_chars=128), False),
}

WIDGET_FRAMES: dict[str, Schema] = {
    "hello": {
        "token": (optional(text(max_chars=128)), False),
        "department": (optional(slug), False),
        # The departments the host page offers the visitor to choose from.
        "departments": (optional(slug_list(max_items=10)), False),
        "profile": (optional(obj(HELLO_PROFILE)), False),
        "identity": (optional(obj(HELLO_IDENTITY)), False),
        "resume": (optional(seq_map(max_items=20)), False),
        "page": (
            optional(
                obj(
                    {
                        "url": (text(max_chars=2000), False),
                        "title": (text(max_chars=300), False),
                    }
                )
            ),
            False,
        ),
        "locale": (optional(locale), False),
    },
    "message": {"client_id": (uuid_string, True), "body": (BODY, True)},
    "typing": {"active": (boolean, True)},
    "read": {"conversation": CONVERSATION, "seq": (SEQ, True)},
    "resume": {"conversation": CONVERSATION, "after_seq": (SEQ, True)},
    "close": {"conversation": CONVERSATION},
    "rate": {
        "conversation": CONVERSATION,
        "score": (integer(minimum=1, maximum=5), True),
        # Plain text, at most 2,000 characters; stored on the conversation, shown to agents.
        "comment": (optional(plain_text(max_chars=2000)), False),
    },
    # "This solved my problem": an article suggested in this conversation.
    "deflected": {"conversation": CONVERSATION, "article": (uuid_string, True)},
    # An identified visitor's earlier conversations.
    "history": {},
    "ping": {},
}

AGENT_FRAMES: dict[str, Schema] = {
    "hello": {
        "token": (optional(text(max_chars=200)), False),
        "resume": (optional(seq_map(max_items=100)), False),
    },
    "presence": {
        "status": (choice("online", "away", "offline"), True),
        # Separate from the status: online but finishing current chats only.
        "accepting": (boolean, False),
        # A supervisor setting a colleague (by username).
        "agent": (text(max_chars=150, allow_empty=False), False),
    },
    "accept": {"conversation": CONVERSATION},
    "message": {
        "conversation": CONVERSATION,
        "client_id": (uuid_string, True),
        "body": (BODY, True),
        "internal": (boolean, False),
    },
    "typing": {"conversation": CONVERSATION, "active": (boolean, True)},
    "read": {"conversation": CONVERSATION, "seq": (SEQ, True)},
    "resume": {"conversation": CONVERSATION, "after_seq": (SEQ, True)},
    "transfer": {
        "conversation": CONVERSATION,
        "department": (slug, False),
        "agent": (text(max_chars=150, allow_empty=False), False),
    },
    "close": {"conversation": CONVERSATION, "reason": (optional(text(max_chars=500)), False)},
    # A supervisor's note to the assigned agent (chat.actions.floor); never to the visitor.
    "whisper": {
        "conversation": CONVERSATION,
        "body": (text(max_chars=2000, allow_empty=False), True),
    },
    "to_ticket": {
        "conversation": CONVERSATION,
        "subject": (optional(text(max_chars=200)), False),
        "priority": (optional(choice("low", "normal", "high", "urgent")), False),
    },
    "ping": {},
}


def frame_type(data: Any, schemas: Mapping[str, Schema]) -> str:
    """The frame's type, if it is one we know; raises FrameInvalid otherwise."""
    if not isinstance(data, dict):
        raise FrameInvalid("a frame must be a JSON object")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise FrameInvalid("type is required and must be a string")
    if kind not in schemas:
        raise FrameInvalid("unknown frame type")
    return kind


def echo_client_id(data: Any) -> str | None:
    """The client_id to echo in an error, only when it is a well-formed UUID."""
    if isinstance(data, dict):
        try:
            return uuid_string(data.get("client_id"), "client_id")
        except FrameInvalid:
            return None
    return None
