"""Settings for write-path experiments: chatportal.settings plus opt-in patches.

Not for production. `bench/run_chat_bench.py --extra-env
DJANGO_SETTINGS_MODULE=bench.experiment_settings --extra-env BENCH_...=1`
runs the workers with one change to the write path, so that a proposal in
docs/benchmarks.md can be measured before anyone rewrites the real code:

- BENCH_NONBLOCKING_PUBLISH=1: the after-commit doorbell is scheduled on the
  worker's event loop instead of blocking the sync thread until Redis has it.
- BENCH_THREAD_DOORBELLS=1: the earlier behaviour, doorbells sent from the
  database thread with `async_to_sync`, not handed back to the socket's loop.
- BENCH_STOCK_LAYER=1: channels-redis's list-based RedisChannelLayer (four
  round trips per group_send, four per receive) instead of the pub/sub layer.
- BENCH_PUBSUB_LAYER=1: channels-redis's pub/sub layer as it ships (a lock
  around every publish, no reconnect count) instead of chatportal's.
- BENCH_GC_LOG=1: log garbage-collector passes over 10 ms and the time spent
  collecting per 10 s.
- BENCH_STALL_LOG=1: log event-loop lag, database hops, the visitor window,
  the insert statement and sweeps when they take longer than 20–50 ms.
- BENCH_NO_VISITOR_WINDOW=1: skip the per-visitor message window (its two
  synchronous Redis round trips); the per-socket token bucket still applies.
- BENCH_DB_POOL=1: psycopg's connection pool with BENCH_DB_POOL_MAX
  connections (default 10) and a 30 s timeout. The pool is on by default
  since (CHATPORTAL_DB_POOL_MAX_SIZE, default 20); to measure without one,
  run the workers with CHATPORTAL_DB_POOL_MAX_SIZE=0: under ASGI every HTTP
  request runs in its own thread, and CONN_MAX_AGE > 0 leaves a connection
  behind per request thread until the garbage collector finds it
  (docs/benchmarks.md, portal).
"""

from __future__ import annotations

import asyncio
import logging
import os

from chatportal.settings import *  # noqa: F403

logger = logging.getLogger("bench.experiment")

if os.environ.get("BENCH_DB_POOL") == "1":
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405 (a pool refuses persistent connections)
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {  # noqa: F405
        "min_size": 2,
        "max_size": int(os.environ.get("BENCH_DB_POOL_MAX", "10")),
        "timeout": 30,
    }

if os.environ.get("BENCH_PUBSUB_LAYER") == "1" and "CHANNEL_LAYERS" in globals():
    # The library's pub/sub layer as it ships, without foundation.channel_layer's changes.
    CHANNEL_LAYERS["default"]["BACKEND"] = "channels_redis.pubsub.RedisPubSubChannelLayer"  # noqa: F405

if os.environ.get("BENCH_STOCK_LAYER") == "1" and "CHANNEL_LAYERS" in globals():
    CHANNEL_LAYERS["default"]["BACKEND"] = "channels_redis.core.RedisChannelLayer"  # noqa: F405


def _nonblocking_publish() -> None:
    from asgiref.sync import SyncToAsync
    from channels.layers import get_channel_layer

    import foundation.realtime as realtime

    blocking_send_now = realtime.send_now

    def log_failure(future) -> None:
        if not future.cancelled() and future.exception() is not None:
            logger.warning("doorbell failed: %r", future.exception())

    def send_now(group, event):
        loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
        layer = get_channel_layer()
        if layer is None or loop is None or not loop.is_running():
            return blocking_send_now(group, event)
        asyncio.run_coroutine_threadsafe(layer.group_send(group, event), loop).add_done_callback(
            log_failure
        )
        return None

    realtime.send_now = send_now


