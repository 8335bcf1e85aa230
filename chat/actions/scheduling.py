"""The scheduler: coalesced routing passes and queue snapshots, one worker task per process.

A burst (500 chats arriving at once) would otherwise run one routing pass and
one queue snapshot per committed chat, each a few queries over the whole
queue, all on the worker's one database thread, with every socket's frames
waiting behind them. Instead a commit only *asks* for a pass over its
department; the process's coalescer waits a moment for the burst to gather,
then routes each asked-for department once (`chat.actions.routing`) and
sends each of their waiting visitors one snapshot (`chat.queue`). Latency
stays in the tens of milliseconds; the work no longer grows with the square
of the burst.

It sits above routing and below the actions that commit: an action asks
here, after its commit, for a pass (`route_after_commit`) or for the
waiting visitors' new places (`publish_queue_changed`); a requested pass
ends with the snapshots of the departments it routed, so an action that
asks for a pass needs no separate snapshot.

Where no event loop runs (management commands, sync tests) the work is done
at once.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import threading
import time
from collections.abc import Iterable

from channels.db import database_sync_to_async
from django.db import transaction

from chat.actions.routing import Assignment, publish_queue_changed_to_agents, route_waiting
from chat.queue import queue_snapshot, waiting_group
from foundation import realtime
from queues.models import Department

logger = logging.getLogger(__name__)

# How long a burst may gather before a pass runs.
COALESCE_S = 0.05

_lock = threading.Lock()
_routing: set[int] = set()
_snapshots: set[int] = set()
_loop: asyncio.AbstractEventLoop | None = None
_wake: asyncio.Event | None = None
_task: asyncio.Task | None = None
_passes_running = 0


# --- what the actions that commit ask for --------------------------------------------


def route_after_commit(department_ids: Iterable[int]) -> None:
    """Ask for a routing pass once this transaction commits (coalesced per burst).

    The pass also sends these departments' waiting visitors their places.
    """
    ids = sorted(set(department_ids))
    if ids:
        transaction.on_commit(lambda: request_routing(ids), robust=True)


def route_agent_departments_after_commit(agent_id: int) -> None:
    """Capacity of one agent changed: route every department it serves."""
    ids = list(Department.objects.filter(agents__user_id=agent_id).values_list("pk", flat=True))
    route_after_commit(ids)


def publish_queue_changed(department: Department) -> None:
    """Agents re-read the queue figures; waiting visitors get their new place."""
    publish_queue_changed_to_agents(department)
    department_pk = department.pk
    transaction.on_commit(lambda: request_snapshot(department_pk), robust=True)


def route_now(*, now: datetime.datetime | None = None) -> list[Assignment]:
    """A routing pass over every department with waiting chats, in this thread (the sweep).

    The departments that got assignments get their snapshots after the commit.
    """
    made = route_waiting(now=now)
    for department_pk in sorted({a.department_id for a in made}):
        transaction.on_commit(lambda pk=department_pk: request_snapshot(pk), robust=True)
    return made


# --- the coalescer -------------------------------------------------------------------


def _running_loop() -> asyncio.AbstractEventLoop | None:
    loop = _loop
    if loop is None or loop.is_closed() or not loop.is_running() or _task is None or _task.done():
        return None
    return loop


def _wake_up(loop: asyncio.AbstractEventLoop) -> None:
    wake = _wake
    if wake is not None:
        loop.call_soon_threadsafe(wake.set)


def request_routing(department_ids: set[int] | list[int]) -> None:
    """Route these departments soon (called after a commit, from any thread)."""
    ids = set(department_ids)
    if not ids:
        return
    loop = _running_loop()
    if loop is None:
        _route_then_snapshot(ids, ids)
        return
    with _lock:
        _routing.update(ids)
        _snapshots.update(ids)
    _wake_up(loop)


def request_snapshot(department_id: int) -> None:
    """Send the department's waiting visitors their places soon."""
    loop = _running_loop()
    if loop is None:
        send_snapshots({department_id})
        return
    with _lock:
        _snapshots.add(department_id)
    _wake_up(loop)


def send_snapshots(department_ids: set[int]) -> None:
    for department in Department.objects.prefetch_related("hours", "holidays").filter(
        pk__in=department_ids
    ):
        realtime.send_now(waiting_group(department.slug), queue_snapshot(department))


def _run_pass(routing: set[int], snapshots: set[int]) -> None:
    global _passes_running
    with _lock:
        _passes_running += 1
    try:
        _route_then_snapshot(routing, snapshots)
    finally:
        with _lock:
            _passes_running -= 1


def _route_then_snapshot(routing: set[int], snapshots: set[int]) -> None:
    if routing:
        route_waiting(sorted(routing))
    # Snapshots after routing, so that they show the queue as it now stands.
    if snapshots:
        send_snapshots(snapshots)


async def _serve() -> None:
    assert _wake is not None
    while True:
        await _wake.wait()
        await asyncio.sleep(COALESCE_S)
        _wake.clear()
        with _lock:
            routing, snapshots = set(_routing), set(_snapshots)
            _routing.clear()
            _snapshots.clear()
        if not routing and not snapshots:
            continue
        try:
            await database_sync_to_async(_run_pass)(routing, snapshots)
        except Exception:
            # The sweep routes again within seconds; pings refresh places.
            logger.exception("coalesced routing pass failed")


def wait_for_running_pass(timeout_s: float = 5) -> bool:
    """Block until no pass is running in a thread of this process (tests); False on timeout."""
    deadline = time.monotonic() + timeout_s
    while _passes_running:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def ensure_coalescer_running() -> None:
    """Start this process's coalescer (once per event loop)."""
    global _loop, _wake, _task
    loop = asyncio.get_running_loop()
    if _task is not None and not _task.done() and _loop is loop:
        return
    _loop = loop
    _wake = asyncio.Event()
    _task = loop.create_task(_serve(), name="chatportal-coalescer")
