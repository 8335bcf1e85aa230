"""The harness itself: workers start, answer, restart, die and clean up."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid

import pytest

from tests.live_server import (
    DaphneWorker,
    LiveServerError,
    PostgresServer,
    RedisNamespace,
    embedded_env,
    free_port,
    http_answers,
    prepare_database,
    services_from_environment,
)


def test_it_finds_a_port_nobody_listens_on():
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


@pytest.fixture(scope="module")
def migrated_data_dir(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("harness")
    prepare_database(embedded_env(data_dir, secret_key="harness-secret"), seed=False)
    return data_dir


def test_it_serves_restarts_on_the_same_port_and_survives_a_kill(migrated_data_dir, tmp_path):
    env = embedded_env(migrated_data_dir, secret_key="harness-secret")
    worker = DaphneWorker(env, tmp_path / "w.log", name="harness")
    with worker:
        assert http_answers(worker.host, worker.port)
        first_pid = worker.pid
        worker.restart()
        assert worker.pid != first_pid
        assert http_answers(worker.host, worker.port)
        worker.kill()
        assert not worker.is_running
        assert not http_answers(worker.host, worker.port, timeout=0.5)
        worker.restart(hard=True)
        assert http_answers(worker.host, worker.port)
    assert not worker.is_running
    assert "start on" in worker.log_tail()


def test_it_reports_a_worker_that_cannot_bind_its_port(migrated_data_dir, tmp_path):
    env = embedded_env(migrated_data_dir, secret_key="harness-secret")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        # Something that accepts but never speaks HTTP: the worker cannot bind
        # and the harness must say so instead of waiting forever.
        worker = DaphneWorker(env, tmp_path / "w.log", port=port, startup_timeout=60)
        with pytest.raises(LiveServerError, match="harness|exited|did not answer"):
            worker.start()
        worker.kill()


def test_it_fails_rather_than_skips_when_the_services_are_not_configured(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    with pytest.raises(pytest.fail.Exception, match="DATABASE_URL"):
        services_from_environment()


def test_it_fails_when_postgres_does_not_answer(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"postgres://postgres@127.0.0.1:{free_port()}/test")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    with pytest.raises(pytest.fail.Exception, match="PostgreSQL"):
        services_from_environment()


def test_the_worker_command_line_is_the_installed_chatportal():
    out = subprocess.run(
        [sys.executable, "-m", "chatportal.cli", "help", "serve"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--port" in out.stdout


@pytest.mark.services
def test_it_creates_a_private_database_and_drops_it():
    services = services_from_environment()
    pg = PostgresServer(services.database_url)
    name = f"chatportal_mp_selftest_{uuid.uuid4().hex[:8]}"
    url = pg.create_database(name)
    try:
        assert url.endswith(f"/{name}")
        import psycopg

        with psycopg.connect(url.replace("postgres://", "postgresql://", 1)) as conn:
            assert conn.execute("SELECT current_database()").fetchone()[0] == name
    finally:
        pg.drop_database(name)
    with PostgresServer(services.database_url)._connect() as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    assert row is None


@pytest.mark.services
def test_it_deletes_only_the_keys_under_its_own_prefix():
    import redis

    services = services_from_environment()
    mine = RedisNamespace(services.redis_url, f"selftest{uuid.uuid4().hex[:8]}:")
    other_key = f"selftest-other-{uuid.uuid4().hex}"
    client = redis.Redis.from_url(services.redis_url)
    try:
        client.set(f"{mine.prefix}a", 1, ex=60)
        client.set(f"{mine.prefix}b", 1, ex=60)
        client.set(other_key, 1, ex=60)
        assert mine.delete_keys() == 2
        assert client.exists(other_key) == 1
    finally:
        client.delete(other_key)
        client.close()
