"""A `redis-server` of the test's own, so it can be restarted without touching anyone else's.

The shared Redis on 6379 serves every session on the machine; a chaos test
that restarts Redis needs one nobody else uses. This one keeps nothing on
disk (`--save "" --appendonly no`), so a restart starts empty, exactly what
a crashed Redis without persistence comes back as: every channel-layer group
membership gone.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from pathlib import Path

from tests.live_server import LOOPBACK, LiveServerError, free_port


class PrivateRedis:
    def __init__(self, work_dir: Path, *, port: int | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise LiveServerError("redis-server is not on PATH")
        self.binary = binary
        self.work_dir = Path(work_dir)
        self.port = port or free_port()
        self.log_path = self.work_dir / f"redis-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None
        # When the server last answered PING after a start (time.monotonic()).
        self.up_at: float | None = None

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def _client(self):
        import redis

        return redis.Redis(
            host=LOOPBACK, port=self.port, socket_timeout=2, socket_connect_timeout=2
        )

    def answers(self) -> bool:
        client = self._client()
        try:
            return bool(client.ping())
        except Exception:
            return False
        finally:
            client.close()

    def start(self, *, timeout: float = 20.0) -> PrivateRedis:
        if self.process is not None and self.process.poll() is None:
            raise LiveServerError(f"redis on {self.port} is already running")
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    self.binary,
                    "--bind",
                    LOOPBACK,
                    "--port",
                    str(self.port),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.work_dir),
                    "--daemonize",
                    "no",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LiveServerError(
                    f"redis-server exited with {self.process.returncode}: see {self.log_path}"
                )
            if self.answers():
                self.up_at = time.monotonic()
                return self
            time.sleep(0.05)
        self.kill()
        raise LiveServerError(f"redis-server on {self.port} did not answer within {timeout:.0f} s")

    def shutdown(self, *, timeout: float = 15.0) -> None:
        """`SHUTDOWN NOSAVE`: the server goes away and forgets everything."""
        if self.process is None or self.process.poll() is not None:
            return
        # redis-cli, not redis-py: the server closes the connection instead of
        # answering, and redis-py's reconnect attempts would add seconds.
        cli = shutil.which("redis-cli")
        if cli is not None:
            subprocess.run(
                [cli, "-h", LOOPBACK, "-p", str(self.port), "shutdown", "nosave"],
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        else:
            client = self._client()
            with contextlib.suppress(Exception):
                client.shutdown(nosave=True)
            client.close()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def restart(self, *, down_s: float = 0.0) -> float:
        """Shut down, stay down `down_s`, start on the same port; returns when it was up again."""
        self.shutdown()
        if down_s:
            time.sleep(down_s)
        self.start()
        assert self.up_at is not None
        return self.up_at

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)

    def __enter__(self) -> PrivateRedis:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
