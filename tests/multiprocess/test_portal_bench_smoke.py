"""bench/run_portal_bench.py keeps working: a tiny run on real workers, and its accounting.

The smoke run (CI's PostgreSQL + Redis pass) is the whole harness at small
scale: bulk customers with sessions, two daphne workers, 20 portal sockets,
5 API status changes/s for 3 s. Every committed update must reach its
customer's socket, and no socket may get another customer's ticket.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bench.portal_sockets import fragment_state
from bench.run_portal_bench import match_pushes
from tests.live_server import REPO_ROOT


def test_it_reads_the_fragment_root_whatever_the_attribute_order():
    html = '<tr data-updated="2026-12-01T10:00:00.123456+00:00" hx-swap-oob="true" id="ticket-T-1001" data-status="pending"><td>x</td></tr>'
    assert fragment_state(html) == ("T-1001", "pending", "2026-12-01T10:00:00.123456+00:00")
    assert fragment_state("<!-- heartbeat -->") is None
    assert fragment_state('<div id="other"></div>') is None


def _update(number, customer, updated, seq, *, started=10.0):
    return {
        "number": number,
        "customer": customer,
        "status": "pending",
        "scheduled": started,
        "started": started,
        "responded": started + 0.05,
        "http_status": 200,
        "updated": updated,
        "last_seq": seq,
        "error": None,
    }


def test_it_counts_missed_superseded_and_noop_updates():
    updates = [
        _update("T-1", 0, "2026-12-01T10:00:01.000Z", 2),
        _update("T-1", 0, "2026-12-01T10:00:02.000Z", 3, started=11.0),
        _update("T-2", 1, "2026-12-01T10:00:03.000Z", 2),  # never pushed
        _update("T-3", 1, "2026-12-01T10:00:00.500Z", 1),  # a PATCH that changed nothing
    ]
    sockets = {
        "sockets": [
            # The first update's push was coalesced into the second's state.
            {
                "index": 0,
                "arrivals": [
                    ["T-1", "open", "2026-12-01T10:00:02.000400+00:00", 11.1, 1796119202.05]
                ],
            },
            {"index": 1, "arrivals": []},
        ],
        "wrong_customer": [],
        "closed": {},
    }
    result = match_pushes(updates, sockets)
    counts = result["counts"]
    # Measured from the fragment's own data-updated (the server's write) to the arrival.
    assert result["latency_ms"]["push_from_server_write"]["p50"] == pytest.approx(49.6, abs=0.1)
    assert counts["updates_committed"] == 3
    assert counts["updates_noop"] == 1
    assert counts["delivered"] == 2
    assert counts["superseded"] == 1
    assert counts["missed"] == 1


@pytest.mark.services
def test_the_portal_benchmark_runs_at_tiny_scale(scaleout_services, scaleout_template, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": scaleout_services.database_url,
        "REDIS_URL": scaleout_services.redis_url,
    }
    out_dir = tmp_path / "portal"
    done = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "bench" / "run_portal_bench.py"),
            "--customers",
            "20",
            "--rate",
            "5",
            "--duration",
            "3",
            "--drain",
            "3",
            "--cooldown",
            "2",
            "--idle-baseline",
            "1",
            "--template",
            scaleout_template,
            "--output-dir",
            str(out_dir),
        ],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert (out_dir / "summary.json").exists(), done.stderr[-4000:]
    summary = json.loads((out_dir / "summary.json").read_text())
    counts = summary["counts"]
    assert summary["setup"]["sockets"]["sockets"] == 20
    assert summary["setup"]["sockets"]["not_subscribed"] == 0
    assert counts["updates_sent"] == 15
    assert counts["updates_failed"] == 0, summary["errors"]
    assert counts["updates_committed"] == 15
    assert counts["missed"] == 0, summary["missed_examples"]
    assert counts["wrong_customer"] == 0, summary["wrong_customer_examples"]
    assert counts["delivered"] == 15
    assert counts["sockets_closed"] == {}
    assert summary["latency_ms"]["push_from_request_start"]["count"] == 15
    assert done.returncode == 0, done.stderr[-4000:]
