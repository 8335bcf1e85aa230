"""Deflection: articles suggested while a chat waits, and the chat they solve.

After the visitor's first message, while no agent has written, the widget
gets up to three articles in the visitor's language (`suggest_articles`).
"This solved my problem" (`check_visitor_deflected`) closes the chat with the
reason `deflected`, records the article on the conversation and tells the
registered listeners (kb counts it); the chat leaves the queue like any
closed one and, unlike a visitor leaving a waiting chat, becomes no ticket.

Deflected chats for KPIs: `Conversation.objects.exclude(deflected_article=None)`,
or the `closed` events whose payload reason is `deflected`.
"""

from __future__ import annotations

import uuid

from django.db import transaction

from chat import suggestions
from chat.access import access_conversation_for_visitor
from chat.actions.conversations import DEFLECTED_REASON, close_in_transaction
from chat.errors import Conflict, NotFound
from chat.log import Appended, visitor_author
from chat.models import Conversation, ConversationEvent, Visitor

DEFLECTED = DEFLECTED_REASON


def agent_has_written(conversation_pk: int) -> bool:
    return ConversationEvent.objects.filter(
        conversation_id=conversation_pk,
        kind=ConversationEvent.Kind.MESSAGE,
        author_role=ConversationEvent.Role.AGENT,
        internal=False,
    ).exists()


def suggest_articles(
    conversation_pk: int, text: str, *, locale: str
) -> list[suggestions.SuggestedArticle]:
    """Articles for the first message of a waiting chat (once per chat); [] when none match."""
    conversation = Conversation.objects.filter(
        pk=conversation_pk, state__in=Conversation.OPEN_STATES
    ).first()
    if conversation is None or conversation.suggested_articles:
        return []
    if agent_has_written(conversation_pk):
        return []
    found = suggestions.suggestions_for(
        text, locale=locale, department_id=conversation.department_id
    )
    if found:
        # What the visitor may later say solved it (check_visitor_deflected).
        Conversation.objects.filter(pk=conversation_pk).update(
            suggested_articles=[article["id"] for article in found]
        )
    return found


def deflect_conversation(
    conversation: Conversation, article_id: uuid.UUID, *, visitor: Visitor
) -> Appended:
    with transaction.atomic():
        appended = close_in_transaction(
            conversation, by=ConversationEvent.Role.VISITOR, reason=DEFLECTED,
            author=visitor_author(visitor),
        )  # fmt: skip
        Conversation.objects.filter(pk=conversation.pk).update(deflected_article=article_id)
        suggestions.announce_deflection(article_id)
    return appended


def check_visitor_deflected(visitor: Visitor, conversation_id: str, article_id: str) -> Appended:
    """The visitor says a suggested article solved it: the chat ends, deflected."""
    conversation = access_conversation_for_visitor(visitor, conversation_id)
    article = uuid.UUID(article_id)
    if str(article) not in (conversation.suggested_articles or []):
        raise NotFound("that article was not suggested in this conversation")
    if not conversation.is_open:
        raise Conflict("the conversation is already closed")
    if agent_has_written(conversation.pk):
        raise Conflict("an agent has answered; end the chat instead")
    return deflect_conversation(conversation, article, visitor=visitor)
