"""The contact's chats as entries of the CRM timeline (registered in ChatConfig.ready)."""

from __future__ import annotations

from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext as _

from chat.models import Conversation, ConversationEvent
from crm.timeline import TimelineEntry, TimelineScope

SUMMARY_CHARS = 200


def chat_entries(scope: TimelineScope, limit: int) -> list[TimelineEntry]:
    first_words = (
        ConversationEvent.objects.filter(
            conversation=OuterRef("pk"),
            kind=ConversationEvent.Kind.MESSAGE,
            author_role=ConversationEvent.Role.VISITOR,
        )
        .order_by("seq")
        .values("payload")[:1]
    )
    conversations = (
        Conversation.objects.filter(scope.rows("contact", at="created_at"))
        .select_related("department", "assigned_agent")
        .annotate(opening=Subquery(first_words))
        .order_by("-created_at")[:limit]
    )
    entries = []
    for conversation in conversations:
        parts = [conversation.get_state_display()]
        agent = conversation.assigned_agent
        if agent is not None:
            parts.append(agent.get_full_name() or agent.get_username())
        if conversation.rating_score is not None:
            rated = _("rated %(score)s of 5") % {"score": conversation.rating_score}
            if conversation.rating_comment:
                rated += f" “{conversation.rating_comment[:SUMMARY_CHARS]}”"
            parts.append(rated)
        opening = conversation.opening
        if isinstance(opening, dict) and isinstance(opening.get("body"), str):
            parts.append(opening["body"][:SUMMARY_CHARS])
        entries.append(
            TimelineEntry(
                kind="chat",
                at=conversation.created_at,
                title=_("Chat with %(department)s") % {"department": conversation.department.name},
                summary=" · ".join(parts),
                ref=str(conversation.public_id),
            )
        )
    return entries
