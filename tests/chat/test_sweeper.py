"""The process's sweep loop: its period, and a clean stop when the worker shuts down.

That every worker starts it at start-up, with no socket, is proven on a real
daphne in tests/multiprocess/test_timers_without_sockets.py.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from chat import sweeper


@pytest.mark.parametrize(
    ("configured", "ttl_s", "expected"), [(0, 30, 5.0), (0, 6, 2.0), (0, 1, 1.0), (0.25, 30, 0.25)]
)
def test_the_sweep_runs_every_third_of_the_ttl_unless_told_otherwise(
    settings, configured, ttl_s, expected
):
    settings.CHATPORTAL_SWEEP_INTERVAL_S = configured
    settings.CHATPORTAL_PRESENCE_TTL_S = ttl_s
    assert sweeper.sweep_interval_s() == expected


@pytest.mark.django_db  # the loop runs each sweep through database_sync_to_async
async def test_stopping_lets_the_sweep_in_flight_commit_and_ends_the_loop(settings, monkeypatch):
    settings.CHATPORTAL_SWEEP_INTERVAL_S = 0.05
    started, finished = threading.Event(), threading.Event()
    sweeps = []

    def slow_sweep(**kwargs):
        sweeps.append(time.monotonic())
        started.set()
        time.sleep(0.5)
        finished.set()
        return {}

    monkeypatch.setattr(sweeper, "run_sweeps", slow_sweep)
    monkeypatch.setattr(sweeper, "ensure_coalescer_running", lambda: None)
    sweeper.ensure_sweeper_running()
    task = sweeper._task
    assert await asyncio.to_thread(started.wait, 5)

    await sweeper.stop_sweeper()
    assert finished.is_set()  # not abandoned mid-sweep
    assert task is not None and task.done() and not task.cancelled()
    count = len(sweeps)
    await asyncio.sleep(0.2)
    assert len(sweeps) == count  # and no sweep after the stop
