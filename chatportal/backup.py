"""`chatportal backup PATH` / `chatportal restore PATH`: the database and the media, in one file.

A backup is a `.tar.gz` with `manifest.json` (format, engine, time, the
latest applied migration per app), the database, and `media/` (uploads):

- SQLite: a consistent copy through SQLite's online backup API, taken while
  the server runs (other connections keep reading and writing; WAL).
- PostgreSQL: `pg_dump --format=custom` of the configured database (needs
  the `pg_dump` client, of the server's major version or newer).

Restore puts both back into the database and media directory the current
settings name. Stop the workers first. It refuses a database that already
holds tables unless `force=True`, and a backup of the other engine.
SQLite is restored through the backup API into the database file (so a
stale WAL cannot win); PostgreSQL with `pg_restore --clean --if-exists
--no-owner --single-transaction`. Run `chatportal migrate` afterwards when
the backup came from an older version. Keep `CHATPORTAL_SECRET_KEY` with the
backups: tokens are signed with it.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.dump"
MEDIA_MEMBER = "media"
COMMAND_TIMEOUT_S = 3600


class BackupError(Exception):
    """Something the operator must fix; the message says what."""


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    engine: str
    database_bytes: int
    media_files: int


def database_engine(alias: str = "default") -> str:
    vendor = connections[alias].vendor
    if vendor not in {"sqlite", "postgresql"}:
        raise BackupError(f"backups support SQLite and PostgreSQL, not {vendor}")
    return vendor


def _latest_migrations(alias: str) -> dict[str, str]:
    from django.db.migrations.recorder import MigrationRecorder

    recorder = MigrationRecorder(connections[alias])
    latest: dict[str, str] = {}
    if not recorder.has_table():
        return latest
    for app, name in recorder.migration_qs.values_list("app", "name").order_by("app", "name"):
        latest[app] = name
    return latest


def _pg_environment(alias: str) -> dict[str, str]:
    db = settings.DATABASES[alias]
    env = dict(os.environ)
    for key, value in (
        ("PGHOST", db.get("HOST")),
        ("PGPORT", db.get("PORT")),
        ("PGUSER", db.get("USER")),
        ("PGPASSWORD", db.get("PASSWORD")),
        ("PGDATABASE", db.get("NAME")),
    ):
        if value:
            env[key] = str(value)
    return env


def _run(argv: list[str], *, env: dict[str, str]) -> None:
    if shutil.which(argv[0]) is None:
        raise BackupError(f"{argv[0]} is not installed (the PostgreSQL client tools are needed)")
    try:
        done = subprocess.run(  # noqa: S603 (fixed argv, no shell)
            argv, env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise BackupError(f"{argv[0]} did not finish within {COMMAND_TIMEOUT_S} s") from exc
    if done.returncode != 0:
        raise BackupError(f"{argv[0]} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


def _sqlite_copy(source: str | Path, target: str | Path) -> None:
    """Copy one SQLite database onto another through the online backup API."""
    src = sqlite3.connect(str(source))
    try:
        dst = sqlite3.connect(str(target))
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _media_root() -> Path:
    return Path(settings.MEDIA_ROOT)


def _owner_only_file(path: Path) -> io.BufferedWriter:
    """A new or truncated file that only its owner may read (0600), whatever the umask.

    The backup holds every customer's data and the password hashes; it is
    created 0600 rather than chmod-ed afterwards, so it is never readable by
    others, not even while it is being written.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a leftover .partial keeps its old mode through O_CREAT
    return os.fdopen(fd, "wb")


