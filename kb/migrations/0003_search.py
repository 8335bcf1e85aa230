"""The search index: PostgreSQL full-text search per language, or SQLite FTS5.

PostgreSQL (kb/fts_postgresql.py): the unaccent and pg_trgm extensions; the
text search configurations kb_en, kb_ro and kb_ru — english, romanian and
russian with `unaccent` before the Snowball stemmer, so "garantie",
"garanţie" (cedilla) and "garanție" (comma) are one word; the generated
column kb_article.search_vector (title A, body B) and kb_article.title_vector
(the title alone: a small candidate set to rank first), GIN-indexed; and a
trigram GIN index on the unaccented title for typos. `kb_unaccent()` is
unaccent with its dictionary named, which makes it IMMUTABLE and indexable.

SQLite (kb/fts_sqlite.py): two FTS5 tables kept by triggers. Each part is a
no-op on the other database.
"""

from django.db import migrations

CONFIGURATIONS = {"kb_en": "english", "kb_ro": "romanian", "kb_ru": "russian"}
CONFIG_OF_LOCALE = (
    "CASE locale WHEN 'ro' THEN 'kb_ro'::regconfig"
    " WHEN 'ru' THEN 'kb_ru'::regconfig ELSE 'kb_en'::regconfig END"
)


def create_postgresql(schema_editor):
    execute = schema_editor.execute
    execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # Schema-qualified: pg_restore (chatportal restore) runs with an empty search_path
    # when it rebuilds the index on kb_unaccent(title), and an unqualified name is not found.
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'unaccent'"
        )
        schema = cursor.fetchone()[0]
    execute(
        "CREATE OR REPLACE FUNCTION kb_unaccent(text) RETURNS text"
        " LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT"
        f" AS $$ SELECT {schema}.unaccent('{schema}.unaccent'::regdictionary, $1) $$"
    )
    for name, language in CONFIGURATIONS.items():
        execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {name} CASCADE")
        execute(f"CREATE TEXT SEARCH CONFIGURATION {name} (COPY = {language})")
        execute(
            f"ALTER TEXT SEARCH CONFIGURATION {name}"
            f" ALTER MAPPING FOR hword, hword_part, word WITH unaccent, {language}_stem"
        )
    execute(
        "ALTER TABLE kb_article ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
        f" setweight(to_tsvector({CONFIG_OF_LOCALE}, coalesce(title, '')), 'A')"
        f" || setweight(to_tsvector({CONFIG_OF_LOCALE}, coalesce(body, '')), 'B')"
        ") STORED"
    )
    execute(
        "ALTER TABLE kb_article ADD COLUMN title_vector tsvector GENERATED ALWAYS AS ("
        f" to_tsvector({CONFIG_OF_LOCALE}, coalesce(title, ''))) STORED"
    )
    execute("CREATE INDEX kb_article_search_vector ON kb_article USING gin (search_vector)")
    execute("CREATE INDEX kb_article_title_vector ON kb_article USING gin (title_vector)")
    execute(
        "CREATE INDEX kb_article_title_trgm ON kb_article"
        " USING gin (kb_unaccent(title) gin_trgm_ops)"
    )


def drop_postgresql(schema_editor):
    execute = schema_editor.execute
    execute("DROP INDEX IF EXISTS kb_article_title_trgm")
    execute("ALTER TABLE kb_article DROP COLUMN IF EXISTS search_vector")
    execute("ALTER TABLE kb_article DROP COLUMN IF EXISTS title_vector")
    for name in CONFIGURATIONS:
        execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {name}")
    execute("DROP FUNCTION IF EXISTS kb_unaccent(text)")
    # The extensions stay: something else may use them by now.


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        create_postgresql(schema_editor)
    elif schema_editor.connection.vendor == "sqlite":
        from kb.fts_sqlite import install

        install(schema_editor.connection)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        drop_postgresql(schema_editor)
    elif schema_editor.connection.vendor == "sqlite":
        from kb.fts_sqlite import uninstall

        uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("kb", "0002_authoring")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
