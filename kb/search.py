"""KB search: the one entry point every surface calls (widget, portal, console, /kb/, API).

Language-aware on both databases, same behaviour (tests/kb/test_search.py
runs on each): words are folded (no accents; ș/ş, ț/ţ alike) and stemmed
per locale with Snowball, so "garantie" finds "garanția" and "гарантию"
finds "Гарантия"; a word in the title ranks above the same word in the body.

The query goes through stages, each only if the ones before found fewer
than FEW articles:

1. articles with every word of the query;
2. articles with any of them (a visitor's first message is a sentence);
3. titles with a word one typo away from a query word (trigram similarity).

PostgreSQL: kb/fts_postgresql.py (tsvector, unaccent, pg_trgm); SQLite:
kb/fts_sqlite.py (FTS5 over Python's stems). Snippets are made here, the
same way for both: the plain text around the first match, escaped, with the
matching words in <mark>.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from html import escape

from django.db import connection
from django.utils.safestring import SafeString, mark_safe

from kb import fts_postgresql, fts_sqlite
from kb.language import STOP_WORDS, fold, stem, words
from kb.models import Article
from kb.rendering import plain_text

FEW = 3
MAX_QUERY_WORDS = 10
SNIPPET_CHARS = 200
# Typos are looked for in words long enough to have one.
TYPO_MIN_LENGTH = 4


@dataclass(frozen=True, slots=True)
class ArticleHit:
    article: Article
    rank: float
    # Escaped text with the matched words in <mark>…</mark>.
    snippet_html: SafeString


@dataclass(frozen=True, slots=True)
class QueryWord:
    word: str  # folded
    stem: str


def query_words(query: str, locale: str) -> list[QueryWord]:
    """What a query looks for: folded words without stop words, one per stem."""
    stop = STOP_WORDS.get(locale, frozenset())
    found: dict[str, QueryWord] = {}
    for word in words((query or "")[:500]):
        if word in stop or (len(word) < 2 and not word.isdigit()):
            continue
        stemmed = stem(word, locale)
        found.setdefault(stemmed, QueryWord(word, stemmed))
    return list(found.values())[:MAX_QUERY_WORDS]


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
    wanted = query_words(query, locale)
    if not wanted or limit <= 0:
        return []
    # A few more than asked, so that the department's articles can move up.
    window = limit * 2 if department_id else limit
    scope = {"locale": locale, "include_internal": include_internal, "limit": window}
    backend_words = [w.word if connection.vendor == "postgresql" else w.stem for w in wanted]
    stages = [
        lambda: _match(backend_words, any_term=False, **scope),
        lambda: _match(backend_words, any_term=True, **scope) if len(wanted) > 1 else [],
        lambda: _typos([w.word for w in wanted if len(w.word) >= TYPO_MIN_LENGTH], **scope),
    ]
    ranked: dict[int, float] = {}
    for stage_number, stage in enumerate(stages):
        if len(ranked) >= min(FEW, limit):
            break
        # Later stages rank below earlier ones, whatever their own scores.
        for article_id, score in stage():
            ranked.setdefault(article_id, score - stage_number * 1000)
    if not ranked:
        return []
    articles = Article.objects.in_bulk(list(ranked))
    order = sorted(ranked, key=lambda article_id: -ranked[article_id])
    if department_id:
        tagged = set(
            Article.departments.through.objects.filter(
                article_id__in=order, department_id=department_id
            ).values_list("article_id", flat=True)
        )
        order.sort(key=lambda article_id: article_id not in tagged)  # stable: keeps rank
    stems = {w.stem for w in wanted}
    return [
        ArticleHit(
            article=articles[article_id],
            rank=ranked[article_id],
            snippet_html=snippet(articles[article_id], stems, locale),
        )
        for article_id in order[:limit]
        if article_id in articles
    ]


def _match(backend_words: list[str], *, any_term: bool, **scope) -> list[tuple[int, float]]:
    if connection.vendor == "postgresql":
        return fts_postgresql.match_words(connection, backend_words, any_term=any_term, **scope)
    return fts_sqlite.match_stems(connection, backend_words, any_term=any_term, **scope)


def _typos(typo_words: list[str], **scope) -> list[tuple[int, float]]:
    if not typo_words:
        return []
    if connection.vendor == "postgresql":
        return fts_postgresql.match_title_typos(connection, typo_words, **scope)
    return fts_sqlite.match_title_typos(connection, typo_words, **scope)


_TOKENS = re.compile(r"(\w+)")
_BLOCKS = re.compile(r"\n[ \t]*\n")


@functools.lru_cache(maxsize=100_000)
def _stem_of_text_word(word: str, locale: str) -> str:
    return stem(fold(word), locale)


def snippet(article: Article, stems: set[str], locale: str) -> SafeString:
    """About SNIPPET_CHARS of the body's text around its first match, matches in <mark>.

    Only the Markdown block (paragraph, list, …) with the first match and the
    next one are rendered to text: rendering a whole long article for three
    lines of it was most of a search's time.
    """
    blocks = _BLOCKS.split(article.body or "")
    found = next(
        (
            index
            for index, block in enumerate(blocks)
            if any(_stem_of_text_word(word, locale) in stems for word in _TOKENS.findall(block))
        ),
        0,
    )
    pieces = _TOKENS.split(plain_text("\n\n".join(blocks[found : found + 2])))
    first = 0
    for index in range(1, len(pieces), 2):
        if _stem_of_text_word(pieces[index], locale) in stems:
            first = index
            break
    # Start a little before the first match, at a piece boundary.
    start, before = first, 0
    while start > 0 and before + len(pieces[start - 1]) <= SNIPPET_CHARS // 4:
        start -= 1
        before += len(pieces[start])
    html: list[str] = ["…"] if start > 0 or found > 0 else []
    used = 0
    for index in range(start, len(pieces)):
        if used >= SNIPPET_CHARS:
            html.append("…")
            break
        piece = pieces[index]
        used += len(piece)
        if index % 2 and _stem_of_text_word(piece, locale) in stems:
            html.append(f"<mark>{escape(piece)}</mark>")
        else:
            html.append(escape(piece))
    return mark_safe("".join(html).strip())  # noqa: S308 — every piece escaped above