def _no_visitor_window() -> None:
    import chat.actions.conversations
    import chat.limits

    def no_window(visitor_pk, *, now=None):
        return 0

    chat.limits.visitor_message_retry_after = no_window
    if hasattr(chat.actions.conversations, "limits"):
        chat.actions.conversations.limits.visitor_message_retry_after = no_window


def _thread_doorbells() -> None:
    import foundation.realtime as realtime

    def not_collecting(fn):
        return lambda *args, **kwargs: (fn(*args, **kwargs), [])

    realtime.collecting_doorbells = not_collecting


def _apply() -> None:
    if os.environ.get("BENCH_THREAD_DOORBELLS") == "1":
        _thread_doorbells()
    if os.environ.get("BENCH_NONBLOCKING_PUBLISH") == "1":
        _nonblocking_publish()
    if os.environ.get("BENCH_NO_VISITOR_WINDOW") == "1":
        _no_visitor_window()
    if os.environ.get("BENCH_STALL_LOG") == "1":
        _log_stalls()


# Settings load before the apps; the patches need the apps, so they go in
# right after the app registry is populated.
import django.apps.registry  # noqa: E402

_original_populate = django.apps.registry.Apps.populate


def _populate_then_patch(self, installed_apps=None):
    _original_populate(self, installed_apps)
    if self.ready and not getattr(self, "_bench_patched", False):
        self._bench_patched = True
        _apply()


django.apps.registry.Apps.populate = _populate_then_patch


def _log_slow_collections() -> None:
    import gc
    import time

    started: dict[str, float] = {}
    totals = {"s": 0.0, "n": 0, "since": time.monotonic()}

    def timing(phase, info):
        if phase == "start":
            started["t"] = time.perf_counter()
        elif "t" in started:
            took = time.perf_counter() - started.pop("t")
            totals["s"] += took
            totals["n"] += 1
            if time.monotonic() - totals["since"] > 10:
                logger.warning(
                    "gc: %d collections, %.0f ms in the last 10 s", totals["n"], totals["s"] * 1000
                )
                totals.update(s=0.0, n=0, since=time.monotonic())
            if took > 0.01:
                logger.warning(
                    "gc generation %s took %.1f ms (%s collected)",
                    info["generation"],
                    took * 1000,
                    info["collected"],
                )

    gc.callbacks.append(timing)


if os.environ.get("BENCH_GC_LOG") == "1":
    _log_slow_collections()


def _log_stalls() -> None:
    """Event-loop lag over 50 ms and database hops over 50 ms, to find what stalls a worker."""
    import time

    import chat.sweeper as sweeper
    import foundation.realtime as realtime

    started_monitor = []

    async def monitor() -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.01)
            lag = time.perf_counter() - t - 0.01
            if lag > 0.05:
                logger.warning("event loop lag %.0f ms", lag * 1000)

    real_ensure = sweeper.ensure_sweeper_running

    def ensure_sweeper_running() -> None:
        real_ensure()
        if not started_monitor:
            started_monitor.append(asyncio.get_running_loop().create_task(monitor()))

    sweeper.ensure_sweeper_running = ensure_sweeper_running
    import chat.delivery as delivery

    delivery.ensure_sweeper_running = ensure_sweeper_running

    def logging_slow(fn, label, over_s):
        def run(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                took = time.perf_counter() - t
                if took > over_s:
                    logger.warning("%s took %.0f ms", label, took * 1000)

        return run

    real_collecting = realtime.collecting_doorbells
    realtime.collecting_doorbells = lambda fn: logging_slow(
        real_collecting(fn), f"hop {getattr(fn, '__name__', fn)}", 0.05
    )
    import chat.limits as chat_limits
    import chat.log as chat_log

    for module, name, label, over_s in (
        (chat_limits, "_count_in_window", "redis window", 0.03),
        (chat_log, "_insert_message_postgresql", "insert statement", 0.03),
        (sweeper, "run_sweeps", "sweep", 0.02),
    ):
        setattr(module, name, logging_slow(getattr(module, name), label, over_s))
