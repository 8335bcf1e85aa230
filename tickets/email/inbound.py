"""Inbound e-mail: one message becomes a new ticket, a reply on an old one, or nothing.

`ingest_message(raw)` is the one inbound action. It is fed by the MTA pipe
(`chatportal ingest_email`), the raw endpoint (`POST /api/v1/inbound-email`)
and the providers' inbound webhooks through django-anymail (all in
`tickets.email.hooks`); reading the MIME is `tickets.email.parsing`.

The requester is the mailbox in `From` (the `<angle-addr>`, never an
address typed into the display name).

Threading, most reliable first:
1. the reply token in a recipient address (`support+<token>@…`, what our
   notifications put in Reply-To), honoured from any sender (a colleague in
   copy answers too);
2. `In-Reply-To`/`References`: our notifications' thread id
   (`<ticket-<public id>@…>`) or the Message-ID of an earlier inbound mail;
3. `[T-1001]` in the subject.
2 and 3 are easy to forge, so they count only when the sender is the
ticket's requester (its contact, the contact's organization, or the
address an unknown requester wrote from).
Anything else from a known contact's address opens a ticket for them; from
an unknown address, a ticket with no contact that keeps the sender's name
and address as typed.

A retried delivery (the same Message-ID) changes nothing and answers the
first outcome again. Auto-replies and bounces (`tickets.email.auto_replies`) are
logged with their reason and ignored, so a vacation responder neither loops
nor reopens a solved ticket.
"""

from __future__ import annotations

import io
import logging
import re
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from crm.models import Contact, ContactEmail
from foundation.uploads import CheckedUpload, UploadRefused, check_upload
from queues.models import Department
from tickets.actions.messages import MAX_BODY_CHARS, add_reply, create_ticket
from tickets.attachments import MAX_FILES_PER_MESSAGE, RefusedFile, refused_wire
from tickets.email.parsing import (
    MAX_MESSAGE_BYTES,
    Attachment,
    InboundError,
    ParsedEmail,
    parse_message,
    without_nul,
)
from tickets.email.text import strip_quoted
from tickets.models import InboundEmail, Ticket, TicketEvent

logger = logging.getLogger(__name__)

__all__ = ["MAX_MESSAGE_BYTES", "InboundError", "IngestResult", "ingest_message", "ingest_parsed"]

_TOKEN_RE = re.compile(r"^[^@+]+\+([A-Za-z0-9_-]{16,40})@", re.ASCII)
_NUMBER_RE = re.compile(r"\[(T-\d{1,12})\]", re.IGNORECASE)
# `tickets.notifications.outbound.thread_message_id`: every notification of a ticket names it.
_THREAD_ID_RE = re.compile(r"^<ticket-([0-9a-f]{32})@", re.ASCII)


@dataclass
class IngestResult:
    outcome: str  # "created", "replied", "ignored" or "duplicate"
    ticket: Ticket | None = None
    event: TicketEvent | None = None
    reason: str = ""


# --- threading -------------------------------------------------------------------------


def _ticket_by_token(recipients: list[str]) -> Ticket | None:
    for address in recipients:
        match = _TOKEN_RE.match(address.strip())
        if match:
            ticket = (
                Ticket.objects.select_related("contact").filter(reply_token=match.group(1)).first()
            )
            if ticket is not None:
                return ticket
    return None


def _requested_by(sender: str, contact: Contact | None) -> Q:
    """The tickets this sender may add to without a token."""
    theirs = Q(contact__isnull=True, requester_email__iexact=sender)
    if contact is not None:
        theirs |= Q(contact=contact)
        if contact.organization_id is not None:
            theirs |= Q(organization_id=contact.organization_id)
    return theirs


def _ticket_by_references(parsed: ParsedEmail, contact: Contact | None) -> Ticket | None:
    if not parsed.references:
        return None
    mine = Ticket.objects.filter(_requested_by(parsed.sender, contact))
    ids = [uuid.UUID(m.group(1)) for ref in parsed.references if (m := _THREAD_ID_RE.match(ref))]
    if ids:
        ticket = mine.filter(public_id__in=ids).first()
        if ticket is not None:
            return ticket
    earlier = (
        InboundEmail.objects.filter(message_id__in=parsed.references, ticket__in=mine)
        .order_by("-pk")
        .values_list("ticket_id", flat=True)
        .first()
    )
    return Ticket.objects.filter(pk=earlier).first() if earlier is not None else None


def _ticket_by_subject(parsed: ParsedEmail, contact: Contact | None) -> Ticket | None:
    match = _NUMBER_RE.search(parsed.subject)
    if not match:
        return None
    theirs = _requested_by(parsed.sender, contact)
    return Ticket.objects.filter(theirs, number=match.group(1).upper()).first()


def _contact_for(sender: str) -> Contact | None:
    row = ContactEmail.objects.select_related("contact").filter(email=sender).first()
    return row.contact if row is not None else None


def inbound_department() -> Department:
    slug = getattr(settings, "CHATPORTAL_EMAIL_DEPARTMENT", "") or "support"
    department = (
        Department.objects.filter(slug=slug).first() or Department.objects.order_by("pk").first()
    )
    if department is None:
        raise InboundError("no department takes e-mail yet")
    return department


