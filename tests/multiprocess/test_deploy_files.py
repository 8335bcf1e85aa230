"""docker-compose.yml, deploy/nginx.conf and deploy/Dockerfile agree with each other.

Docker cannot run on the build machines, so these checks are what keeps the
deployment files honest: the YAML parses, every worker is proxied by nginx
with the WebSocket headers, the one-shot migration gates the workers, and the
health check really exercises the WebSocket path.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.live_server import REPO_ROOT, LiveServer

COMPOSE = REPO_ROOT / "docker-compose.yml"
NGINX = REPO_ROOT / "deploy" / "nginx.conf"
DOCKERFILE = REPO_ROOT / "deploy" / "Dockerfile"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def worker_services(compose: dict) -> dict[str, dict]:
    return {
        name: svc
        for name, svc in compose["services"].items()
        if "serve" in (svc.get("command") or [])
    }


def test_it_runs_two_workers_behind_nginx_with_redis_and_postgres(compose):
    services = compose["services"]
    assert {"nginx", "postgres", "redis", "migrate"} <= set(services)
    workers = worker_services(compose)
    assert len(workers) >= 2
    for svc in workers.values():
        assert svc["command"] == ["chatportal", "serve", "--host", "0.0.0.0", "--port", "8000"]
        env = svc["environment"]
        assert (
            env["DATABASE_URL"].startswith("postgres://")
            and "@postgres:5432/" in env["DATABASE_URL"]
        )
        assert env["REDIS_URL"].startswith("redis://redis:")
        # All workers must share one secret: tokens are signed with it.
        assert env["CHATPORTAL_SECRET_KEY"].startswith("${CHATPORTAL_SECRET_KEY:?")


def test_it_starts_workers_only_after_a_successful_migration(compose):
    migrate = compose["services"]["migrate"]
    assert migrate["command"][:2] == ["chatportal", "migrate"]
    assert migrate["restart"] == "no"
    for svc in worker_services(compose).values():
        assert svc["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert svc["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert svc["depends_on"]["redis"]["condition"] == "service_healthy"


def test_every_long_running_service_has_a_health_check(compose):
    for name, svc in compose["services"].items():
        if name in {"migrate", "seed"}:
            continue
        assert svc.get("healthcheck", {}).get("test"), f"{name} has no health check"


def test_nginx_proxies_every_worker_and_upgrades_websockets(compose):
    conf = "\n".join(line.split("#", 1)[0] for line in NGINX.read_text().splitlines())
    upstream = re.search(r"upstream chatportal \{(.*?)\}", conf, re.S)
    assert upstream, "no upstream block"
    servers = set(re.findall(r"server (\w+):8000", upstream.group(1)))
    assert servers == set(worker_services(compose))
    assert "ip_hash" not in conf and "sticky" not in conf
    ws = re.search(r"location /ws/ \{(.*?)\n        \}", conf, re.S)
    assert ws, "no /ws/ location"
    block = ws.group(1)
    assert "proxy_http_version 1.1;" in block
    assert "proxy_set_header Upgrade $http_upgrade;" in block
    assert "proxy_set_header Connection $connection_upgrade;" in block
    timeout = re.search(r"proxy_read_timeout (\d+)s;", block)
    assert timeout and int(timeout.group(1)) >= 600
    assert "map $http_upgrade $connection_upgrade" in conf
    nginx_service = compose["services"]["nginx"]
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in nginx_service["volumes"]


def test_the_image_serves_with_daphne_and_checks_its_websocket_path():
    dockerfile = DOCKERFILE.read_text()
    assert 'CMD ["chatportal", "serve", "--host", "0.0.0.0", "--port", "8000"]' in dockerfile
    assert "USER chatportal" in dockerfile
    assert "chatportal-healthcheck" in dockerfile
    ignore = (REPO_ROOT / "deploy" / "Dockerfile.dockerignore").read_text()
    for copied in re.findall(r"^COPY (\S+) ", dockerfile, re.M):
        assert f"!{copied.rstrip('/')}" in ignore.replace("/\n", "\n"), (
            f"{copied} is not in the build context"
        )


def test_the_health_check_passes_on_a_running_worker(embedded_server: LiveServer):
    import subprocess
    import sys

    worker = embedded_server.worker
    done = subprocess.run(
        [
            sys.executable,
            str(Path(REPO_ROOT, "deploy", "healthcheck.py")),
            "--port",
            str(worker.port),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_the_health_check_fails_when_nothing_listens():
    import subprocess
    import sys

    from tests.live_server import free_port

    done = subprocess.run(
        [
            sys.executable,
            str(Path(REPO_ROOT, "deploy", "healthcheck.py")),
            "--port",
            str(free_port()),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1
    assert "unhealthy" in done.stderr
