"""A raw RFC 822 message read into what a ticket needs: who, what, which files.

Parsing uses the stdlib with `policy.default`: encoded-word headers
(Romanian, Cyrillic), quoted-printable and base64 bodies, any charset.

Every part of the message ends up somewhere (`collect_parts`): text parts
become the body (an empty text/plain never hides its HTML alternative;
several text parts of a `multipart/mixed` are joined), a forwarded
`message/rfc822` is inlined under its own headers with its files kept, and
every other leaf (attachments, inline images of `multipart/related`, a
message that is only a file) is a file with its real decoded size. Whether a
file is accepted is decided later by the upload checks; refused ones are
named in the ticket.

No text here keeps a NUL: PostgreSQL cannot store one in text or JSON.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses

from tickets.email.auto_replies import automatic_reason
from tickets.email.text import html_to_text

MAX_MESSAGE_BYTES = 25 * 1024 * 1024
# Deeper nesting than this is no real mail; the rest is kept as one file.
MAX_DEPTH = 12
_TEXT_SUBTYPES = frozenset({"plain", "html"})
_TEXT_TYPES = frozenset({"text/plain", "text/html", "text/enriched", "text/richtext"})
_FORWARDED = frozenset({"message/rfc822", "message/global"})
_MESSAGE_ID_RE = re.compile(r"<[^<>\s]{1,500}>")


class InboundError(Exception):
    """A message we cannot use; `detail` is ours, never the parser's text."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass
class Attachment:
    filename: str
    content_type: str  # as the sender's mail program declared it; the checks decide
    size: int
    data: bytes = field(default=b"", repr=False)


@dataclass
class ParsedEmail:
    sender_name: str
    sender: str
    recipients: list[str]
    subject: str
    message_id: str
    text: str
    attachments: list[Attachment] = field(default_factory=list)
    # Forwarded messages, each as a header block and its text (never quote-stripped).
    forwarded: list[str] = field(default_factory=list)
    # Message-IDs this one answers (In-Reply-To, then References newest first).
    references: list[str] = field(default_factory=list)
    # Why this is an auto-reply or a bounce; empty for mail a person wrote.
    automatic: str = ""


def without_nul(text: str) -> str:
    return text.replace("\x00", "")


# --- the sender ------------------------------------------------------------------------


def _decoded(words: str) -> str:
    try:
        return str(make_header(decode_header(words)))
    except (LookupError, UnicodeError, ValueError, AssertionError):
        return words


def mailbox_of(raw_value: str) -> tuple[str, str]:
    """(display name, address) of the first mailbox in a raw From value.

    The address is the `<angle-addr>` when there is one, never an address
    written in the display name: the stdlib's lenient parser reads
    `customer@example.com <attacker@evil.example>` as the customer's
    mailbox. Quoted strings and comments are skipped while scanning, so a
    `<…>` inside them is part of the name.
    """
    depth = 0  # comment nesting
    quoted = escaped = False
    name_end = start = -1
    for index, char in enumerate(raw_value):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif quoted:
            quoted = char != '"'
        elif depth:
            depth += {"(": 1, ")": -1}.get(char, 0)
        elif char == '"':
            quoted = True
        elif char == "(":
            depth = 1
        elif char == "<":
            name_end = start = index
        elif char == ">" and start >= 0:
            name = _decoded(" ".join(raw_value[:name_end].split()).strip('"'))
            return name, raw_value[start + 1 : index].strip()
        elif char == "," and start < 0:
            raw_value = raw_value[:index]
            break
    # No angle-addr: the whole mailbox is an addr-spec (comments aside).
    plain = re.sub(r"\([^()]*\)", " ", raw_value).split()
    return "", plain[0] if len(plain) == 1 else ""


def _raw_headers(message: Message, name: str) -> list[str]:
    values = []
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            # Raw 8-bit (UTF-8 written without encoded words) arrives surrogate-escaped.
            text = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            values.append(" ".join(text.split()))
    return values


def _raw_header(message: Message, name: str) -> str:
    values = _raw_headers(message, name)
    return values[0] if values else ""


def header_text(message: Message, name: str) -> str:
    try:
        value = message.get(name, "")
    except Exception:  # a header the policy cannot parse (its errors vary by defect)
        return ""
    return without_nul(" ".join(str(value or "").split()))


# --- the parts -------------------------------------------------------------------------


def _undeclared_utf8(part: Message) -> str | None:
    """Text sent as raw UTF-8 without a charset (which would mean ASCII), if it is that."""
    if part.get_param("charset") is not None:
        return None
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes) or payload.isascii():
        return None
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _text_of(part: Message) -> str:
    try:
        content = _undeclared_utf8(part)
        if content is None:
            content = part.get_content()  # type: ignore[attr-defined]
    except (LookupError, UnicodeError, AssertionError, ValueError, KeyError):
        # An unknown or lying charset: keep what decodes rather than lose the mail.
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    return html_to_text(content) if part.get_content_subtype() == "html" else content.strip()


def _is_body_text(part: Message) -> bool:
    return (
        part.get_content_maintype() == "text"
        and part.get_content_subtype() in _TEXT_SUBTYPES
        and part.get_content_disposition() != "attachment"
        and not part.get_filename()
    )