# --- the body --------------------------------------------------------------------------


def _checked_attachments(parsed: ParsedEmail) -> tuple[list[CheckedUpload], list[Attachment]]:
    """(files that pass the content checks, files refused)."""
    accepted: list[CheckedUpload] = []
    refused: list[Attachment] = []
    for item in parsed.attachments:
        if len(accepted) >= MAX_FILES_PER_MESSAGE:
            refused.append(item)
            continue
        try:
            accepted.append(
                check_upload(io.BytesIO(item.data), filename=item.filename, size=item.size)
            )
        except UploadRefused:
            refused.append(item)
    return accepted, refused


def compose_body(text: str, parsed: ParsedEmail) -> str:
    """The ticket text: the mail's text, then the mails it forwards.

    Cut to what a ticket message holds. Files left out are not written
    into the text: they travel as data (`refused_attachments`) and are
    named in the reader's language where the event is shown.
    """
    main = "\n\n".join(part for part in [text.strip(), *parsed.forwarded] if part).strip()
    if len(main) > MAX_BODY_CHARS:
        marker = "\n" + _("[… the rest of the mail was cut]")
        main = main[: MAX_BODY_CHARS - len(marker)].rstrip() + marker
    return without_nul(main)


def _refused_wire(refused: list[Attachment]) -> list[RefusedFile]:
    return [refused_wire(item.filename, item.content_type, item.size) for item in refused]


# --- the action ------------------------------------------------------------------------


def _earlier(message_id: str) -> IngestResult | None:
    if not message_id:
        return None
    record = InboundEmail.objects.select_related("ticket").filter(message_id=message_id).first()
    if record is None:
        return None
    return IngestResult("duplicate", ticket=record.ticket, reason=f"already {record.outcome}")


def ingest_message(raw: bytes) -> IngestResult:
    """Parse one raw RFC 822 message and take it (see the module docstring)."""
    return ingest_parsed(parse_message(raw))


def ingest_parsed(parsed: ParsedEmail) -> IngestResult:
    earlier = _earlier(parsed.message_id)
    if earlier is not None:
        logger.info(
            "inbound e-mail %s is a repeated delivery (%s)", parsed.message_id, earlier.reason
        )
        return earlier
    if parsed.automatic:
        logger.info(
            "inbound e-mail %s from %s ignored: %s",
            parsed.message_id or "(no Message-ID)",
            parsed.sender,
            parsed.automatic,
        )
        try:
            with transaction.atomic():
                InboundEmail.objects.create(
                    message_id=parsed.message_id,
                    outcome=InboundEmail.Outcome.IGNORED,
                    reason=parsed.automatic[:200],
                )
        except IntegrityError:
            pass  # the same auto-reply delivered twice at once: ignored either way
        return IngestResult("ignored", reason=parsed.automatic)

    contact = _contact_for(parsed.sender)
    ticket = (
        _ticket_by_token(parsed.recipients)
        or _ticket_by_references(parsed, contact)
        or _ticket_by_subject(parsed, contact)
    )
    files, refused = _checked_attachments(parsed)
    with transaction.atomic():
        try:
            # The claim comes first: a concurrent delivery of the same mail
            # waits here for ours to commit, then finds it as a duplicate.
            with transaction.atomic():
                record = InboundEmail.objects.create(
                    message_id=parsed.message_id, outcome=InboundEmail.Outcome.CREATED
                )
        except IntegrityError:
            record = None
        if record is not None:
            result = _take(parsed, ticket, contact, files, refused)
            record.outcome, record.ticket, record.event = (
                result.outcome,
                result.ticket,
                result.event,
            )
            record.save(update_fields=["outcome", "ticket", "event"])
    if record is None:
        return _earlier(parsed.message_id) or IngestResult("duplicate")
    return result


def _take(
    parsed: ParsedEmail,
    ticket: Ticket | None,
    contact: Contact | None,
    files: list[CheckedUpload],
    refused: list[Attachment],
) -> IngestResult:
    if ticket is not None and ticket.status != Ticket.Status.CLOSED:
        body = compose_body(strip_quoted(parsed.text), parsed)
        # A token thread may be answered from another address (a colleague
        # in copy): the reply counts as the customer's, credited to the
        # contact we know, never to the ticket's contact by default.
        event = add_reply(
            ticket,
            body=body,
            internal=False,
            author_role=TicketEvent.Role.CUSTOMER,
            author_contact=contact,
            attachments=files,
            refused_attachments=_refused_wire(refused),
            as_received=True,
        )
        return IngestResult("replied", ticket=ticket, event=event)
    body = compose_body(parsed.text, parsed)
    subject = _NUMBER_RE.sub("", parsed.subject).strip()
    if ticket is not None:
        # A reply to a closed ticket starts a new one rather than vanishing.
        subject = f"{subject} ({ticket.number})".strip()
    created = create_ticket(
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
    return IngestResult("created", ticket=created, event=created.events.order_by("seq").first())
