"""chat's part of a contact's GDPR export and erasure (registered in ChatConfig.ready).

A contact's chats are those linked to the contact, or to a visitor linked to
it (a verified identity). Export: the visitors (what they typed in the
pre-chat form), every conversation with its events (internal notes too,
marked: they are data about the person) and attachments' metadata. Erase:
message bodies, page addresses, rating comments, visitor-authored names and
attachment files redacted; visitors' profile cleared, their token revoked
and their link to the contact cut. Conversations, their states, times and
scores stay for the KPIs.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.db.models import Q

from chat.models import ChatAttachment, Conversation, ConversationEvent, Visitor
from crm.gdpr import REDACTED, attachment_record, event_record, iso, redact_payload
from crm.models import Contact


def _conversations(contact: Contact):
    return Conversation.objects.filter(Q(contact=contact) | Q(visitor__contact=contact)).distinct()


def export_chats(contact: Contact) -> dict[str, Any]:
    visitors = Visitor.objects.filter(contact=contact).order_by("created_at")
    conversations = _conversations(contact).select_related("department").order_by("created_at")
    events_by_conversation: dict[int, list[dict[str, Any]]] = {}
    ids = [c.pk for c in conversations]
    for event in ConversationEvent.objects.filter(conversation_id__in=ids).order_by(
        "conversation", "seq"
    ):
        events_by_conversation.setdefault(event.conversation_id, []).append(event_record(event))
    attachments: dict[int, list[dict[str, Any]]] = {}
    for attachment in ChatAttachment.objects.filter(conversation_id__in=ids).order_by(
        "created_at", "pk"
    ):
        attachments.setdefault(attachment.conversation_id, []).append(
            {**attachment_record(attachment), "author_role": attachment.author_role}
        )
    return {
        "visitors": [
            {
                "id": str(v.public_id),
                "name": v.name,
                "email": v.email,
                "phone": v.phone,
                "external_id": v.external_id,
                "locale": v.locale,
                "created_at": iso(v.created_at),
                "last_seen_at": iso(v.last_seen_at),
            }
            for v in visitors
        ],
        "conversations": [
            {
                "id": str(c.public_id),
                "department": c.department.slug,
                "state": c.state,
                "page_url": c.page_url,
                "page_title": c.page_title,
                "locale": c.locale,
                "rating_score": c.rating_score,
                "rating_comment": c.rating_comment,
                "created_at": iso(c.created_at),
                "closed_at": iso(c.closed_at),
                "events": events_by_conversation.get(c.pk, []),
                "attachments": attachments.get(c.pk, []),
            }
            for c in conversations
        ],
    }


def erase_chats(contact: Contact) -> dict[str, int]:
    conversation_ids = list(_conversations(contact).values_list("pk", flat=True))
    redacted_events = 0
    for event in ConversationEvent.objects.filter(conversation_id__in=conversation_ids).only(
        "pk", "payload"
    ):
        payload = redact_payload(event.payload, author_role=event.author_role)
        if payload != event.payload:
            ConversationEvent.objects.filter(pk=event.pk).update(payload=payload)
            redacted_events += 1
    conversations = (
        Conversation.objects.filter(pk__in=conversation_ids)
        .exclude(page_url="", page_title="", rating_comment="")
        .update(page_url="", page_title="", rating_comment="")
    )
    files = 0
    for attachment in ChatAttachment.objects.filter(conversation_id__in=conversation_ids).exclude(
        filename=REDACTED
    ):
        if attachment.file:
            attachment.file.delete(save=False)
        if attachment.thumbnail:
            attachment.thumbnail.delete(save=False)
        attachment.filename = REDACTED
        attachment.save(update_fields=["file", "thumbnail", "filename"])
        files += 1
    visitors = 0
    for visitor in Visitor.objects.filter(contact=contact):
        visitor.name = visitor.email = visitor.phone = ""
        visitor.external_id = None
        visitor.contact = None
        # The browser's token no longer brings anyone back.
        visitor.token_hash = hashlib.sha256(secrets.token_bytes(32)).hexdigest()
        visitor.save(
            update_fields=["name", "email", "phone", "external_id", "contact", "token_hash"]
        )
        visitors += 1
    return {
        "events_redacted": redacted_events,
        "conversations_cleared": conversations,
        "attachments_erased": files,
        "visitors_unlinked": visitors,
    }
