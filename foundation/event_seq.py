"""The next `seq` of an event log, taken from its parent row's `last_seq`.

Chat conversations and tickets keep gapless, per-row event logs the same
way: the parent row holds `last_seq`, and appending an event first adds one
to it. On PostgreSQL and SQLite (≥ 3.35) that is one `UPDATE … SET last_seq
= last_seq + 1 … RETURNING last_seq`: the row lock it takes serializes
concurrent appends, so seqs are unique and gapless without a SELECT FOR
UPDATE round trip (docs/decisions/pitfalls.md#slow-naive-write-path).
Other databases get an UPDATE and a re-read, in the caller's transaction.

The statement may also set other columns of the row (`updates`) and apply
only while some of them hold given values (`only_if`): a closed
conversation takes no new message, in the same statement.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from django.db import connection
from django.db.models import F, Model

COUNTER = "last_seq"


def next_seq_sql(
    model: type[Model],
    pk: Any,
    *,
    updates: Mapping[str, Any] | None = None,
    only_if: Mapping[str, Any] | None = None,
    set_if_null: Mapping[str, Any] | None = None,
) -> tuple[str, list[Any]]:
    """The `UPDATE … RETURNING last_seq` statement and its parameters.

    Field names (or attnames such as `assigned_agent_id`) map to columns; a
    None in `updates` sets NULL; a collection in `only_if` is an IN list;
    `set_if_null` columns take their value only while they are NULL.
    Callers that need more in the same round trip embed it (a CTE).
    """
    meta = model._meta
    quote = connection.ops.quote_name
    counter = quote(meta.get_field(COUNTER).column)
    assignments = [f"{counter} = {counter} + 1"]
    params: list[Any] = []
    for name, value in (updates or {}).items():
        field = meta.get_field(name)
        if value is None:
            assignments.append(f"{quote(field.column)} = NULL")
        else:
            assignments.append(f"{quote(field.column)} = %s")
            params.append(field.get_db_prep_save(value, connection))
    for name, value in (set_if_null or {}).items():
        column = quote(meta.get_field(name).column)
        assignments.append(f"{column} = COALESCE({column}, %s)")
        params.append(meta.get_field(name).get_db_prep_save(value, connection))
    conditions = [f"{quote(meta.pk.column)} = %s"]
    params.append(meta.pk.get_db_prep_value(pk, connection))
    for name, value in (only_if or {}).items():
        field = meta.get_field(name)
        values = _as_list(value)
        if values is None:
            conditions.append(f"{quote(field.column)} = %s")
            params.append(field.get_db_prep_value(value, connection))
        else:
            placeholders = ", ".join(["%s"] * len(values))
            conditions.append(f"{quote(field.column)} IN ({placeholders})")
            params += [field.get_db_prep_value(v, connection) for v in values]
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {', '.join(assignments)} "  # noqa: S608 (names are the model's)
        f"WHERE {' AND '.join(conditions)} RETURNING {counter}"
    )
    return sql, params


def next_seq(
    model: type[Model],
    pk: Any,
    *,
    updates: Mapping[str, Any] | None = None,
    only_if: Mapping[str, Any] | None = None,
) -> int | None:
    """Take the row's next seq (applying `updates`); None when no row matches `only_if`.

    Call it inside the transaction that inserts the event, so that a failed
    insert gives the seq back.
    """
    if connection.vendor in {"postgresql", "sqlite"}:
        sql, params = next_seq_sql(model, pk, updates=updates, only_if=only_if)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        return row[0] if row else None
    rows = model._default_manager.filter(pk=pk)
    for name, value in (only_if or {}).items():
        values = _as_list(value)
        rows = rows.filter(**({name: value} if values is None else {f"{name}__in": values}))
    if not rows.update(**{COUNTER: F(COUNTER) + 1}, **(updates or {})):
        return None
    return model._default_manager.values_list(COUNTER, flat=True).get(pk=pk)


def _as_list(value: Any) -> list[Any] | None:
    """The values of an IN condition, or None for a single value."""
    if isinstance(value, Collection) and not isinstance(value, str | bytes):
        return list(value)
    return None
