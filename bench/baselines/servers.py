"""Start and stop the two baselines as subprocesses on loopback (for bench/standard.py and tests).

`RelayServer(out_dir).start()` runs bench/baselines/relay.py; `TutorialServer(out_dir,
database_url, redis_url, processes=N).start()` creates a throw-away PostgreSQL database,
migrates it and runs N daphne processes of the tutorial app on a private Redis prefix.
`stop()` ends the processes and drops what `start()` created, and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from tests.live_server import (
    LOOPBACK,
    PostgresServer,
    RedisNamespace,
    _normalise_pg_url,
    free_port,
    tail,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 60.0
TUTORIAL_SETTINGS = "bench.baselines.tutorial.settings"


class BaselineError(RuntimeError):
    pass


def port_accepts(port: int, host: str = LOOPBACK) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


class Process:
    """One server subprocess in its own session, its output in a log file."""

    def __init__(self, argv: list[str], env: dict[str, str], log_path: Path, port: int) -> None:
        self.argv, self.env, self.log_path, self.port = argv, env, log_path, port
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    @property
    def url(self) -> str:
        return f"ws://{LOOPBACK}:{self.port}"

    def start(self) -> Process:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not port_accepts(self.port):
            if self.popen.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise BaselineError(
                    f"`{' '.join(self.argv[1:])}` did not start on port {self.port}:"
                    f"\n{tail(self.log_path)}"
                )
            time.sleep(0.1)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=timeout)


def python_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


class RelayServer:
    """The floor: one bare `websockets` process (it has no way to share state across processes)."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.processes: list[Process] = []

    def start(self) -> RelayServer:
        port = free_port()
        argv = [sys.executable, str(REPO_ROOT / "bench/baselines/relay.py"), "--port", str(port)]
        self.processes = [Process(argv, python_env(), self.out_dir / "relay.log", port).start()]
        return self

    def stop(self) -> None:
        for process in self.processes:
            process.stop()


class TutorialServer:
    """The Channels-tutorial app: throw-away database, private Redis prefix, N daphne processes."""

    def __init__(self, out_dir: Path, database_url: str, redis_url: str, processes: int = 1):
        if not 1 <= processes <= 8:
            raise BaselineError("the tutorial runs on 1..8 daphne processes")
        self.out_dir = out_dir
        self.pg = PostgresServer(database_url)
        self.redis_url = redis_url
        self.redis = RedisNamespace(redis_url, f"tutorial{uuid.uuid4().hex[:8]}:")
        self.db_name = f"chatportal_tutorial_{uuid.uuid4().hex[:10]}"
        self.database_url = ""
        self.count = processes
        self.processes: list[Process] = []
        self.created = False

    def start(self) -> TutorialServer:
        self.pg.check()
        self.redis.check()
        self.database_url = self.pg.create_database(self.db_name)
        env = python_env(
            DJANGO_SETTINGS_MODULE=TUTORIAL_SETTINGS,
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            TUTORIAL_REDIS_PREFIX=self.redis.prefix,
        )
        self.created = True
        try:
            migrate = subprocess.run(
                [sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"],
                env=env,
                cwd=REPO_ROOT,
                capture_output=True,
                text=True,
                timeout=120,
            )
            if migrate.returncode != 0:
                raise BaselineError(f"tutorial migrate failed:\n{migrate.stderr[-3000:]}")
            for index in range(self.count):
                port = free_port()
                argv = [
                    sys.executable,
                    "-m",
                    "daphne",
                    "-b",
                    LOOPBACK,
                    "-p",
                    str(port),
                    "bench.baselines.tutorial.asgi:application",
                ]
                log = self.out_dir / f"tutorial-{index}.log"
                self.processes.append(Process(argv, env, log, port).start())
        except BaseException:
            self.stop()
            raise
        return self

    def stored_messages(self) -> int:
        """Rows in the tutorial's message table (while started)."""
        import psycopg

        with psycopg.connect(_normalise_pg_url(self.database_url), connect_timeout=5) as conn:
            row = conn.execute("SELECT count(*) FROM tutorial_message").fetchone()
        return int(row[0]) if row else 0

    def stop(self) -> None:
        for process in self.processes:
            process.stop()
        self.processes = []
        if self.created:
            self.redis.delete_keys()
            self.pg.drop_database(self.db_name)
            self.created = False
