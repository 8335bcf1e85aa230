"""The suite's own machinery: its password hasher and what the services pass leaves out."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from django.conf import global_settings
from django.contrib.auth.hashers import identify_hasher, make_password
from django.core.cache import caches
from django.db import connections

import chatportal.settings as production_settings
from tests.database_free import (
    CHILD_WITH_SERVICES,
    service_variables_standing_in,
    services_touched,
)
from tests.live_server import REPO_ROOT, embedded_env, run_chatportal


def test_the_suite_hashes_passwords_with_a_fast_hasher():
    assert identify_hasher(make_password("agent-pass-123")).algorithm == "md5"


def test_production_keeps_djangos_default_hashers():
    assert not hasattr(production_settings, "PASSWORD_HASHERS")
    assert global_settings.PASSWORD_HASHERS[0].endswith(".PBKDF2PasswordHasher")


@pytest.mark.both_passes  # a child process: the workers' settings are what pass 2 relies on
def test_a_process_the_suite_starts_accepts_the_passwords_the_suite_hashed(tmp_path):
    encoded = make_password("agent-pass-123")
    check = (
        "from django.contrib.auth.hashers import check_password;"
        f" print(check_password('agent-pass-123', {encoded!r}))"
    )
    out = run_chatportal(embedded_env(tmp_path), "shell", "-c", check)
    assert out.strip().splitlines()[-1] == "True"


@pytest.mark.both_passes  # it reaches the cache and a connection on purpose
def test_it_notices_code_that_reaches_the_cache_or_a_database_connection():
    with services_touched() as touched:
        vendor = connections["default"].vendor
        caches["default"]
    assert vendor in {"sqlite", "postgresql"}
    assert touched == ["a database connection", "the cache"]
    with services_touched() as touched:
        make_password("agent-pass-123")
    assert touched == []


@pytest.mark.both_passes  # child processes, one of them with the services on purpose
def test_it_notices_a_child_process_that_would_inherit_the_services(tmp_path):
    python = [sys.executable, "-c", "pass"]
    with service_variables_standing_in(), services_touched() as touched:
        # Pass 1 has no service variables: stand-ins play the ones pass 2 has.
        assert os.environ["DATABASE_URL"] and os.environ["REDIS_URL"]
        subprocess.run(python, check=True)
    assert touched == [CHILD_WITH_SERVICES]
    with service_variables_standing_in(), services_touched() as touched:
        subprocess.run(python, env=embedded_env(tmp_path), check=True)
    assert touched == []


@pytest.mark.both_passes  # a child process
def test_the_services_pass_leaves_out_the_database_free_tests_and_says_how_many():
    pure = "tests/queues/test_routing_policy.py"
    cache_backed = "tests/chat/test_visitor_window.py"
    # Sockets to a server in a child process on SQLite and the in-memory layer.
    embedded_server = "tests/multiprocess/test_protocol_over_real_sockets.py"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider"]
        + ["--skip-database-free", pure, cache_backed, embedded_server],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    collected = [line for line in done.stdout.splitlines() if "::" in line]
    assert collected == [
        f"{cache_backed}::test_it_allows_the_limit_then_names_the_seconds_to_the_next_window",
        f"{cache_backed}::test_visitors_are_counted_apart",
    ]
    summary = re.search(r"deselected (\d+) database-free tests", done.stdout)
    assert summary and int(summary.group(1)) > 0, done.stdout
