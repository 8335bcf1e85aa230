"""The deployment files use the health endpoints, keep /metrics private, and leave time to drain."""

from __future__ import annotations

import http.server
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from tests.live_server import REPO_ROOT

NGINX = (REPO_ROOT / "deploy" / "nginx.conf").read_text()
HEALTHCHECK = Path(REPO_ROOT, "deploy", "healthcheck.py")


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


def location(name: str) -> str:
    match = re.search(r"location\s+" + re.escape(name) + r"\s*\{(.*?)\n\s*\}", NGINX, re.S)
    assert match, f"no location {name} in nginx.conf"
    return match.group(1)


def test_nginx_never_serves_metrics_and_proxies_the_probes():
    assert "return 404" in location("= /metrics")
    assert "proxy_pass http://chatportal" in location("= /readyz")
    assert "http_503" in location("= /readyz")
    assert "proxy_pass http://chatportal" in location("= /healthz")
    # A draining worker's 503 sends idempotent requests to the other worker.
    assert "http_503" in location("/")


def test_workers_get_the_metrics_token_and_a_grace_period_longer_than_the_drain(compose):
    for name in ("web1", "web2"):
        service = compose["services"][name]
        env = service["environment"]
        assert "CHATPORTAL_METRICS_TOKEN" in env
        drain = float(env["CHATPORTAL_SHUTDOWN_TIMEOUT_S"])
        grace = float(str(service["stop_grace_period"]).rstrip("s"))
        assert drain < grace


class Probe(http.server.BaseHTTPRequestHandler):
    status = 503

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status": "draining"}')

    def log_message(self, *args):
        pass


@pytest.mark.both_passes  # a child process (the health check script)
def test_the_container_health_check_fails_when_readyz_says_no():
    server = http.server.HTTPServer(("127.0.0.1", 0), Probe)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        done = subprocess.run(
            [
                sys.executable,
                str(HEALTHCHECK),
                "--port",
                str(server.server_address[1]),
                "--timeout",
                "5",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    finally:
        server.shutdown()
    assert done.returncode == 1
    assert "/readyz answered 503" in done.stderr and "draining" in done.stderr
