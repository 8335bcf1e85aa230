"""KB search on PostgreSQL: a stored tsvector per article, pg_trgm for typos.

kb/migrations/0003_search.py creates the text search configurations
`kb_en`, `kb_ro`, `kb_ru` (english, romanian, russian with `unaccent` before
the Snowball stemmer), the generated column `kb_article.search_vector`
(title weight A, body weight B; GIN index) and a trigram GIN index on
`kb_unaccent(title)`. The column is the database's own business: the Django
model does not declare it, so SQLite has nothing to emulate and no code can
forget to fill it.

Queries are the stems kb/language.py found, each given to `plainto_tsquery`
as a parameter (the configuration folds and stems it again, as it did the
article): no user text is ever parsed as tsquery syntax.
"""

from __future__ import annotations

from django.db import transaction

from kb.language import TYPO_SIMILARITY

CONFIGURATIONS = {"en": "kb_en", "ro": "kb_ro", "ru": "kb_ru"}


def _visible(include_internal: bool) -> str:
    audience = "" if include_internal else " AND audience = 'public'"
    return f"locale = %s AND status = 'published'{audience}"


# Ranking reads every candidate's whole tsvector. A word that half the
# articles of a locale contain would rank thousands of rows per keystroke, so
# the articles with it in the title are ranked first (few), and only up to
# BODY_CANDIDATES of the others are ranked after them.
BODY_CANDIDATES = 300


def match_words(
    connection,
    query_words: list[str],
    *,
    any_term: bool,
    locale: str,
    include_internal: bool,
    limit: int,
) -> list[tuple[int, float]]:
    """(article id, ts_rank) of the articles with all (or any) of the words, best first."""
    config = CONFIGURATIONS.get(locale, "kb_en")
    joiner = " || " if any_term else " && "
    tsquery = joiner.join(f"plainto_tsquery('{config}', %s)" for _ in query_words)
    visible = _visible(include_internal)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH query AS (SELECT {tsquery} AS q),"  # noqa: S608 (only our own fragments; words are parameters)
            " in_title AS ("
            "  SELECT id, ts_rank(search_vector, query.q) + 1 AS score FROM kb_article, query"
            f"  WHERE title_vector @@ query.q AND {visible}"
            "  ORDER BY score DESC, id LIMIT %s),"
            " in_body AS ("
            "  SELECT id, search_vector FROM kb_article, query"
            f"  WHERE search_vector @@ query.q AND NOT title_vector @@ query.q AND {visible}"
            "  LIMIT %s)"
            " SELECT id, score FROM in_title"
            " UNION ALL"
            " (SELECT id, ts_rank(search_vector, query.q) AS score FROM in_body, query"
            "  ORDER BY score DESC, id LIMIT %s)"
            " ORDER BY score DESC, id LIMIT %s",
            [*query_words, locale, limit, locale, BODY_CANDIDATES, limit, limit],
        )
        return [(row[0], float(row[1])) for row in cursor.fetchall()]


def match_title_typos(
    connection, query_words: list[str], *, locale: str, include_internal: bool, limit: int
) -> list[tuple[int, float]]:
    """Articles whose title has a word like one of the query's (`<%`, GIN-indexed).

    pg_trgm's default threshold for `<%` (0.6) misses one wrong letter in a
    seven-letter word; SET LOCAL lowers it to the SQLite backend's for this
    transaction only.
    """
    similar = " OR ".join("kb_unaccent(%s) <%% kb_unaccent(title)" for _ in query_words)
    score = " + ".join("word_similarity(kb_unaccent(%s), kb_unaccent(title))" for _ in query_words)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL pg_trgm.word_similarity_threshold = {TYPO_SIMILARITY:.2f}")
        cursor.execute(
            f"SELECT id, {score} AS score FROM kb_article"  # noqa: S608 (only our own fragments; words are parameters)
            f" WHERE ({similar}) AND {_visible(include_internal)}"
            " ORDER BY score DESC, id LIMIT %s",
            [*query_words, *query_words, locale, limit],
        )
        return [(row[0], float(row[1])) for row in cursor.fetchall()]
