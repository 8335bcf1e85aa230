"""The files that go with a message: their rows, then the link to the message's event.

Uploads are checked and stored before the action's transaction
(`tickets.attachments.StoredFiles`, which removes them again if it rolls
back); files carried over from a chat keep the chat's stored file. The rows
are written first and pointed at the event once it exists
(`link_attachments`), so the event's payload can list them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tickets.attachments import StoredFiles
from tickets.models import Ticket, TicketAttachment, TicketEvent


def new_attachments(
    ticket: Ticket,
    *,
    stored: StoredFiles | None = None,
    chat_files: Sequence[Any] = (),
    internal: bool,
) -> list[TicketAttachment]:
    """Rows for files already stored (uploads) or carried over from the chat (same stored file)."""
    rows = [
        TicketAttachment(
            ticket=ticket,
            file=name,
            thumbnail=stored.thumbnails.get(name, "") if stored is not None else "",
            filename=upload.filename,
            content_type=upload.content_type,
            size=upload.size,
            internal=internal,
        )
        for upload, name in (stored.items if stored is not None else [])
    ]
    rows += [
        TicketAttachment(
            ticket=ticket,
            file=chat_file.file.name,
            thumbnail=chat_file.thumbnail.name or "",
            filename=chat_file.filename,
            content_type=chat_file.content_type,
            size=chat_file.size,
            internal=internal or chat_file.internal,
            chat_attachment=chat_file,
        )
        for chat_file in chat_files
    ]
    for row in rows:
        row.save(force_insert=True)
    return rows


def link_attachments(files: list[TicketAttachment], event: TicketEvent) -> None:
    if files:
        TicketAttachment.objects.filter(pk__in=[f.pk for f in files]).update(event=event)