def _file_of(part: Message, *, number: int) -> Attachment:
    content_type = part.get_content_type()
    if part.is_multipart():  # a message/* part (a delivery report, …) kept whole
        try:
            data = part.as_bytes().replace(b"\r\n", b"\n").split(b"\n\n", 1)[-1]
        except Exception:  # a part the generator cannot write back
            data = str(part.get_payload()).encode("utf-8", errors="replace")
    else:
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
    name = " ".join(without_nul(str(part.get_filename() or "")).split())[:200]
    if not name:
        # Inline images of multipart/related often have only a Content-ID.
        extension = mimetypes.guess_extension(content_type) or ".bin"
        name = f"part-{number}{extension}"
    return Attachment(filename=name, content_type=content_type, size=len(data), data=data)


@dataclass
class _Collected:
    texts: list[str] = field(default_factory=list)
    files: list[Attachment] = field(default_factory=list)
    forwarded: list[str] = field(default_factory=list)


def _best_alternative(parts: list[Message]) -> Message | None:
    """The richest alternative whose text is not empty (plain before HTML)."""
    for wanted in ("plain", "html"):
        for part in parts:
            if _is_body_text(part) and part.get_content_subtype() == wanted and _text_of(part):
                return part
    # multipart/related (HTML with its images) or another structure: the last
    # alternative is the sender's preferred one (RFC 2046 5.1.4).
    nested = [part for part in parts if part.is_multipart()]
    return nested[-1] if nested else None


def _forwarded_block(inner: Message, collected: _Collected, depth: int) -> None:
    headers = [
        f"{label}: {header_text(inner, name)}"
        for label, name in (("From", "From"), ("Date", "Date"), ("Subject", "Subject"))
        if header_text(inner, name)
    ]
    enclosed = _Collected()
    _walk(inner, enclosed, depth + 1)
    collected.files += enclosed.files
    body = "\n\n".join(enclosed.texts)
    collected.forwarded.append(
        "\n".join(["---------- Forwarded message ----------", *headers, "", body]).strip()
    )
    collected.forwarded += enclosed.forwarded


def _walk(part: Message, collected: _Collected, depth: int) -> None:
    number = len(collected.files) + 1
    if depth > MAX_DEPTH:
        collected.files.append(_file_of(part, number=number))
        return
    if part.get_content_maintype() == "message":
        inner = part.get_payload()
        if part.get_content_type() in _FORWARDED and isinstance(inner, list) and inner:
            _forwarded_block(inner[0], collected, depth)
        else:
            collected.files.append(_file_of(part, number=number))
        return
    if not part.is_multipart():
        if _is_body_text(part):
            text = _text_of(part)
            if text:
                collected.texts.append(text)
        else:
            collected.files.append(_file_of(part, number=number))
        return
    children = [child for child in part.get_payload() if isinstance(child, Message)]  # type: ignore[union-attr]
    if part.get_content_type() == "multipart/alternative":
        chosen = _best_alternative(children)
        for child in children:
            if child is chosen:
                _walk(child, collected, depth + 1)
            else:
                # The other alternatives repeat the text; only their files are new
                # (the inline images of an HTML branch when the plain text won).
                skipped = _Collected()
                _walk(child, skipped, depth + 1)
                collected.files += [f for f in skipped.files if f.content_type not in _TEXT_TYPES]
        return
    for child in children:
        _walk(child, collected, depth + 1)


def collect_parts(message: Message) -> tuple[str, list[Attachment], list[str]]:
    """(body text, files, forwarded messages) from every part of `message`."""
    collected = _Collected()
    _walk(message, collected, 0)
    text = without_nul("\n\n".join(collected.texts))
    forwarded = [without_nul(block) for block in collected.forwarded]
    return text, collected.files, forwarded


# --- the message -----------------------------------------------------------------------


def _message_ids(value: str) -> list[str]:
    return [match.lower() for match in _MESSAGE_ID_RE.findall(value)]


def parse_message(raw: bytes) -> ParsedEmail:
    if not raw or not raw.strip():
        raise InboundError("the message is empty")
    if len(raw) > MAX_MESSAGE_BYTES:
        raise InboundError("the message is too large")
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception:
        raise InboundError("the message could not be parsed") from None
    assert isinstance(message, EmailMessage)
    sender_name, sender = mailbox_of(_raw_header(message, "From"))
    sender = without_nul(sender).strip().lower()
    if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+", sender):
        raise InboundError("the message has no sender address")
    # A display name that is itself an address only ever misleads the agent.
    sender_name = "" if "@" in sender_name else without_nul(sender_name)

    recipients: list[str] = []
    for name in ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To"):
        # Raw values: the header registry raises on some malformed address lists.
        recipients += [addr for _n, addr in getaddresses(_raw_headers(message, name)) if addr]

    try:
        text, attachments, forwarded = collect_parts(message)
    except Exception:
        raise InboundError("the message could not be parsed") from None
    references = _message_ids(header_text(message, "In-Reply-To"))
    references += [
        ref
        for ref in reversed(_message_ids(header_text(message, "References")))
        if ref not in references
    ]
    message_ids = _message_ids(header_text(message, "Message-ID"))
    return ParsedEmail(
        sender_name=sender_name.strip()[:200],
        sender=sender[:254],
        recipients=[without_nul(address) for address in recipients],
        subject=header_text(message, "Subject")[:300],
        message_id=message_ids[0] if message_ids else "",
        text=text,
        attachments=attachments,
        forwarded=forwarded,
        references=references[:50],
        automatic=automatic_reason(message, sender),
    )
