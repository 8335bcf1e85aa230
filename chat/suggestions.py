"""Self-service hooks: where suggested articles come from and who hears of a deflection.

chat sits below the knowledge base (kb imports chat, never the reverse), so
kb plugs in here from its AppConfig.ready(): a suggestion source that turns a
visitor's words into articles, and a listener told when an article solved a
chat. Without kb installed, nothing is suggested and nothing is counted.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TypedDict


class SuggestedArticle(TypedDict):
    id: str  # the article's public id
    title: str
    url: str
    snippet: str  # plain text


# (text, locale, department_id) -> articles, best first.
SuggestionSource = Callable[[str, str, int | None], list[SuggestedArticle]]
# Called inside the closing transaction with the article's public id.
DeflectionListener = Callable[[uuid.UUID], None]

_sources: list[SuggestionSource] = []
_listeners: list[DeflectionListener] = []

MAX_SUGGESTIONS = 3


def register_suggestion_source(source: SuggestionSource) -> None:
    if source not in _sources:
        _sources.append(source)


def register_deflection_listener(listener: DeflectionListener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def suggestions_for(text: str, *, locale: str, department_id: int | None) -> list[SuggestedArticle]:
    found: list[SuggestedArticle] = []
    for source in _sources:
        for article in source(text, locale, department_id):
            if all(article["id"] != seen["id"] for seen in found):
                found.append(article)
    return found[:MAX_SUGGESTIONS]


def announce_deflection(article_id: uuid.UUID) -> None:
    for listener in _listeners:
        listener(article_id)