def create_backup(path: str | Path, *, alias: str = "default") -> BackupSummary:
    engine = database_engine(alias)
    target = Path(path)
    if target.exists() and target.is_dir():
        raise BackupError(f"{target} is a directory; give a file name such as chatportal.tar.gz")
    target.parent.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "engine": engine,
        "created_at": datetime.datetime.now(tz=datetime.UTC).isoformat(timespec="seconds"),
        "migrations": _latest_migrations(alias),
    }
    media_files = 0
    with tempfile.TemporaryDirectory(prefix="chatportal-backup-") as work:
        if engine == "sqlite":
            member, dump = SQLITE_MEMBER, Path(work) / SQLITE_MEMBER
            _sqlite_copy(settings.DATABASES[alias]["NAME"], dump)
        else:
            member, dump = PG_MEMBER, Path(work) / PG_MEMBER
            _run(
                ["pg_dump", "--format=custom", "--no-owner", "--file", str(dump)],
                env=_pg_environment(alias),
            )
        manifest["database"] = member
        partial = target.with_name(target.name + ".partial")
        with (
            _owner_only_file(partial) as handle,
            tarfile.open(fileobj=handle, mode="w:gz") as archive,
        ):
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(data)
            info.mtime = int(datetime.datetime.now(tz=datetime.UTC).timestamp())
            archive.addfile(info, io.BytesIO(data))
            archive.add(dump, arcname=member)
            media = _media_root()
            if media.is_dir():
                for file in sorted(
                    p for p in media.rglob("*") if p.is_file() and not p.is_symlink()
                ):
                    archive.add(
                        file, arcname=f"{MEDIA_MEMBER}/{file.relative_to(media).as_posix()}"
                    )
                    media_files += 1
        partial.replace(target)
        size = dump.stat().st_size
    return BackupSummary(path=target, engine=engine, database_bytes=size, media_files=media_files)


def read_manifest(archive: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = archive.getmember(MANIFEST)
        handle = archive.extractfile(member)
        manifest = json.loads(handle.read()) if handle else None
    except (KeyError, ValueError) as exc:
        raise BackupError("not a Chatportal backup (no readable manifest.json)") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("not a Chatportal backup of a format this version reads")
    if manifest.get("engine") not in {"sqlite", "postgresql"}:
        raise BackupError("the backup names no known database engine")
    return manifest


def _database_has_tables(alias: str) -> bool:
    with connections[alias].cursor() as cursor:
        return bool(connections[alias].introspection.table_names(cursor))


def restore_backup(
    path: str | Path, *, force: bool = False, alias: str = "default"
) -> dict[str, Any]:
    source = Path(path)
    if not source.is_file():
        raise BackupError(f"{source} does not exist")
    engine = database_engine(alias)
    try:
        archive = tarfile.open(source, "r:gz")  # noqa: SIM115 (closed by the with below)
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"{source} is not a readable .tar.gz") from exc
    with archive, tempfile.TemporaryDirectory(prefix="chatportal-restore-") as work:
        manifest = read_manifest(archive)
        if manifest["engine"] != engine:
            raise BackupError(
                f"this is a {manifest['engine']} backup and the configured database is {engine}"
            )
        if _database_has_tables(alias) and not force:
            raise BackupError(
                "the database is not empty; stop the workers and pass --force to replace it"
            )
        # The "data" filter refuses absolute paths, "..", links out of the tree and devices.
        archive.extractall(work, filter="data")
        dump = Path(work) / manifest["database"]
        if manifest["database"] not in {SQLITE_MEMBER, PG_MEMBER} or not dump.is_file():
            raise BackupError("the backup holds no database")
        connections[alias].close()
        if engine == "sqlite":
            name = Path(settings.DATABASES[alias]["NAME"])
            name.parent.mkdir(parents=True, exist_ok=True)
            _sqlite_copy(dump, name)
        else:
            _run(
                [
                    "pg_restore",
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--no-privileges",
                    "--single-transaction",
                    "--dbname",
                    _pg_environment(alias)["PGDATABASE"],
                    str(dump),
                ],
                env=_pg_environment(alias),
            )
        media_files = _restore_media(Path(work) / MEDIA_MEMBER)
    return {**manifest, "media_files": media_files}


def _restore_media(extracted: Path) -> int:
    media = _media_root()
    if media.exists():
        shutil.rmtree(media)
    media.mkdir(parents=True, exist_ok=True)
    if not extracted.is_dir():
        return 0
    count = 0
    for file in extracted.rglob("*"):
        if file.is_file():
            destination = media / file.relative_to(extracted)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, destination)
            count += 1
    return count
