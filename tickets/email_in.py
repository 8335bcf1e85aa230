"""Inbound e-mail: RFC 822 messages become new tickets or replies on old ones.

Fed by `chatportal ingest_email` (stdin or a file) or by an MTA posting the
raw message to `POST /api/v1/inbound-email` with the shared secret header.

Threading, most reliable first: the reply token in a recipient address
(`support+<token>@…`, what our notifications put in Reply-To), then
`[T-1001]` in the subject — honoured only when the sender is the ticket's
contact (or one of the organization's), since a subject is easy to forge.
Anything else from a known contact's address opens a ticket for them; from
an unknown address, a ticket with no contact that keeps the sender's name
and address as typed.

Parsing uses the stdlib with `policy.default`: encoded-word headers
(Romanian, Cyrillic), quoted-printable and base64 bodies, any charset.
The body is the text/plain part (or the HTML part turned into text), with
quoted history and signatures cut. Attachments (base64 or quoted-printable
parts, names in RFC 2047/2231 encodings) pass the same content checks as
uploads (`chatportal.uploads`) and become ticket attachments on the new
ticket or reply; refused ones are listed by name, type and size in the
event (`refused_attachments`), so the agent knows something was left out.
Nothing of ours is written in English into the ticket: no subject or no
text is stored empty and named at display time in the reader's language.
Auto-replies and bounces are ignored, so a vacation responder never loops.
"""

from __future__ import annotations

import hmac
import io
import logging
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db.models import Q
from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.errors import HttpError

from chatportal.api_errors import error_responses
from chatportal.openapi_extra import raw_body
from chatportal.uploads import CheckedUpload, UploadRefused, check_upload
from crm.models import ContactEmail
from queues.models import Department
from tickets import actions
from tickets.attachments import MAX_FILES_PER_MESSAGE, RefusedFile, refused_wire
from tickets.errors import TicketError
from tickets.models import Ticket, TicketEvent

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 25 * 1024 * 1024
MAX_BODY_CHARS = 20_000
SECRET_HEADER = "X-Chatportal-Inbound-Secret"

_TOKEN_RE = re.compile(r"^[^@+]+\+([A-Za-z0-9_-]{16,40})@", re.ASCII)
_NUMBER_RE = re.compile(r"\[(T-\d{1,12})\]", re.IGNORECASE)
# "On Tue, 1 Dec 2026, Ana <ana@x> wrote:", Romanian "În ... a scris:",
# Russian "... написал(а):", Outlook's separators.
_QUOTE_HEADERS = [
    re.compile(r"^\s*On\b.{0,300}\bwrote:\s*$", re.IGNORECASE),
    re.compile(r"^\s*(În|In)\b.{0,300}\ba scris:\s*$", re.IGNORECASE),
    re.compile(r"^.{0,300}\bнаписал(?:\(а\)|а)?:\s*$", re.IGNORECASE),
    re.compile(r"^\s*-{2,}\s*(Original Message|Mesajul original|Исходное сообщение)\s*-{2,}\s*$",
               re.IGNORECASE),
    re.compile(r"^\s*(From|De la|От):\s.+$"),
]


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
    automatic: bool = False


@dataclass
class IngestResult:
    outcome: str  # "created", "replied" or "ignored"
    ticket: Ticket | None = None
    event: TicketEvent | None = None
    reason: str = ""


# --- parsing -------------------------------------------------------------------------


class _TextFromHtml(HTMLParser):
    _BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._quote = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "head"}:
            self._skip += 1
        if tag == "blockquote":
            self._quote += 1
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "head"} and self._skip:
            self._skip -= 1
        if tag == "blockquote" and self._quote:
            self._quote -= 1
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        # Quoted history in HTML mail lives in <blockquote>: drop it here.
        if not self._skip and not self._quote:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextFromHtml()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def strip_quoted(text: str) -> str:
    """The new part of a reply: no quoted history, no signature."""
    kept: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line.rstrip() == "--":
            break
        if any(pattern.match(line) for pattern in _QUOTE_HEADERS):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    return "\n".join(kept).strip()


