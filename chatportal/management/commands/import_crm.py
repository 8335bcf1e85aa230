"""`chatportal import-crm FILE [--type T] [--format F] [--dry-run] [--all-or-nothing]`.

The company's CRM export (CSV or JSON Lines) upserted record by record; see
crm/importing.py for the file format and docs/operations.md for examples.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from django.core.management.base import BaseCommand, CommandError

from crm.importing import (
    RECORD_TYPES,
    Format,
    ImportFileError,
    count_records,
    detect_format,
    import_records,
)

# Progress redraws at most this often (in records): a redraw per record would
# cost more than the upsert on a terminal over SSH.
PROGRESS_STEP = 50


class ProgressBar:
    """A one-line bar on stderr, drawn only when stderr is a terminal (no tqdm needed)."""

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = max(total, 1)
        self.stream = stream
        self.enabled = stream.isatty()

    def __call__(self, done: int) -> None:
        if not self.enabled or (done % PROGRESS_STEP and done != self.total):
            return
        filled = self.WIDTH * done // self.total
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        self.stream.write(f"\r[{bar}] {done}/{self.total}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


class Command(BaseCommand):
    help = (
        "Upsert organizations, contacts, assets and contracts from the company's CRM export "
        "(CSV or JSON Lines), keyed by the CRM's ids. Re-running a file changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="a .csv or .jsonl file; - reads stdin")
        parser.add_argument(
            "--type",
            choices=sorted(RECORD_TYPES),
            help="the record type of every row (otherwise each row has a `type` column)",
        )
        parser.add_argument("--format", choices=[f.value for f in Format])
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="check and report every row, then roll everything back",
        )
        parser.add_argument(
            "--all-or-nothing",
            action="store_true",
            help="write nothing if any row fails (default: each row on its own)",
        )

    def handle(self, *args, file: str, **options):
        try:
            if file == "-":
                text = sys.stdin.read()
                file_format = Format(options["format"] or "jsonl")
            else:
                path = Path(file)
                file_format = detect_format(path, options["format"])
                text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError, ImportFileError) as exc:
            raise CommandError(f"cannot read {file}: {exc}") from exc
        progress = ProgressBar(count_records(text, file_format), sys.stderr)
        try:
            report = import_records(
                text,
                file_format,
                record_type=options["type"],
                dry_run=options["dry_run"],
                all_or_nothing=options["all_or_nothing"],
                progress=progress,
            )
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            progress.close()
        for error in report.errors:
            self.stderr.write(str(error))
        summary = report.summary()
        if options["dry_run"]:
            summary += " (dry run: nothing was written)"
        elif report.rolled_back:
            summary += " (--all-or-nothing: nothing was written)"
        self.stdout.write(summary)
        if report.failed_rows:
            raise CommandError(f"{report.failed_rows} of {report.rows} rows failed")
