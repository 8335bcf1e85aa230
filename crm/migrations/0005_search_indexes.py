"""Indexes for the console search (crm/search.py), on PostgreSQL only.

- pg_trgm GIN indexes on UPPER(name) of contacts and organizations: the
  substring search (`UPPER(name) LIKE '%POPESCU%'`);
- btree indexes in the "C" collation on UPPER(name), UPPER(serial_number),
  the e-mail and the phone number: the prefix search (`LIKE 'MA%'`) and its
  `ORDER BY … COLLATE "C" LIMIT 10` both walk the same index, whatever the
  database's collation. (Django's own `varchar_pattern_ops` indexes on e-mail
  and phone find the prefix but cannot give the order: `ma%` then sorted
  13,000 e-mails per keystroke.)

On SQLite (development, tests) this migration does nothing: there is no
trigram index to build and a few hundred contacts need none.
"""

from django.db import migrations

INDEXES = [
    ("crm_contact_name_trgm", "crm_contact", "USING gin (UPPER(name::text) gin_trgm_ops)"),
    ("crm_contact_name_prefix", "crm_contact", '(UPPER(name::text) COLLATE "C")'),
    ("crm_org_name_trgm", "crm_organization", "USING gin (UPPER(name::text) gin_trgm_ops)"),
    ("crm_org_name_prefix", "crm_organization", '(UPPER(name::text) COLLATE "C")'),
    ("crm_asset_serial_prefix", "crm_asset", '(UPPER(serial_number::text) COLLATE "C")'),
    ("crm_email_prefix", "crm_contactemail", '(email COLLATE "C")'),
    ("crm_phone_prefix", "crm_contactphone", '(number COLLATE "C")'),
]


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, definition in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} {definition}")
    # Statistics of the UPPER(name) expression come with its btree index, at the
    # next ANALYZE. Without them the planner guesses that `LIKE '%GRID%'` matches
    # 800 of 100,000 contacts and walks the table for ten rows that are not there.
    tables = sorted({table for _name, table, _definition in INDEXES})
    schema_editor.execute(f"ANALYZE {', '.join(tables)}")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _definition in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    # The extension stays: something else may use it by now.


class Migration(migrations.Migration):
    dependencies = [("crm", "0004_call_lifecycle")]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
