"""Files in a conversation: stored, then announced by an `attachment` event.

The access rules and the download side are in `chat.attachments`.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from chat.access import access_conversation_for_agent, access_conversation_for_visitor
from chat.attachments import attachment_wire, visitor_upload_retry_after
from chat.errors import Conflict, Forbidden, RateLimited
from chat.log import Appended, Author, agent_author, next_seq, visitor_author, write_event
from chat.models import ChatAttachment, Conversation, ConversationEvent, Visitor
from foundation.thumbnails import store_thumbnail
from foundation.uploads import (
    CheckedUpload,
    discard_stored,
    new_download_token,
    store_upload,
    upload_from_request_file,
)

Kind = ConversationEvent.Kind


def post_attachment(
    conversation: Conversation,
    upload: CheckedUpload,
    *,
    author: Author,
    internal: bool = False,
    assigned_to: int | None = None,
) -> tuple[ChatAttachment, Appended]:
    """A checked file into the open conversation, announced by an `attachment` event.

    The bytes are stored first (no file I/O inside the transaction); if the
    row does not commit the stored file is removed again. `assigned_to`, as
    for messages: an agent's public file needs the conversation assigned to
    that agent, checked in the statement that takes the seq.
    """
    stored = store_upload(upload, area="chat")
    thumbnail = ""
    try:
        thumbnail = store_thumbnail(upload, stored)
        with transaction.atomic():
            now = timezone.now()
            seq = next_seq(conversation.pk, now=now, require_open=True, assigned_to=assigned_to)
            if seq is None:
                if (
                    assigned_to is not None
                    and Conversation.objects.filter(
                        pk=conversation.pk, state__in=Conversation.OPEN_STATES
                    ).exists()
                ):
                    raise Forbidden("accept the conversation before sending files")
                raise Conflict("the conversation is closed")
            attachment = ChatAttachment.objects.create(
                conversation_id=conversation.pk,
                download_token=new_download_token(),
                file=stored,
                thumbnail=thumbnail,
                filename=upload.filename,
                content_type=upload.content_type,
                size=upload.size,
                internal=internal,
                seq=seq,
                author_role=author.role,
                author_user_id=author.user_id,
                author_visitor_id=author.visitor_id,
            )
            payload = {"author": author.wire, **attachment_wire(attachment, conversation.public_id)}
            appended = write_event(
                conversation.pk,
                conversation.public_id,
                seq=seq,
                kind=Kind.ATTACHMENT,
                payload=payload,
                author=author,
                now=now,
                internal=internal,
            )
    except BaseException:
        discard_stored(stored)
        if thumbnail:
            discard_stored(thumbnail)
        raise
    return attachment, appended


def check_visitor_attachment(visitor: Visitor, conversation_id: object, uploaded: Any) -> Appended:
    """A visitor's file (a Django UploadedFile): rate limit, access, content checks, post."""
    retry_after = visitor_upload_retry_after(visitor.pk)
    if retry_after:
        raise RateLimited(retry_after)
    conversation = access_conversation_for_visitor(visitor, conversation_id)
    upload = upload_from_request_file(uploaded)
    return post_attachment(conversation, upload, author=visitor_author(visitor))[1]


def check_agent_attachment(
    user: AbstractBaseUser, conversation_id: object, uploaded: Any, *, internal: bool
) -> Appended:
    """An agent's file; public ones need the conversation assigned to this agent."""
    conversation = access_conversation_for_agent(user, conversation_id)
    upload = upload_from_request_file(uploaded)
    return post_attachment(
        conversation,
        upload,
        author=agent_author(user),
        internal=internal,
        assigned_to=None if internal else user.pk,
    )[1]
