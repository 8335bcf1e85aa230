"""Debian's nginx running the shipped deploy/nginx.conf in front of test workers.

Only what a test must change is changed, each by one exact substitution (a
drifted config fails here instead of being silently half-rendered): the
upstream servers become the test workers, nginx listens on a free loopback
port, and its logs, pid and temp files go to a private directory instead of
/var. Everything else (least_conn, the WebSocket upgrade, timeouts,
proxy_next_upstream, /metrics refused) is what production runs.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.live_server import LOOPBACK, REPO_ROOT, LiveServerError, free_port

NGINX_CONF = REPO_ROOT / "deploy" / "nginx.conf"
# Debian puts nginx in /usr/sbin, which is not on every user's PATH.
NGINX_FALLBACK = "/usr/sbin/nginx"
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def nginx_binary() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    return NGINX_FALLBACK if os.access(NGINX_FALLBACK, os.X_OK) else None


def require_nginx() -> str:
    """The nginx binary; in CI its absence fails, elsewhere it skips with the fix."""
    binary = nginx_binary()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is missing in CI: `make nginx-deps` installs Debian's nginx-light")
        pytest.skip("nginx is not installed (apt-get install nginx-light, or `make nginx-deps`)")
    return binary


def _replace_once(text: str, pattern: str, replacement: str) -> str:
    rendered, count = re.subn(pattern, lambda _match: replacement, text, flags=re.M)
    if count != 1:
        raise AssertionError(f"deploy/nginx.conf: expected one match of {pattern!r}, found {count}")
    return rendered


def render_nginx_conf(
    source: str, *, listen_port: int, upstream_ports: Sequence[int], run_dir: Path
) -> str:
    """deploy/nginx.conf with test ports and every file under `run_dir`."""
    servers = re.findall(r"^\s*server web\d+:8000 ", source, flags=re.M)
    if len(servers) != len(upstream_ports):
        raise AssertionError(
            f"deploy/nginx.conf has {len(servers)} upstream servers, the test {len(upstream_ports)}"
        )
    rendered = source
    for index, port in enumerate(upstream_ports, start=1):
        rendered = _replace_once(
            rendered, rf"(?<=server )web{index}:8000(?= )", f"{LOOPBACK}:{port}"
        )
    rendered = _replace_once(
        rendered, r"^(\s*)listen 80;", f"        listen {LOOPBACK}:{listen_port};"
    )
    rendered = _replace_once(
        rendered,
        r"access_log /var/log/nginx/access\.log main;",
        f"access_log {run_dir}/access.log main;",
    )
    temp_paths = "".join(f"\n    {kind}_temp_path {run_dir}/{kind}_temp;" for kind in TEMP_PATHS)
    rendered = _replace_once(rendered, r"^http \{", "http {" + temp_paths)
    return f"error_log {run_dir}/error.log info;\n" + rendered


class NginxProxy:
    """`nginx -g 'daemon off; ...'` as a child process, stopped gracefully (SIGQUIT)."""

    def __init__(self, upstream_ports: Sequence[int], *, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        # Not under pytest's 0700 tmp dir: nginx's workers run as an unprivileged
        # user when the master is root, and must reach their temp directories.
        self.run_dir = Path(tempfile.mkdtemp(prefix="chatportal-nginx-"))
        self.run_dir.chmod(0o755)
        self.conf_path = self.run_dir / "nginx.conf"
        self.conf_path.write_text(
            render_nginx_conf(
                NGINX_CONF.read_text(encoding="utf-8"),
                listen_port=self.port,
                upstream_ports=upstream_ports,
                run_dir=self.run_dir,
            ),
            encoding="utf-8",
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def origin(self) -> str:
        return self.url

    def ws_url(self, path: str) -> str:
        return f"ws://{LOOPBACK}:{self.port}/{path.lstrip('/')}"

    def argv(self, *extra: str) -> list[str]:
        return [
            self.binary,
            "-c",
            str(self.conf_path),
            "-p",
            str(self.run_dir),
            "-e",
            str(self.run_dir / "error.log"),
            "-g",
            f"daemon off; pid {self.run_dir}/nginx.pid;",
            *extra,
        ]

    def check_config(self) -> str:
        """`nginx -t`: the rendered file parses; returns nginx's report."""
        done = subprocess.run(
            self.argv("-t"), capture_output=True, text=True, timeout=30, check=False
        )
        if done.returncode != 0:
            raise LiveServerError(f"nginx -t failed:\n{done.stderr}")
        return done.stderr

    def start(self, *, timeout: float = 20.0) -> NginxProxy:
        log = (self.run_dir / "stderr.log").open("ab")
        with log:
            self.process = subprocess.Popen(
                self.argv(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LiveServerError(
                    f"nginx exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/nginx-health", timeout=2) as answer,
            ):
                if answer.status == 200:
                    return self
            time.sleep(0.1)
        self.stop()
        raise LiveServerError(f"nginx did not answer on {self.url}:\n{self.log_tail()}")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGQUIT)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=timeout)

    def wait_until_routing_to(self, port: int, *, timeout: float = 30.0) -> None:
        """Until nginx hands requests to the worker on `port` again (a restarted worker).

        After max_fails refused connects nginx leaves a worker out for fail_timeout
        (deploy/nginx.conf: 3 and 10 s), however soon it is back. The worker with
        no sockets wins least_conn as soon as nginx takes it back.
        """
        wanted = f"{LOOPBACK}:{port}"
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError):  # refused, or a 502 while it is left out
                urllib.request.urlopen(f"{self.url}/", timeout=5).close()
            if self.last_upstream() == wanted:
                return
            if time.monotonic() > deadline:
                raise LiveServerError(
                    f"nginx did not route to {wanted} within {timeout:.0f} s:\n{self.log_tail()}"
                )
            time.sleep(0.2)

    def last_upstream(self) -> str | None:
        """The worker that answered the last logged request (the last one nginx tried)."""
        access_log = self.run_dir / "access.log"
        if not access_log.exists():
            return None
        lines = access_log.read_text(encoding="utf-8", errors="replace").splitlines()
        found = re.search(r" upstream=(.*?) rt=", lines[-1]) if lines else None
        return found.group(1).split(", ")[-1] if found else None

    def log_tail(self, lines: int = 40) -> str:
        parts = []
        for name in ("stderr.log", "error.log"):
            path = self.run_dir / name
            if path.exists():
                text = path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
                parts.append(f"--- nginx {name} ---\n" + "\n".join(text))
        return "\n".join(parts)

    def remove_files(self) -> None:
        shutil.rmtree(self.run_dir, ignore_errors=True)
