"""A throw-away Chatportal for a benchmark script: its own database, Redis prefix and workers.

    with throwaway_chatportal("idle", workers=1) as (env, workers):
        ...

Creates a database on the server DATABASE_URL names (the local one by
default), migrates and seeds it, starts the workers on 127.0.0.1 with their
logs under bench/results/<kind>-<id>/, and on the way out stops them and
drops only the database and the Redis keys it made. `before_workers(env)`
runs after the seed and before the workers start (bench agents, say).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from bench.run_chat_bench import DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL
from tests.live_server import (
    DaphneWorker,
    PostgresServer,
    RedisNamespace,
    base_env,
    prepare_database,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def throwaway_chatportal(
    kind: str,
    *,
    workers: int = 1,
    before_workers: Callable[[dict[str, str]], None] | None = None,
) -> Iterator[tuple[dict[str, str], list[DaphneWorker]]]:
    pg = PostgresServer(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    pg.check()
    redis_ns = RedisNamespace(
        os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL, f"bench{uuid.uuid4().hex[:8]}:"
    )
    redis_ns.check()
    db_name = f"chatportal_bench_{uuid.uuid4().hex[:10]}"
    out_dir = REPO_ROOT / "bench" / "results" / f"{kind}-{uuid.uuid4().hex[:6]}"
    started: list[DaphneWorker] = []
    try:
        env = base_env(out_dir / "data")
        env.update(
            {
                "DATABASE_URL": pg.create_database(db_name),
                "REDIS_URL": redis_ns.redis_url,
                "CHATPORTAL_REDIS_PREFIX": redis_ns.prefix,
                "CHATPORTAL_LOG_LEVEL": "WARNING",
            }
        )
        prepare_database(env)
        if before_workers is not None:
            before_workers(env)
        for index in range(workers):
            name = f"worker-{chr(ord('a') + index)}"
            started.append(DaphneWorker(env, out_dir / f"{name}.log", name=name).start())
        yield env, started
    finally:
        for worker in started:
            worker.stop()
        redis_ns.delete_keys()
        pg.drop_database(db_name)
