"""CHATPORTAL_DB_POOL_MAX_SIZE: a psycopg pool, so request threads never strand connections."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SHOW_DATABASE = (
    "import json, django; django.setup(); from django.conf import settings; "
    "d = settings.DATABASES['default']; "
    "print(json.dumps({'conn_max_age': d['CONN_MAX_AGE'], 'pool': d.get('OPTIONS', {}).get('pool')}))"
)

# 40 threads, each one request's worth of work that ends as Django ends a
# request (close_old_connections); then count this process's connections.
THREADS_THEN_COUNT = """
import json, sys, threading, django
django.setup()
from django.db import close_old_connections, connection

def request():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(0.02)")
    close_old_connections()

threads = [threading.Thread(target=request) for _ in range(40)]
for t in threads:
    t.start()
for t in threads:
    t.join()
with connection.cursor() as cursor:
    cursor.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [sys.argv[1]]
    )
    print(json.dumps({"connections": cursor.fetchone()[0]}))
"""


def run_python(code: str, env: dict[str, str | None], *args: str) -> dict:
    """Run `code` in a fresh interpreter; a None in `env` unsets that variable."""
    merged = {**os.environ, "DJANGO_SETTINGS_MODULE": "chatportal.settings", **env}
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        env={name: value for name, value in merged.items() if value is not None},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_pool_size_turns_persistent_connections_into_a_pool(tmp_path):
    env = {
        "DATABASE_URL": "postgres://u@127.0.0.1:5432/db",
        "CHATPORTAL_DB_CONN_MAX_AGE": "60",
        "CHATPORTAL_DB_POOL_MAX_SIZE": "7",
        "CHATPORTAL_DATA_DIR": str(tmp_path),
    }
    shown = run_python(SHOW_DATABASE, env)
    assert shown["conn_max_age"] == 0
    assert shown["pool"]["max_size"] == 7


def hop_threads() -> int:
    # asyncio's default executor (where the hot path's hops run) plus the shared sync thread.
    return min(32, (os.cpu_count() or 1) + 4) + 1


def test_on_postgresql_the_pool_is_on_unless_turned_off(tmp_path):
    env = {"DATABASE_URL": "postgres://u@127.0.0.1:5432/db", "CHATPORTAL_DATA_DIR": str(tmp_path)}
    shown = run_python(SHOW_DATABASE, {**env, "CHATPORTAL_DB_POOL_MAX_SIZE": None})
    assert shown["conn_max_age"] == 0
    # Sized from the worker's threads: the hops', and twice as many for HTTP views.
    assert shown["pool"]["max_size"] == 3 * hop_threads()


def test_the_pool_opens_a_connection_per_hop_thread_before_the_first_burst(tmp_path):
    # The hot path's hops run in asyncio's default executor (cpu + 4 threads),
    # the rest on the one sync thread; the pool only grows one connection at a time.
    env = {"DATABASE_URL": "postgres://u@127.0.0.1:5432/db", "CHATPORTAL_DATA_DIR": str(tmp_path)}
    shown = run_python(SHOW_DATABASE, {**env, "CHATPORTAL_DB_POOL_MAX_SIZE": None})
    assert shown["pool"]["min_size"] == hop_threads()
    small = run_python(SHOW_DATABASE, {**env, "CHATPORTAL_DB_POOL_MAX_SIZE": "3"})
    assert small["pool"]["min_size"] == small["pool"]["max_size"] == 3


def test_on_sqlite_there_is_no_pool(tmp_path):
    env = {"CHATPORTAL_DATA_DIR": str(tmp_path)}
    assert run_python(SHOW_DATABASE, {**env, "DATABASE_URL": None})["pool"] is None


def test_a_pool_size_of_zero_keeps_the_connection_settings(tmp_path):
    env = {
        "DATABASE_URL": "postgres://u@127.0.0.1:5432/db",
        "CHATPORTAL_DB_CONN_MAX_AGE": "60",
        "CHATPORTAL_DB_POOL_MAX_SIZE": "0",
        "CHATPORTAL_DATA_DIR": str(tmp_path),
    }
    assert run_python(SHOW_DATABASE, env) == {"conn_max_age": 60, "pool": None}


@pytest.mark.services
def test_forty_request_threads_share_the_pool(tmp_path):
    name = f"pooltest-{uuid.uuid4().hex[:8]}"
    base = os.environ["DATABASE_URL"]
    separator = "&" if "?" in base else "?"
    env = {
        "DATABASE_URL": f"{base}{separator}application_name={name}",
        "CHATPORTAL_DB_POOL_MAX_SIZE": "4",
        "CHATPORTAL_DATA_DIR": str(tmp_path),
    }
    assert run_python(THREADS_THEN_COUNT, env, name)["connections"] <= 4
