"""Fixtures for tests that run real daphne workers (see tests/live_server.py)."""

from __future__ import annotations

from tests.live_server import (  # noqa: F401  (fixtures are found by name)
    embedded_server,
    embedded_server_env,
    embedded_template,
    live_secret_key,
    scaleout_services,
    scaleout_template,
    two_workers,
    two_workers_env,
)