def _text_of(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, AssertionError):
        # An unknown or lying charset: keep what decodes rather than lose the mail.
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", errors="replace")
    return content if isinstance(content, str) else ""


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name, "")
    except (IndexError, ValueError):  # a header the policy cannot parse
        return ""
    return " ".join(str(value or "").split())


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
    sender_name, sender = parseaddr(_header(message, "From"))
    sender = sender.strip().lower()
    if not sender or "@" not in sender:
        raise InboundError("the message has no sender address")

    recipients: list[str] = []
    for name in ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To"):
        for header in message.get_all(name, []) or []:
            recipients += [addr for _n, addr in getaddresses([str(header)]) if addr]

    text = ""
    body = message.get_body(preferencelist=("plain", "html"))
    if body is not None:
        content = _text_of(body)  # type: ignore[arg-type]
        text = html_to_text(content) if body.get_content_subtype() == "html" else content

    attachments: list[Attachment] = []
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename() or ""
        attachments.append(
            Attachment(
                filename=" ".join(filename.split())[:200] or "attachment",
                content_type=part.get_content_type(),
                size=len(payload),
                data=payload,
            )
        )

    auto_submitted = _header(message, "Auto-Submitted").lower()
    precedence = _header(message, "Precedence").lower()
    automatic = (
        (auto_submitted not in {"", "no"})
        or precedence in {"bulk", "junk", "auto_reply", "list"}
        or bool(_header(message, "X-Autoreply") or _header(message, "X-Autorespond"))
        or sender.startswith(("mailer-daemon@", "postmaster@"))
    )
    return ParsedEmail(
        sender_name=sender_name.strip()[:200],
        sender=sender[:254],
        recipients=recipients,
        subject=_header(message, "Subject")[:300],
        message_id=_header(message, "Message-ID")[:300],
        text=text,
        attachments=attachments,
        automatic=automatic,
    )


# --- threading and ingestion ---------------------------------------------------------


def _ticket_by_token(recipients: list[str]) -> Ticket | None:
    for address in recipients:
        match = _TOKEN_RE.match(address.strip())
        if match:
            ticket = Ticket.objects.select_related("contact").filter(reply_token=match.group(1)).first()
            if ticket is not None:
                return ticket
    return None


def _ticket_by_subject(subject: str, contact: Any) -> Ticket | None:
    match = _NUMBER_RE.search(subject)
    if not match or contact is None:
        return None
    mine = Q(contact=contact)
    if contact.organization_id is not None:
        mine |= Q(organization_id=contact.organization_id)
    return Ticket.objects.filter(mine, number=match.group(1).upper()).first()


def _contact_for(sender: str) -> Any:
    row = ContactEmail.objects.select_related("contact").filter(email=sender).first()
    return row.contact if row is not None else None


def inbound_department() -> Department:
    slug = getattr(settings, "CHATPORTAL_EMAIL_DEPARTMENT", "") or "support"
    department = Department.objects.filter(slug=slug).first() or Department.objects.order_by("pk").first()
    if department is None:
        raise InboundError("no department takes e-mail yet")
    return department


def _checked_attachments(parsed: ParsedEmail) -> tuple[list[CheckedUpload], list[Attachment]]:
    """(files that pass the content checks, files refused)."""
    accepted: list[CheckedUpload] = []
    refused: list[Attachment] = []
    for item in parsed.attachments:
        if len(accepted) >= MAX_FILES_PER_MESSAGE:
            refused.append(item)
            continue
        try:
            accepted.append(check_upload(io.BytesIO(item.data), filename=item.filename, size=item.size))
        except UploadRefused:
            refused.append(item)
    return accepted, refused


def _refused_wire(refused: list[Attachment]) -> list[RefusedFile]:
    return [refused_wire(item.filename, item.content_type, item.size) for item in refused]


