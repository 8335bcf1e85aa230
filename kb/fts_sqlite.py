"""KB search on SQLite: FTS5 over stems that Python computed.

SQLite's tokenizers know no Romanian or Russian, so the index holds what
kb/language.py makes of the text (folded, Snowball-stemmed words separated
by spaces) and a query is stemmed the same way. Two FTS5 tables, rowid =
the article's id:

- `kb_article_fts(title, body)`: the stems; bm25 weighs the title 10× the body;
- `kb_article_trigrams(title)`: the folded title, trigram tokenizer, for typos.

Kept in sync by triggers on kb_article that call `kb_stems()` and
`kb_fold()`, Python functions registered on every SQLite connection
(kb/apps.py): whatever writes an article — an action, the admin, a bulk
create, a queryset update, a migration — updates the index in the same
transaction, which a post_save signal would not. Django rebuilds a table for
some ALTERs on SQLite and the triggers go with the old one, so `install()`
runs after every `migrate` (post_migrate) and refills the index when it finds
them gone.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from kb.language import TYPO_SIMILARITY, similarity, stems, words

TRIGGERS = ("kb_article_fts_insert", "kb_article_fts_update", "kb_article_fts_delete")

CREATE_TABLES = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS kb_article_fts USING fts5(title, body)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS kb_article_trigrams USING fts5(title, tokenize='trigram')",
]
INDEX_ROW = (
    "INSERT INTO kb_article_fts(rowid, title, body)"
    " VALUES ({row}.id, kb_stems({row}.locale, {row}.title), kb_stems({row}.locale, {row}.body));"
    " INSERT INTO kb_article_trigrams(rowid, title) VALUES ({row}.id, kb_fold({row}.title));"
)
UNINDEX_ROW = (
    "DELETE FROM kb_article_fts WHERE rowid = old.id;"
    " DELETE FROM kb_article_trigrams WHERE rowid = old.id;"
)
CREATE_TRIGGERS = [
    f"CREATE TRIGGER IF NOT EXISTS kb_article_fts_insert AFTER INSERT ON kb_article"
    f" BEGIN {INDEX_ROW.format(row='new')} END",
    f"CREATE TRIGGER IF NOT EXISTS kb_article_fts_update"
    f" AFTER UPDATE OF locale, title, body ON kb_article"
    f" BEGIN {UNINDEX_ROW} {INDEX_ROW.format(row='new')} END",
    f"CREATE TRIGGER IF NOT EXISTS kb_article_fts_delete AFTER DELETE ON kb_article"
    f" BEGIN {UNINDEX_ROW} END",
]


def stems_text(locale: str | None, text: str | None) -> str:
    return " ".join(stems(text or "", locale or "en"))


def fold_text(text: str | None) -> str:
    return " ".join(words(text or ""))


def register_functions(dbapi_connection) -> None:
    """`kb_stems(locale, text)` and `kb_fold(text)` for the triggers."""
    dbapi_connection.create_function("kb_stems", 2, stems_text, deterministic=True)
    dbapi_connection.create_function("kb_fold", 1, fold_text, deterministic=True)


def install(connection: BaseDatabaseWrapper) -> None:
    """Create the index and its triggers if missing; refill it if the triggers were gone."""
    connection.ensure_connection()
    register_functions(connection.connection)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN (%s, %s, %s)",
            TRIGGERS,
        )
        complete = cursor.fetchone()[0] == len(TRIGGERS)
        for statement in CREATE_TABLES + CREATE_TRIGGERS:
            cursor.execute(statement)
        if not complete:
            cursor.execute("DELETE FROM kb_article_fts")
            cursor.execute("DELETE FROM kb_article_trigrams")
            cursor.execute(
                "INSERT INTO kb_article_fts(rowid, title, body)"
                " SELECT id, kb_stems(locale, title), kb_stems(locale, body) FROM kb_article"
            )
            cursor.execute(
                "INSERT INTO kb_article_trigrams(rowid, title) SELECT id, kb_fold(title) FROM kb_article"
            )


def uninstall(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        for trigger in TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        cursor.execute("DROP TABLE IF EXISTS kb_article_fts")
        cursor.execute("DROP TABLE IF EXISTS kb_article_trigrams")


def _visible(include_internal: bool) -> str:
    audience = "" if include_internal else " AND a.audience = 'public'"
    return f"a.locale = %s AND a.status = 'published'{audience}"


def match_stems(
    connection, terms: list[str], *, any_term: bool, locale: str, include_internal: bool, limit: int
) -> list[tuple[int, float]]:
    """(article id, score) of the articles with all (or any) of the stems, best first."""
    # Stems are \w+ only; quoted, no word can be read as an FTS5 operator.
    expression = (" OR " if any_term else " AND ").join(f'"{term}"' for term in terms)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.id, -bm25(kb_article_fts, 10.0, 1.0) FROM kb_article_fts"  # noqa: S608 (only our own fragments; words are parameters)
            " JOIN kb_article a ON a.id = kb_article_fts.rowid"
            f" WHERE kb_article_fts MATCH %s AND {_visible(include_internal)}"
            " ORDER BY bm25(kb_article_fts, 10.0, 1.0) LIMIT %s",
            [expression, locale, limit],
        )
        return [(row[0], float(row[1])) for row in cursor.fetchall()]


def match_title_typos(
    connection, query_words: list[str], *, locale: str, include_internal: bool, limit: int
) -> list[tuple[int, float]]:
    """Articles whose title has a word like one of the query's (one typo away)."""
    grams = sorted({gram for word in query_words for gram in _inner_trigrams(word)})
    if not grams:
        return []
    expression = " OR ".join(f'"{gram}"' for gram in grams)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.id, t.title FROM kb_article_trigrams t"  # noqa: S608 (only our own fragments; words are parameters)
            " JOIN kb_article a ON a.id = t.rowid"
            f" WHERE kb_article_trigrams MATCH %s AND {_visible(include_internal)}"
            " ORDER BY bm25(kb_article_trigrams) LIMIT 100",
            [expression, locale],
        )
        rows = cursor.fetchall()
    scored = []
    for article_id, title in rows:
        title_words = set(title.split())
        best_per_word = [
            max((similarity(word, candidate) for candidate in title_words), default=0.0)
            for word in query_words
        ]
        if max(best_per_word) >= TYPO_SIMILARITY:
            scored.append((article_id, sum(best_per_word)))
    scored.sort(key=lambda hit: -hit[1])
    return scored[:limit]


def _inner_trigrams(word: str) -> set[str]:
    # The FTS5 trigram tokenizer indexes the text's own trigrams, no padding.
    return {word[i : i + 3] for i in range(len(word) - 2)}
