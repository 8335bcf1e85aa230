"""Indexes for the console search (crm/search.py), on PostgreSQL only.

- pg_trgm GIN indexes on UPPER(name) of contacts and organizations: the
  substring search (`UPPER(name) LIKE '%POPESCU%'`);
- pattern-ops btree indexes on UPPER(name) and UPPER(serial_number): the
  case-insensitive prefix search (`LIKE 'MARIA%'`), whatever the collation.

Phones and e-mails need nothing new: Django already gives those columns a
`varchar_pattern_ops` index for their prefix search. On SQLite (development,
tests) this migration does nothing: there is no trigram index to build and
100 contacts need none.
"""

from django.db import migrations

INDEXES = [
    ("crm_contact_name_trgm", "crm_contact", "USING gin (UPPER(name::text) gin_trgm_ops)"),
    ("crm_contact_name_prefix", "crm_contact", "(UPPER(name::text) text_pattern_ops)"),
    ("crm_org_name_trgm", "crm_organization", "USING gin (UPPER(name::text) gin_trgm_ops)"),
    ("crm_org_name_prefix", "crm_organization", "(UPPER(name::text) text_pattern_ops)"),
    ("crm_asset_serial_prefix", "crm_asset", "(UPPER(serial_number::text) text_pattern_ops)"),
]


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, definition in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} {definition}")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _definition in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    # The extension stays: something else may use it by now.


class Migration(migrations.Migration):
    dependencies = [("crm", "0003_contact_erasure")]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
