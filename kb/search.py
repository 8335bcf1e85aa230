"""KB search: the one entry point every surface calls (widget, portal, console, /kb/, API).

PLACEHOLDER until the real search lands (language-aware, two backends):
a plain case-insensitive match, enough for other code and its tests to run.
The signature and `ArticleHit` are the contract; keep them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from kb.models import Article
from kb.rendering import plain_text


@dataclass(frozen=True, slots=True)
class ArticleHit:
    article: Article
    rank: float
    # Escaped text with the matched words in <mark>…</mark>.
    snippet_html: SafeString


def search_articles(
    query: str,
    *,
    locale: str,
    include_internal: bool = False,
    department_id: int | None = None,
    limit: int = 10,
) -> list[ArticleHit]:
    """Published articles in `locale` matching `query`, best first.

    Internal articles only with `include_internal` (agents); `department_id`
    prefers, never filters: articles tagged with it rank first.
    """
    words = [w for w in (query or "").split() if len(w) >= 2][:10]
    if not words:
        return []
    found = Article.objects.filter(locale=locale, status=Article.Status.PUBLISHED)
    if not include_internal:
        found = found.filter(audience=Article.Audience.PUBLIC)
    match = Q()
    for word in words:
        match |= Q(title__icontains=word) | Q(body__icontains=word)
    hits = []
    for article in found.filter(match)[:limit]:
        text = plain_text(article.body, limit=200)
        hits.append(ArticleHit(article=article, rank=1.0, snippet_html=mark_safe(escape(text))))  # noqa: S308
    return hits
