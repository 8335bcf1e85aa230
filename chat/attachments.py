"""Chat attachments: their links, their wire form, and who may open them.

A chat file is announced by an event of kind `attachment` (written by
`chat.actions.attachments.post_attachment`). Its download URL carries a
random token and is checked on every request against the conversation's
participants: its visitor (bearer visitor token) and the agents
`chat.access` lets see the conversation. Internal files are the agents'
only: for a visitor they do not exist.
"""

from __future__ import annotations

import math
import time
import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache

from chat.access import access_conversation_for_agent, access_conversation_for_visitor
from chat.errors import NotFound
from chat.models import ChatAttachment, Visitor
from foundation.public_url import offline_base

UPLOAD_WINDOW_S = 600
# The thumbnail's URL is the file's URL plus this: same token, same access check.
THUMBNAIL_PATH_SUFFIX = "/thumbnail"
ATTACHMENT_LINKS = ("url", "thumbnail_url")


def attachment_path(conversation: uuid.UUID | str, token: str) -> str:
    return f"/api/v1/conversations/{uuid.UUID(str(conversation))}/attachments/{token}"


def attachment_url(conversation: uuid.UUID | str, token: str) -> str:
    # Stored in the event as made offline; answers and frames re-base it (foundation.public_url).
    return offline_base() + attachment_path(conversation, token)


def attachment_wire(attachment: ChatAttachment, conversation: uuid.UUID | str) -> dict[str, Any]:
    """The fields of the `attachment` event (and of the upload's answer).

    `thumbnail_url` only for an image that has a thumbnail (foundation.thumbnails).
    """
    wire = {
        "id": str(attachment.public_id),
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "url": attachment_url(conversation, attachment.download_token),
    }
    if attachment.thumbnail:
        wire["thumbnail_url"] = wire["url"] + THUMBNAIL_PATH_SUFFIX
    return wire


def _by_token(conversation_pk: int, token: object, *, include_internal: bool) -> ChatAttachment:
    if not isinstance(token, str) or not 16 <= len(token) <= 64:
        raise NotFound("no such attachment")
    rows = ChatAttachment.objects.filter(conversation_id=conversation_pk, download_token=token)
    if not include_internal:
        rows = rows.filter(internal=False)
    attachment = rows.first()
    if attachment is None:
        raise NotFound("no such attachment")
    return attachment


def access_attachment_for_visitor(
    visitor: Visitor, conversation_id: object, token: object
) -> ChatAttachment:
    conversation = access_conversation_for_visitor(visitor, conversation_id)
    return _by_token(conversation.pk, token, include_internal=False)


def access_attachment_for_agent(
    user: AbstractBaseUser, conversation_id: object, token: object
) -> ChatAttachment:
    conversation = access_conversation_for_agent(user, conversation_id)
    return _by_token(conversation.pk, token, include_internal=True)


def visitor_upload_retry_after(visitor_pk: int, *, now: float | None = None) -> int:
    """Counts one upload; 0 if allowed, else seconds until the window resets.

    Anonymous visitors can upload, so they are limited: a fixed window of
    `CHATPORTAL_VISITOR_UPLOADS_PER_10_MIN` (default 20) per visitor.
    """
    limit = int(getattr(settings, "CHATPORTAL_VISITOR_UPLOADS_PER_10_MIN", 20))
    now = time.time() if now is None else now
    window = int(now // UPLOAD_WINDOW_S)
    key = f"chat:visitor-uploads:{visitor_pk}:{window}"
    try:
        count = cache.incr(key)
    except ValueError:
        count = 1 if cache.add(key, 1, timeout=UPLOAD_WINDOW_S * 2) else cache.incr(key)
    if count <= limit:
        return 0
    return max(1, math.ceil((window + 1) * UPLOAD_WINDOW_S - now))
