"""Ticket attachments: their links, their wire form, who may open them, and checking uploads.

A ticket file belongs to the event it came with (a reply, a note, the
opening message, an e-mail, or the chat the ticket was made from); that
event's payload lists it under `attachments` as `{"id", "filename",
"content_type", "size", "url"}`, so every timeline renders it. The download
URL (`GET /api/v1/tickets/{number}/attachments/{id}`) is checked on every
request: the ticket's customer (or an organization admin) for public files,
agents of the ticket's department for all.

For templates (portal, console, e-mail) `tickets/_attachment_link.html`
renders one link from that wire form.

Files an e-mail brought that fail the checks are not stored; the event
lists them under `refused_attachments` as `{"filename", "content_type",
"size"}` and each screen says so in its reader's language
(`tickets/_refused_attachment_list.html`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, TypedDict

from django.contrib.auth.models import AbstractBaseUser
from django.utils.translation import gettext as _

from foundation.public_url import offline_base
from foundation.thumbnails import store_thumbnail
from foundation.uploads import (
    CheckedUpload,
    UploadRefused,
    discard_stored,
    max_upload_bytes,
    store_upload,
)
from foundation.uploads import upload_from_request_file as check_request_file
from tickets.access import access_ticket_for_agent, access_ticket_for_customer
from tickets.errors import TicketError, TicketNotFound
from tickets.models import Ticket, TicketAttachment

MAX_FILES_PER_MESSAGE = 10
# The thumbnail's URL is the file's URL plus this: the same access check serves both.
THUMBNAIL_PATH_SUFFIX = "/thumbnail"
ATTACHMENT_LINKS = ("url", "thumbnail_url")
# Multipart framing and the text fields around the files: it only guards the parser.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


def request_too_large(request: Any) -> bool:
    """A body no accepted set of files could make, refused before the view reads its files.

    Views behind a form CSRF token have had the body parsed by then (the
    middleware reads the token from it); the proxy's body limit
    (`client_max_body_size` in deploy/nginx.conf) is what stops a huge body
    before it reaches Django at all.
    """
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return length > MAX_FILES_PER_MESSAGE * max_upload_bytes() + MULTIPART_OVERHEAD_BYTES


def attachment_path(number: str, public_id: uuid.UUID | str) -> str:
    return f"/api/v1/tickets/{number}/attachments/{uuid.UUID(str(public_id))}"


_ATTACHMENT_PATH = re.compile(r"/api/v1/tickets/T-\d{1,12}/attachments/[0-9a-f-]{36}")


def is_attachment_path(path: str) -> bool:
    """A download link of ours: the portal's sign-in may send a customer back to it."""
    return bool(_ATTACHMENT_PATH.fullmatch(path))


def attachment_url(number: str, public_id: uuid.UUID | str) -> str:
    # Stored in the event as made offline (mail reads it); the API re-bases it.
    return offline_base() + attachment_path(number, public_id)


def attachment_wire(attachment: TicketAttachment, number: str) -> dict[str, Any]:
    """`thumbnail_url` only for an image that has a thumbnail (foundation.thumbnails)."""
    wire = {
        "id": str(attachment.public_id),
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "url": attachment_url(number, attachment.public_id),
    }
    if attachment.thumbnail:
        wire["thumbnail_url"] = wire["url"] + THUMBNAIL_PATH_SUFFIX
    return wire


def with_paths(item: dict[str, Any], number: str) -> dict[str, Any]:
    """An attachment entry with this server's relative links (`path`, `thumbnail_path`) for pages."""
    try:
        path = attachment_path(number, item.get("id", ""))
    except ValueError:  # not an id of ours: the entry keeps only its stored `url`
        return dict(item)
    entry = {**item, "path": path}
    if isinstance(item.get("thumbnail_url"), str):
        entry["thumbnail_path"] = path + THUMBNAIL_PATH_SUFFIX
    return entry


def attachments_of(payload: Any) -> list[dict[str, Any]]:
    """The well-formed attachment entries of an event payload (for renderers)."""
    items = payload.get("attachments") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        return []
    return [
        item
        for item in items
        if isinstance(item, dict)
        and isinstance(item.get("url"), str)
        and isinstance(item.get("filename"), str)
    ]


class RefusedFile(TypedDict):
    """A file that came with an e-mail and did not pass the checks: its data, never a sentence."""

    filename: str
    content_type: str
    size: int


def refused_wire(filename: str, content_type: str, size: int) -> RefusedFile:
    return {"filename": filename, "content_type": content_type, "size": size}


def refused_attachments_of(payload: Any) -> list[RefusedFile]:
    """The well-formed refused-file entries of an event payload (for renderers)."""
    items = payload.get("refused_attachments") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        return []
    return [
        item
        for item in items
        if isinstance(item, dict)
        and isinstance(item.get("filename"), str)
        and isinstance(item.get("size"), int)
    ]


def check_request_files(uploaded: Sequence[Any]) -> list[CheckedUpload]:
    """Django UploadedFiles from a form or the API, each checked; TicketError on the first refusal."""
    if len(uploaded) > MAX_FILES_PER_MESSAGE:
        raise TicketError(_("Attach at most %(n)s files at once.") % {"n": MAX_FILES_PER_MESSAGE})
    checked = []
    for item in uploaded:
        try:
            checked.append(check_request_file(item))
        except UploadRefused as exc:
            raise TicketError(exc.detail, code=exc.code, status=exc.status) from None
    return checked


class StoredFiles:
    """Files saved before a ticket transaction; removed again if it does not commit.

    `thumbnails` maps a stored file's name to its thumbnail's (images Pillow verified).
    """

    def __init__(self, uploads: Iterable[CheckedUpload]):
        self.items: list[tuple[CheckedUpload, str]] = []
        self.thumbnails: dict[str, str] = {}
        try:
            for upload in uploads:
                name = store_upload(upload, area="tickets")
                self.items.append((upload, name))
                if thumbnail := store_thumbnail(upload, name):
                    self.thumbnails[name] = thumbnail
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        for _upload, name in self.items:
            discard_stored(name)
        for thumbnail in self.thumbnails.values():
            discard_stored(thumbnail)

    def __enter__(self) -> StoredFiles:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.discard()


def access_attachment_for_customer(
    user: AbstractBaseUser | None, number: object, attachment_id: object
) -> TicketAttachment:
    ticket = access_ticket_for_customer(user, number)
    return _attachment_of(ticket, attachment_id, include_internal=False)


def access_attachment_for_agent(
    user: AbstractBaseUser | None, number: object, attachment_id: object
) -> TicketAttachment:
    ticket = access_ticket_for_agent(user, number)
    return _attachment_of(ticket, attachment_id, include_internal=True)


def _attachment_of(
    ticket: Ticket, attachment_id: object, *, include_internal: bool
) -> TicketAttachment:
    try:
        public_id = uuid.UUID(str(attachment_id))
    except ValueError:
        raise TicketNotFound(_("no such attachment")) from None
    rows = TicketAttachment.objects.filter(ticket=ticket, public_id=public_id)
    if not include_internal:
        rows = rows.filter(internal=False)
    attachment = rows.first()
    if attachment is None:
        raise TicketNotFound(_("no such attachment"))
    return attachment