def ingest_message(raw: bytes) -> IngestResult:
    parsed = parse_message(raw)
    if parsed.automatic:
        return IngestResult("ignored", reason="automatic message")
    contact = _contact_for(parsed.sender)
    ticket = _ticket_by_token(parsed.recipients) or _ticket_by_subject(parsed.subject, contact)
    files, refused = _checked_attachments(parsed)
    if ticket is not None and ticket.status != Ticket.Status.CLOSED:
        body = strip_quoted(parsed.text).strip()[:MAX_BODY_CHARS]
        # A token thread may be answered from another address (a colleague
        # in copy): the reply counts as the customer's, credited to the
        # contact we know, never to the ticket's contact by default.
        event = actions.add_reply(
            ticket, body=body, internal=False, author_role=TicketEvent.Role.CUSTOMER,
            author_contact=contact, attachments=files, refused_attachments=_refused_wire(refused),
            as_received=True,
        )
        return IngestResult("replied", ticket=ticket, event=event)
    body = parsed.text.strip()[:MAX_BODY_CHARS]
    subject = _NUMBER_RE.sub("", parsed.subject).strip()
    if ticket is not None:
        # A reply to a closed ticket starts a new one rather than vanishing.
        subject = f"{subject} ({ticket.number})".strip()
    created = actions.create_ticket(
        subject=subject,
        body=body,
        contact=contact,
        channel=Ticket.Channel.EMAIL,
        department=inbound_department(),
        author_role=TicketEvent.Role.CUSTOMER,
        author_contact=contact,
        requester_name="" if contact else parsed.sender_name,
        requester_email="" if contact else parsed.sender,
        attachments=files,
        refused_attachments=_refused_wire(refused),
        as_received=True,
    )
    return IngestResult("created", ticket=created)


# --- the MTA endpoint ----------------------------------------------------------------

router = Router(tags=["inbound e-mail"])

try:
    from ninja import Status as _status
except ImportError:  # django-ninja < 1.5 answers a (status, body) tuple

    def _status(code: int, body: Any) -> Any:
        return code, body


def _secret_ok(request: HttpRequest) -> bool:
    expected = getattr(settings, "CHATPORTAL_INBOUND_EMAIL_SECRET", "") or ""
    given = request.headers.get(SECRET_HEADER, "")
    # An unset secret turns the endpoint off rather than accepting an empty one.
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def _raw_body(request: HttpRequest) -> bytes:
    # Mail with attachments is larger than Django's in-memory request limit
    # (2.5 MB by default); read the stream up to our own limit instead.
    try:
        raw = request.body
    except RequestDataTooBig:
        raw = request.read(MAX_MESSAGE_BYTES + 1)
    if len(raw) > MAX_MESSAGE_BYTES:
        raise HttpError(413, "the message is too large")
    return raw


class InboundOut(Schema):
    outcome: str = Field(description='"created", "replied", or "ignored"')
    ticket: str | None = None
    reason: str | None = None


@router.post(
    "",
    auth=None,
    response={200: InboundOut, 201: InboundOut, **error_responses(400, 401, 404, 409, 413)},
    summary="Ingest one raw e-mail from the MTA",
    openapi_extra={
        **raw_body(
            "message/rfc822",
            "The whole RFC 822 message (any Content-Type is read raw)",
            example="From: Ana Pop <ana@example.com>\r\nTo: support@example.com\r\n"
            "Subject: The gateway is offline\r\n\r\nIt stopped answering this morning.\r\n",
        ),
        "parameters": [
            {
                "in": "header",
                "name": SECRET_HEADER,
                "required": True,
                "schema": {"type": "string"},
                "description": "CHATPORTAL_INBOUND_EMAIL_SECRET",
            }
        ],
    },
)
def inbound_email(request: HttpRequest):
    """Ingest one raw RFC 822 message (the request body) from the MTA."""
    if not _secret_ok(request):
        raise HttpError(401, f"a valid {SECRET_HEADER} header is required")
    try:
        result = ingest_message(_raw_body(request))
    except InboundError as exc:
        raise HttpError(400, exc.detail) from None
    except TicketError as exc:
        raise HttpError(exc.status, exc.detail) from None
    answer: dict[str, Any] = {"outcome": result.outcome}
    if result.ticket is not None:
        answer["ticket"] = result.ticket.number
    if result.reason:
        answer["reason"] = result.reason
    return _status(201 if result.outcome == "created" else 200, answer)


API_ROUTERS = [("/inbound-email", router)]
