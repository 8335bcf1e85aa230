"""Between transactional tests on PostgreSQL, empty the tables with DELETE instead of TRUNCATE.

Every test that commits for real (`transactional_db`: the socket tests, whose
consumers reach the database from their own threads) ends with Django's
`flush`. On PostgreSQL that is one TRUNCATE of every table, which gives each
table and index a new file: about a second per test on the CI machine, over
300 s of the services pass. The tables hold a test's few rows, and DELETE
empties them in a few milliseconds.

The foreign keys Django creates on PostgreSQL are DEFERRABLE INITIALLY
DEFERRED and `flush` runs in one transaction, so the order of the DELETEs
does not matter. Sequences go on counting, as after TRUNCATE without RESTART
IDENTITY (what TransactionTestCase asks for). A flush that asks for more
(RESTART IDENTITY, CASCADE) keeps Django's TRUNCATE. Only the test process is
changed: the workers and commands the suite starts run Django's own flush.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest


@contextmanager
def flush_by_delete() -> Iterator[None]:
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or allow_cascade:
            return truncate(
                self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        return [
            f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(table))};"
            for table in tables
        ]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "sql_flush", sql_flush)
        yield
