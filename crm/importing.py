"""`chatportal import-crm FILE`: the company's CRM export, through the same upserts as the API.

The file is CSV (a header row) or JSON Lines (one object a line), told
apart by its extension (`.csv`; `.jsonl`, `.ndjson`) or `--format`. Each
record is an organization, contact, asset or contract: `--type` names it
for the whole file, or each record carries a `type` column/key. A record's
key is `external_id` (an asset's: `serial_number`); its other fields are
those of the matching `PUT /api/v1/crm/...` body. In CSV an empty cell
leaves the field out (the stored value stays), and `emails` and `phones`
hold several values separated by `;`.

Records are upserted in file order, so a file that lists organizations
before their contacts can be imported in one go. Each record is all or
nothing; `all_or_nothing=True` makes the whole file the unit (one bad
record and nothing is written). A dry run does every lookup and write
inside one transaction and rolls it back, so it reports exactly what a real
run would. Running the same file twice reports every record "unchanged".
"""

from __future__ import annotations

import contextlib
import csv
import enum
import io
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from pydantic import ValidationError

from crm.schemas import AssetIn, ContactIn, ContractIn, OrganizationIn, UpsertIn
from crm.upserts import (
    InvalidRecord,
    Upserted,
    upsert_asset,
    upsert_contact,
    upsert_contract,
    upsert_organization,
)

# One record type: its schema, the column its key is in, the upsert.
RECORD_TYPES: dict[str, tuple[type[UpsertIn], str, Callable[[str, Any], Upserted]]] = {
    "organization": (OrganizationIn, "external_id", upsert_organization),
    "contact": (ContactIn, "external_id", upsert_contact),
    "asset": (AssetIn, "serial_number", upsert_asset),
    "contract": (ContractIn, "external_id", upsert_contract),
}
LIST_FIELDS = frozenset({"emails", "phones"})
MAX_KEY_LENGTH = 100


class Format(enum.StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


class ImportFileError(ValueError):
    """The file as a whole cannot be read (format, encoding, header)."""


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


@dataclass
class ImportReport:
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[RowError] = field(default_factory=list)
    failed_rows: int = 0
    rolled_back: bool = False

    @property
    def rows(self) -> int:
        return sum(self.counts.values()) + self.failed_rows

    def summary(self) -> str:
        parts = [f"{self.counts[o]} {o}" for o in ("created", "updated", "unchanged")]
        parts.append(f"{self.failed_rows} failed")
        return ", ".join(parts)


class _RollBack(Exception):
    """Undo the whole file's transaction (a dry run, or a bad row with all_or_nothing)."""


def detect_format(path: Path, given: str | None = None) -> Format:
    if given:
        return Format(given)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return Format.CSV
    if suffix in (".jsonl", ".ndjson"):
        return Format.JSONL
    raise ImportFileError("cannot tell the format from the file name; give --format csv|jsonl")


def read_records(text: str, file_format: Format) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, record) for each record; a record that cannot be read is an error string."""
    if file_format == Format.JSONL:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, f"not valid JSON ({exc.msg})"
                continue
            yield number, record if isinstance(record, dict) else "not a JSON object"
        return
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    if not reader.fieldnames:
        raise ImportFileError("the CSV file has no header row")
    if len(set(reader.fieldnames)) != len(reader.fieldnames):
        raise ImportFileError("the CSV header names a column twice")
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, f"not valid CSV ({exc})"
            return
        if None in row:
            yield start, "more cells than the header has columns"
        elif any(cell.strip() for cell in row.values() if cell):
            yield start, _from_csv(row)
        start = reader.line_num + 1


def _from_csv(row: dict[str, str | None]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for name, cell in row.items():
        text = (cell or "").strip()
        if not text:
            continue  # an empty cell leaves the field as it is
        if name in LIST_FIELDS:
            record[name] = [item.strip() for item in text.split(";") if item.strip()]
        else:
            record[name] = text
    return record


def count_records(text: str, file_format: Format) -> int:
    return sum(1 for _ in read_records(text, file_format))


def _validation_errors(line: int, exc: ValidationError) -> list[RowError]:
    errors = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error.get("loc", ())) or "record"
        errors.append(RowError(line, location, str(error.get("msg", "invalid"))))
    return errors


def _import_one(
    line: int, record: dict[str, Any] | str, default_type: str | None
) -> tuple[str | None, list[RowError]]:
    """Upsert one record in its own savepoint: (outcome, errors)."""
    if isinstance(record, str):
        return None, [RowError(line, "record", record)]
    record = dict(record)
    record_type = record.pop("type", None) or default_type
    if record_type not in RECORD_TYPES:
        known = ", ".join(RECORD_TYPES)
        return None, [RowError(line, "type", f"must be one of {known}")]
    schema, key_name, upsert = RECORD_TYPES[record_type]
    key = record.pop(key_name, None)
    if not isinstance(key, str) or not key.strip() or len(key.strip()) > MAX_KEY_LENGTH:
        return None, [RowError(line, key_name, f"required, 1 to {MAX_KEY_LENGTH} characters")]
    try:
        payload = schema.model_validate(record)
    except ValidationError as exc:
        return None, _validation_errors(line, exc)
    try:
        with transaction.atomic():
            upserted = upsert(key.strip(), payload)
    except InvalidRecord as exc:
        return None, [RowError(line, exc.field, exc.message)]
    except IntegrityError:
        return None, [RowError(line, key_name, "conflicts with a record written meanwhile")]
    return str(upserted.outcome), []


def import_records(
    text: str,
    file_format: Format,
    *,
    record_type: str | None = None,
    dry_run: bool = False,
    all_or_nothing: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Upsert every record of `text`; see the module docstring for the units of work."""
    return upsert_records(
        read_records(text, file_format),
        record_type=record_type,
        dry_run=dry_run,
        all_or_nothing=all_or_nothing,
        progress=progress,
    )


def upsert_records(
    records: Iterable[tuple[int, dict[str, Any] | str]],
    *,
    record_type: str | None = None,
    dry_run: bool = False,
    all_or_nothing: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Upsert (position, record) pairs in order: the file import's and the batch API's core."""
    if record_type is not None and record_type not in RECORD_TYPES:
        raise ImportFileError(f"--type must be one of {', '.join(RECORD_TYPES)}")
    report = ImportReport()
    whole = transaction.atomic() if dry_run or all_or_nothing else contextlib.nullcontext()
    try:
        with whole:
            for done, (position, record) in enumerate(records, start=1):
                outcome, errors = _import_one(position, record, record_type)
                if errors:
                    report.errors.extend(errors)
                    report.failed_rows += 1
                else:
                    report.counts[outcome or ""] += 1
                if progress is not None:
                    progress(done)
            if dry_run or (all_or_nothing and report.failed_rows):
                raise _RollBack
    except _RollBack:
        report.rolled_back = True
    return report
