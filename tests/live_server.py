"""Real daphne worker processes for tests and benchmarks.

Everything here runs Chatportal the way an operator does: `chatportal migrate`,
`chatportal seed-demo` and `chatportal serve` as subprocesses with an
environment, talking over real sockets. Nothing is imported from the server
in-process, so what passes here passes in production. They run with the
starting process's settings module (`worker_settings_module()`): under pytest
that is tests.settings, production's plus a fast password hasher.

Helpers (importable by any test or by bench/):

- `free_port()`
- `DaphneWorker(env, log_path, port=None, daphne_args=())` with `start()`, `stop()`, `kill()`,
  `restart()`, `url`, `ws_url(path)`, `origin`, `log_tail()`
- `run_chatportal(env, *args)`, `prepare_database(env)`, `agent_token(env, user)`
- `embedded_env(data_dir, ...)`, `services_from_environment()`,
  `PostgresServer.create_database(...)`, `RedisNamespace`
- `LiveServer`: what the fixtures hand to tests (workers, env, helpers)

Fixtures (exposed to tests/multiprocess by its conftest; other test packages
can `from tests.live_server import embedded_server, ...` in their conftest):

- `embedded_server`: one worker on a fresh SQLite file and the in-memory
  layer. Override the `embedded_server_env` fixture (a dict of extra
  environment variables, e.g. `CHATPORTAL_WIDGET_ORIGINS`) to change it.
- `two_workers`: two workers on PostgreSQL + Redis from DATABASE_URL and
  REDIS_URL. Missing or unreachable services fail the test; they never skip.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"
# The machine is small and shared; a cold Django + daphne start can take a while.
DEFAULT_STARTUP_TIMEOUT_S = 90.0
DEFAULT_COMMAND_TIMEOUT_S = 600.0
# Environment variables that select the scale-out services; embedded runs must
# not inherit them from the shell (CI's second pass sets both).
SERVICE_VARIABLES = ("DATABASE_URL", "REDIS_URL", "CHATPORTAL_REDIS_PREFIX")


class LiveServerError(RuntimeError):
    """A worker or a management command did not do what the harness needed."""


# --------------------------------------------------------------------------
# Small building blocks


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def http_answers(host: str, port: int, path: str = "/", timeout: float = 2.0) -> bool:
    """True when something speaks HTTP on host:port (any status counts)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": f"{host}:{port}"})
        conn.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def chatportal_argv(*args: str) -> list[str]:
    # The interpreter running the tests is the venv's, which has chatportal installed.
    return [sys.executable, "-m", "chatportal.cli", *args]


# `chatportal serve` with extra daphne options (e.g. a tiny --websocket_timeout),
# which the command itself does not expose: the same worker (drain, sweep), the
# extras before the application path. Run in the worker's process, never imported here.
_SERVE_WITH_DAPHNE_ARGS = """
import sys
import django
django.setup()
from chatportal.management.commands.serve import serve_worker
host, port, *extra = sys.argv[1:]
serve_worker(host, int(port), extra)
"""


def tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def run_chatportal(
    env: Mapping[str, str], *args: str, timeout: float = DEFAULT_COMMAND_TIMEOUT_S
) -> str:
    """Run one `chatportal` command; return its stdout or raise with its output."""
    try:
        done = subprocess.run(
            chatportal_argv(*args),
            env=dict(env),
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise LiveServerError(
            f"`chatportal {' '.join(args)}` timed out after {timeout:.0f} s"
        ) from exc
    if done.returncode != 0:
        raise LiveServerError(
            f"`chatportal {' '.join(args)}` exited {done.returncode}\n"
            f"--- stdout ---\n{done.stdout[-4000:]}\n--- stderr ---\n{done.stderr[-4000:]}"
        )
    return done.stdout


def prepare_database(env: Mapping[str, str], *, seed: bool = True) -> None:
    """Migrate the database the environment points at, then seed the demo data."""
    run_chatportal(env, "migrate", "--noinput", "--verbosity", "0")
    if seed:
        run_chatportal(env, "seed-demo")


def agent_token(env: Mapping[str, str], username: str) -> str:
    """The API token `chatportal agent-token USER` prints (its last non-empty line)."""
    out = run_chatportal(env, "agent-token", username)
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    if not lines:
        raise LiveServerError(f"`chatportal agent-token {username}` printed nothing")
    return lines[-1].split()[-1]


def worker_settings_module() -> str:
    """The settings of the process that starts the workers, production's by default.

    Under pytest that is tests.settings: the workers then share the test
    process's password hasher and accept the passwords it hashed (and vice
    versa). A benchmark started from a shell gets chatportal.settings.
    """
    return os.environ.get("DJANGO_SETTINGS_MODULE") or "chatportal.settings"


def base_env(data_dir: Path, *, secret_key: str | None = None) -> dict[str, str]:
    """The parent's environment minus service selection, plus what every worker needs."""
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": worker_settings_module(),
            "CHATPORTAL_DATA_DIR": str(data_dir),
            # Workers of one deployment must share the key: agent tokens and
            # visitor tokens are signed with it.
            "CHATPORTAL_SECRET_KEY": secret_key or secrets.token_urlsafe(50),
            "CHATPORTAL_DEBUG": "false",
            "CHATPORTAL_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CHATPORTAL_LOG_LEVEL": os.environ.get("CHATPORTAL_LOG_LEVEL", "INFO"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def embedded_env(
    data_dir: Path, *, secret_key: str | None = None, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """SQLite in `data_dir`, in-memory channel layer."""
    env = base_env(data_dir, secret_key=secret_key)
    env.update(extra or {})
    return env


# --------------------------------------------------------------------------
# A daphne worker


class DaphneWorker:
    """One `chatportal serve` subprocess on 127.0.0.1 with its log in a file."""

    def __init__(
        self,
        env: Mapping[str, str],
        log_path: Path,
        *,
        port: int | None = None,
        host: str = LOOPBACK,
        name: str = "worker",
        startup_timeout: float = DEFAULT_STARTUP_TIMEOUT_S,
        daphne_args: Sequence[str] = (),
    ) -> None:
        self.env = dict(env)
        self.daphne_args = list(daphne_args)
        self.log_path = Path(log_path)
        self.host = host
        self.port = port or free_port(host)
        self.name = name
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        state = "running" if self.is_running else "stopped"
        return f"<DaphneWorker {self.name} {self.url} {state}>"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def origin(self) -> str:
        """An Origin header value the server admits on every socket path (its own host)."""
        return self.url

    def ws_url(self, path: str) -> str:
        return f"ws://{self.host}:{self.port}/{path.lstrip('/')}"

    @property
    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> DaphneWorker:
        if self.is_running:
            raise LiveServerError(f"{self.name} is already running")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"\n=== {self.name}: start on {self.url} ===\n".encode())
            log.flush()
            # Its own session, so stop/kill reach the whole process group and a
            # Ctrl-C in the test runner does not reach the worker first.
            argv = chatportal_argv("serve", "--host", self.host, "--port", str(self.port))
            if self.daphne_args:
                argv = [
                    sys.executable,
                    "-c",
                    _SERVE_WITH_DAPHNE_ARGS,
                    self.host,
                    str(self.port),
                    *self.daphne_args,
                ]
            self.process = subprocess.Popen(
                argv,
                env=self.env,
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_until_serving()
        return self

    def _wait_until_serving(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise LiveServerError(
                    f"{self.name} exited with {self.process.returncode} while starting;"
                    f" log {self.log_path}:\n{self.log_tail()}"
                )
            if http_answers(self.host, self.port):
                return
            time.sleep(0.1)
        self.kill()
        raise LiveServerError(
            f"{self.name} did not answer HTTP on {self.url} within {self.startup_timeout:.0f} s;"
            f" log {self.log_path}:\n{self.log_tail()}"
        )

    def _signal(self, sig: signal.Signals) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def stop(self, timeout: float = 15.0) -> None:
        """Graceful shutdown (SIGTERM); SIGKILL when it does not exit in time."""
        if self.process is None:
            return
        self._signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """A crash: SIGKILL, no close frames, no cleanup in the worker."""
        if self.process is None:
            return
        self._signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=15)

    def restart(self, *, hard: bool = False) -> DaphneWorker:
        """Stop (or kill, with hard=True) and start again on the same port."""
        if hard:
            self.kill()
        else:
            self.stop()
        return self.start()

    def log_tail(self, lines: int = 60) -> str:
        return tail(self.log_path, lines)

    def __enter__(self) -> DaphneWorker:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# --------------------------------------------------------------------------
# Scale-out services: PostgreSQL and Redis from the environment


@dataclass(frozen=True)
class Services:
    database_url: str
    redis_url: str


def services_from_environment() -> Services:
    """DATABASE_URL and REDIS_URL, checked to answer; pytest.fail otherwise (never skip)."""
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    missing = [
        name
        for name, value in (("DATABASE_URL", database_url), ("REDIS_URL", redis_url))
        if not value
    ]
    if missing:
        pytest.fail(
            f"multi-process tests need PostgreSQL and Redis: set {' and '.join(missing)}"
            " (e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/test"
            " REDIS_URL=redis://127.0.0.1:6379/0)",
            pytrace=False,
        )
    if urlsplit(database_url).scheme not in {"postgres", "postgresql", "pgsql"}:
        pytest.fail(f"DATABASE_URL must point at PostgreSQL, not {database_url!r}", pytrace=False)
    try:
        PostgresServer(database_url).check()
    except Exception as exc:
        pytest.fail(f"PostgreSQL at DATABASE_URL does not answer: {exc}", pytrace=False)
    try:
        RedisNamespace(redis_url, "").check()
    except Exception as exc:
        pytest.fail(f"Redis at REDIS_URL does not answer: {exc}", pytrace=False)
    return Services(database_url=database_url, redis_url=redis_url)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


class PostgresServer:
    """Creates and drops throw-away databases on the server DATABASE_URL names."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def _connect(self):
        import psycopg

        # The maintenance connection goes to the database in the URL; CREATE
        # DATABASE cannot run inside a transaction, hence autocommit.
        return psycopg.connect(
            _normalise_pg_url(self.database_url), autocommit=True, connect_timeout=5
        )

    def check(self) -> None:
        with self._connect() as conn:
            conn.execute("SELECT 1")

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """Create database `name` (optionally cloned from `template`); return its URL."""
        from psycopg import sql

        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        with self._connect() as conn:
            conn.execute(statement)
        return _with_database(self.database_url, name)

    def drop_database(self, name: str) -> None:
        from psycopg import sql

        with self._connect() as conn:
            # FORCE: a killed worker may leave a connection the server has not reaped yet.
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _normalise_pg_url(url: str) -> str:
    # libpq knows postgresql:// and postgres://; dj-database-url also accepts pgsql://.
    parts = urlsplit(url)
    scheme = "postgresql" if parts.scheme in {"postgres", "postgresql", "pgsql"} else parts.scheme
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, parts.fragment))


class RedisNamespace:
    """A key prefix on a shared Redis, so parallel sessions never see each other's keys."""

    def __init__(self, redis_url: str, prefix: str) -> None:
        self.redis_url = redis_url
        self.prefix = prefix

    def _client(self):
        import redis

        return redis.Redis.from_url(self.redis_url, socket_timeout=5, socket_connect_timeout=5)

    def check(self) -> None:
        client = self._client()
        try:
            client.ping()
        finally:
            client.close()

    def delete_keys(self) -> int:
        """Delete every key under the prefix (never the whole database: others share it)."""
        if not self.prefix:
            return 0
        client = self._client()
        deleted = 0
        try:
            batch: list[bytes] = []
            for key in client.scan_iter(match=f"{self.prefix}*", count=500):
                batch.append(key)
                if len(batch) >= 500:
                    deleted += client.delete(*batch)
                    batch.clear()
            if batch:
                deleted += client.delete(*batch)
        finally:
            client.close()
        return deleted


# --------------------------------------------------------------------------
# What the fixtures hand to tests


@dataclass
class LiveServer:
    """A running deployment: one or more workers sharing one database and layer."""

    env: dict[str, str]
    workers: list[DaphneWorker]
    data_dir: Path
    _tokens: dict[str, str] = field(default_factory=dict)

    @property
    def worker(self) -> DaphneWorker:
        return self.workers[0]

    @property
    def url(self) -> str:
        return self.worker.url

    @property
    def origin(self) -> str:
        return self.worker.origin

    def ws_url(self, path: str, worker: int = 0) -> str:
        return self.workers[worker].ws_url(path)

    def run(self, *args: str) -> str:
        """A `chatportal` command against this deployment's database."""
        return run_chatportal(self.env, *args)

    def agent_token(self, username: str) -> str:
        if username not in self._tokens:
            self._tokens[username] = agent_token(self.env, username)
        return self._tokens[username]

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()

    def log_tails(self, lines: int = 40) -> str:
        return "\n".join(
            f"--- {w.name} ({w.log_path}) ---\n{w.log_tail(lines)}" for w in self.workers
        )


def _copy_sqlite(src_dir: Path, dst_dir: Path) -> None:
    dst_dir.mkdir(parents=True, exist_ok=True)
    for path in src_dir.glob("chatportal.sqlite3*"):
        shutil.copy2(path, dst_dir / path.name)


# --------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="session")
def live_secret_key() -> str:
    return secrets.token_urlsafe(50)


@pytest.fixture(scope="session")
def embedded_template(tmp_path_factory, live_secret_key) -> Path:
    """A migrated, seeded SQLite data directory, built once and copied per test."""
    data_dir = tmp_path_factory.mktemp("embedded-template")
    prepare_database(embedded_env(data_dir, secret_key=live_secret_key))
    return data_dir


@pytest.fixture
def embedded_server_env() -> dict[str, str]:
    """Extra environment for `embedded_server`; override this fixture to change it."""
    return {}


@pytest.fixture
def embedded_server(
    tmp_path, embedded_template, embedded_server_env, live_secret_key
) -> Iterator[LiveServer]:
    """One daphne worker on a fresh copy of the seeded SQLite file, in-memory layer."""
    data_dir = tmp_path / "data"
    _copy_sqlite(embedded_template, data_dir)
    env = embedded_env(data_dir, secret_key=live_secret_key, extra=embedded_server_env)
    worker = DaphneWorker(env, tmp_path / "worker.log", name="embedded")
    worker.start()
    server = LiveServer(env=env, workers=[worker], data_dir=data_dir)
    try:
        yield server
    finally:
        server.stop()
        # Shown by pytest only when the test failed.
        print(server.log_tails())


@pytest.fixture(scope="session")
def scaleout_services() -> Services:
    return services_from_environment()


@pytest.fixture(scope="session")
def scaleout_template(scaleout_services, tmp_path_factory, live_secret_key) -> Iterator[str]:
    """A migrated, seeded PostgreSQL database for this session, cloned per test."""
    server = PostgresServer(scaleout_services.database_url)
    name = f"chatportal_mp_{uuid.uuid4().hex[:12]}"
    url = server.create_database(name)
    try:
        env = base_env(tmp_path_factory.mktemp("scaleout-template"), secret_key=live_secret_key)
        env["DATABASE_URL"] = url
        prepare_database(env)
        yield name
    finally:
        server.drop_database(name)


@pytest.fixture
def two_workers_env() -> dict[str, str]:
    """Extra environment for `two_workers`; override this fixture to change it."""
    return {}


@contextlib.contextmanager
def scaleout_deployment(
    services: Services,
    *,
    template: str,
    work_dir: Path,
    secret_key: str,
    workers: int = 2,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[LiveServer]:
    """N workers on a fresh clone of `template` and a private Redis key prefix."""
    pg = PostgresServer(services.database_url)
    db_name = f"{template}_{uuid.uuid4().hex[:8]}"
    database_url = pg.create_database(db_name, template=template)
    prefix = f"mp{uuid.uuid4().hex[:10]}:"
    redis_ns = RedisNamespace(services.redis_url, prefix)
    env = base_env(work_dir / "data", secret_key=secret_key)
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": services.redis_url,
            "CHATPORTAL_REDIS_PREFIX": prefix,
            # Reuse connections as a production deployment would.
            "CHATPORTAL_DB_CONN_MAX_AGE": "60",
        }
    )
    env.update(extra_env or {})
    started: list[DaphneWorker] = []
    server = LiveServer(env=env, workers=started, data_dir=work_dir / "data")
    try:
        for index in range(workers):
            name = f"worker-{chr(ord('a') + index)}"
            worker = DaphneWorker(env, work_dir / f"{name}.log", name=name)
            started.append(worker)
            worker.start()
        yield server
    finally:
        for worker in started:
            worker.stop()
        print(server.log_tails())
        redis_ns.delete_keys()
        pg.drop_database(db_name)


@pytest.fixture
def two_workers(
    scaleout_services, scaleout_template, two_workers_env, tmp_path, live_secret_key
) -> Iterator[LiveServer]:
    """Two daphne workers sharing a fresh PostgreSQL database and one Redis."""
    with scaleout_deployment(
        scaleout_services,
        template=scaleout_template,
        work_dir=tmp_path,
        secret_key=live_secret_key,
        workers=2,
        extra_env=two_workers_env,
    ) as server:
        yield server


__all__: Sequence[str] = (
    "DaphneWorker",
    "LiveServer",
    "LiveServerError",
    "PostgresServer",
    "RedisNamespace",
    "Services",
    "agent_token",
    "base_env",
    "embedded_env",
    "embedded_server",
    "embedded_server_env",
    "embedded_template",
    "free_port",
    "live_secret_key",
    "prepare_database",
    "run_chatportal",
    "scaleout_deployment",
    "scaleout_services",
    "scaleout_template",
    "services_from_environment",
    "two_workers",
    "two_workers_env",
    "worker_settings_module",
)
