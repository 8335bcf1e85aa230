"""The two baselines of `make bench` speak loadgen's frames and lose nothing.

The bare `websockets` relay and the Channels-tutorial app (two daphne processes
on PostgreSQL + Redis, so group_send crosses processes) each carry 5
conversations for 5 s from bench/loadgen.py: every acked message reaches the
other side once, in seq order.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from bench import loadgen
from bench.baselines.servers import RelayServer, TutorialServer
from tests.live_server import services_from_environment

pytestmark = [pytest.mark.services, pytest.mark.timeout(240)]

CONVERSATIONS = 5
RATE_PER_SIDE = 2.0
DURATION_S = 5.0


def drive(urls: list[str], tmp_path) -> dict:
    agents = tmp_path / "agents.json"
    agents.write_text(
        json.dumps([{"username": "a1", "token": "x"}, {"username": "a2", "token": "y"}])
    )
    args = loadgen.build_parser().parse_args(
        [
            *[arg for url in urls for arg in ("--worker", url)],
            "--agents-file",
            str(agents),
            "--conversations",
            str(CONVERSATIONS),
            "--rate",
            str(RATE_PER_SIDE),
            "--duration",
            str(DURATION_S),
            "--drain",
            "5",
            "--seed",
            "1",
        ]
    )
    return asyncio.run(loadgen.run(args))


def assert_everything_delivered_once_in_order(summary: dict) -> None:
    counts = summary["counts"]
    expected = CONVERSATIONS * 2 * int(RATE_PER_SIDE * DURATION_S)
    assert counts["sent"] == expected
    assert counts["acked"] == counts["delivered"] == expected, counts
    assert (counts["lost"], counts["duplicated"], counts["out_of_order"]) == (0, 0, 0)
    assert counts["errors"] == {}
    assert sum(summary["end_to_end_histogram"]["counts"]) == expected


def test_the_relay_delivers_every_message_once_in_order(tmp_path):
    server = RelayServer(tmp_path).start()
    try:
        summary = drive([p.url for p in server.processes], tmp_path)
    finally:
        server.stop()
    assert_everything_delivered_once_in_order(summary)
    assert summary["setup"]["per_agent"] == {"agent-a1": 3, "agent-a2": 2}  # round robin


def test_the_tutorial_app_delivers_every_message_once_in_order_across_two_processes(tmp_path):
    services = services_from_environment()
    server = TutorialServer(tmp_path, services.database_url, services.redis_url, processes=2)
    server.start()
    try:
        summary = drive([p.url for p in server.processes], tmp_path)
        stored = server.stored_messages()
    finally:
        server.stop()
    assert_everything_delivered_once_in_order(summary)
    # One row per message: the opening ones and every measured one.
    assert stored == CONVERSATIONS + summary["counts"]["sent"]
    assert summary["setup"]["accepted_manually"] == 0
