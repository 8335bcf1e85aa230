"""`chatportal backup` / `restore` round trips, run as an operator runs them (subprocesses).

SQLite always; PostgreSQL in the services pass (pg_dump/pg_restore needed there).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tarfile
import uuid

import pytest

from tests.live_server import (
    LiveServerError,
    PostgresServer,
    base_env,
    embedded_env,
    prepare_database,
    run_chatportal,
    services_from_environment,
)

COUNT = (
    "from crm.models import Contact; from queues.models import Department;"
    " import pathlib; from django.conf import settings;"
    " print(Contact.objects.count(), Department.objects.count(),"
    " (pathlib.Path(settings.MEDIA_ROOT) / 'chat' / 'note.txt').read_text()"
    " if (pathlib.Path(settings.MEDIA_ROOT) / 'chat' / 'note.txt').exists() else '-')"
)
DAMAGE = (
    "from queues.models import Department;"
    " Department.objects.create(slug='after-backup', name='Added after the backup');"
    " import pathlib, shutil; from django.conf import settings;"
    " shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)"
)


def counts(env) -> list[str]:
    # Django's shell may print a line about its automatic imports first.
    return run_chatportal(env, "shell", "-c", COUNT).strip().splitlines()[-1].split()


def put_media(env, data_dir) -> None:
    media = data_dir / "media" / "chat"
    media.mkdir(parents=True, exist_ok=True)
    (media / "note.txt").write_text("kept")


def round_trip(env, tmp_path, data_dir) -> None:
    put_media(env, data_dir)
    before = counts(env)
    assert before[2] == "kept"
    archive = tmp_path / "backups" / "chatportal.tar.gz"
    out = run_chatportal(env, "backup", str(archive))
    assert "backup written" in out and "1 media files" in out
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
    assert "media/chat/note.txt" in names
    assert manifest["format"] == 1 and manifest["migrations"]["chat"]

    run_chatportal(env, "shell", "-c", DAMAGE)
    damaged = counts(env)
    assert int(damaged[1]) == int(before[1]) + 1 and damaged[2] == "-"

    with pytest.raises(LiveServerError, match="not empty"):
        run_chatportal(env, "restore", str(archive))
    out = run_chatportal(env, "restore", str(archive), "--force")
    assert "restored" in out
    assert counts(env) == before


def test_a_sqlite_backup_restores_the_database_and_the_media(tmp_path):
    data_dir = tmp_path / "data"
    env = embedded_env(data_dir)
    prepare_database(env)
    round_trip(env, tmp_path, data_dir)


def test_restore_refuses_what_is_not_a_backup(tmp_path):
    data_dir = tmp_path / "data"
    env = embedded_env(data_dir)
    bogus = tmp_path / "bogus.tar.gz"
    with tarfile.open(bogus, "w:gz") as tar:
        (tmp_path / "x.txt").write_text("x")
        tar.add(tmp_path / "x.txt", arcname="x.txt")
    with pytest.raises(LiveServerError, match="not a Chatportal backup"):
        run_chatportal(env, "restore", str(bogus))
    (tmp_path / "plain.txt").write_text("not an archive")
    with pytest.raises(LiveServerError, match="not a readable"):
        run_chatportal(env, "restore", str(tmp_path / "plain.txt"))


def test_restore_refuses_a_path_traversal_member(tmp_path):
    data_dir = tmp_path / "data"
    env = embedded_env(data_dir)
    evil = tmp_path / "evil.tar.gz"
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps({"format": 1, "engine": "sqlite", "database": "database.sqlite3"})
    )
    (tmp_path / "payload").write_text("owned")
    with tarfile.open(evil, "w:gz") as tar:
        tar.add(manifest, arcname="manifest.json")
        tar.add(tmp_path / "payload", arcname="../../escaped.txt")
    with pytest.raises(LiveServerError):
        run_chatportal(env, "restore", str(evil), "--force")
    assert not (tmp_path.parent / "escaped.txt").exists()


@pytest.mark.services
@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump is not installed")
def test_a_postgresql_backup_restores_the_database_and_the_media(tmp_path):
    services = services_from_environment()
    server = PostgresServer(services.database_url)
    name = f"chatportal_backup_{uuid.uuid4().hex[:10]}"
    url = server.create_database(name)
    try:
        data_dir = tmp_path / "data"
        env = base_env(data_dir)
        env["DATABASE_URL"] = url
        prepare_database(env)
        round_trip(env, tmp_path, data_dir)
    finally:
        server.drop_database(name)


def test_a_backup_is_readable_by_its_owner_only(tmp_path):
    # It holds every customer's data and the password hashes: never 0644,
    # whatever the operator's umask, and also when it replaces an older file.
    env = embedded_env(tmp_path / "data")
    archive = tmp_path / "chatportal.tar.gz"
    archive.write_text("an older, world-readable backup")
    archive.chmod(0o644)
    old_umask = os.umask(0o022)
    try:
        run_chatportal(env, "backup", str(archive))
        run_chatportal(env, "backup", str(tmp_path / "fresh.tar.gz"))
    finally:
        os.umask(old_umask)
    for written in (archive, tmp_path / "fresh.tar.gz"):
        assert stat.S_IMODE(written.stat().st_mode) == 0o600, written
        assert tarfile.is_tarfile(written)
