"""Connect rate (issue 17): how fast one worker welcomes sockets that say hello.

Sets up a throw-away PostgreSQL database (migrate + seed-demo), a private
Redis key prefix and one `chatportal serve` worker (tests/live_server.py),
then opens sockets with at most `--concurrency` hellos in flight and times
each one from the connect to its `welcome`. Sockets stay open until the
variant ends, as a reconnect storm leaves them. Variants:

- `new`: a visitor without a token (`hello.department`);
- `returning`: a visitor's token from an earlier welcome, with an open
  (queued) conversation it names in `hello.resume`;
- `agents`: an agent's token with `hello.resume` naming a queued conversation.

`--queue N` first fills the department with N waiting chats, to show whether
a hello's work grows with the queue. Prints JSON.

    .venv/bin/python bench/hello_rate.py --sockets 2000 --concurrency 200 --variants new
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from websockets.asyncio.client import connect  # noqa: E402

from bench.run_chat_bench import cpu_seconds  # noqa: E402
from tests.live_server import (  # noqa: E402
    DaphneWorker,
    PostgresServer,
    RedisNamespace,
    base_env,
    prepare_database,
    run_chatportal,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
VARIANTS = ("new", "returning", "agents")

# Runs inside `chatportal shell`: agents, waiting chats, returning visitors with an
# open chat (each through the real message action), printed as JSON.
SETUP_SNIPPET = """
import json, uuid
from django.contrib.auth import get_user_model
from chat.actions.conversations import check_visitor_message
from chat.actions.visitors import create_visitor
from queues.models import AgentProfile, Department
from queues.tokens import issue_agent_token
department = Department.objects.get(slug={department!r})
User = get_user_model()
agents = []
for i in range({agents}):
    user, _ = User.objects.get_or_create(username=f"hello-agent-{{i:04d}}")
    profile, _ = AgentProfile.objects.get_or_create(user=user)
    profile.max_chats = 0
    profile.save()
    profile.departments.set([department])
    agents.append(issue_agent_token(user))
def open_chat():
    visitor, token = create_visitor()
    appended = check_visitor_message(
        visitor, conversation=None, department=department, client_id=uuid.uuid4(),
        body="hello?", department_online=True)
    return {{"token": token, "conversation": str(appended.conversation), "seq": appended.seq}}
queued = [open_chat() for _ in range({queue})]
returning = [open_chat() for _ in range({returning})]
print("SETUP=" + json.dumps({{"agents": agents, "queued": queued, "returning": returning}}))
"""


def setup_data(
    env: dict[str, str], *, department: str, agents: int, queue: int, returning: int
) -> dict[str, Any]:
    code = SETUP_SNIPPET.format(
        department=department, agents=agents, queue=queue, returning=returning
    )
    out = run_chatportal(env, "shell", "-c", code)
    for line in out.splitlines():
        if line.startswith("SETUP="):
            return json.loads(line[len("SETUP=") :])
    raise RuntimeError(f"setup printed nothing:\n{out}")


async def hello_once(
    url: str, origin: str, hello: dict[str, Any], wait_s: float
) -> tuple[float, Any]:
    """Connect, say hello, wait for the welcome: (seconds taken, open connection)."""
    started = time.monotonic()
    conn = await connect(url, origin=origin, open_timeout=wait_s, compression=None)
    await conn.send(json.dumps(hello))
    async with asyncio.timeout(wait_s):
        while True:
            frame = json.loads(await conn.recv())
            if frame.get("type") == "welcome":
                return time.monotonic() - started, conn
            if frame.get("type") == "error":
                raise RuntimeError(f"hello refused: {frame}")


async def run_variant(
    worker: DaphneWorker, path: str, hellos: list[dict[str, Any]], concurrency: int, wait_s: float
) -> dict[str, Any]:
    gate = asyncio.Semaphore(concurrency)
    times: list[float] = []
    failures: list[str] = []
    conns = []

    async def one(hello: dict[str, Any]) -> None:
        async with gate:
            try:
                took, conn = await hello_once(worker.ws_url(path), worker.origin, hello, wait_s)
            except Exception as exc:
                failures.append(f"{type(exc).__name__}: {exc}"[:200])
                return
        times.append(took)
        conns.append(conn)

    started = time.monotonic()
    await asyncio.gather(*(one(h) for h in hellos))
    wall = time.monotonic() - started
    await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
    times.sort()

    def pct(p: float) -> float | None:
        return round(times[min(len(times) - 1, int(p * len(times)))] * 1000, 1) if times else None

    return {
        "sockets": len(hellos),
        "welcomed": len(times),
        "failed": len(failures),
        "failures_sample": sorted(set(failures))[:5],
        "wall_s": round(wall, 2),
        "welcomed_per_s": round(len(times) / wall, 1) if wall else None,
        "time_to_welcome_ms": {
            "p50": pct(0.5),
            "p99": pct(0.99),
            "max": pct(1.0),
            "mean": round(statistics.fmean(times) * 1000, 1) if times else None,
        },
    }


def hellos_for(variant: str, data: dict[str, Any], sockets: int, department: str):
    if variant == "new":
        return "/ws/widget/", [{"type": "hello", "department": department}] * sockets
    if variant == "returning":
        return "/ws/widget/", [
            {"type": "hello", "token": r["token"], "resume": {r["conversation"]: r["seq"]}}
            for r in data["returning"]
        ]
    waiting = data["queued"] or data["returning"]
    return "/ws/agent/", [
        {
            "type": "hello",
            "token": token,
            "resume": {waiting[i % len(waiting)]["conversation"]: 0} if waiting else {},
        }
        for i, token in enumerate(data["agents"])
    ]


def settle(worker: DaphneWorker, *, limit_s: float = 60.0) -> None:
    """Wait until the worker is idle (the previous variant's closes are done)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        before = cpu_seconds(worker.pid)
        time.sleep(1.0)
        if cpu_seconds(worker.pid) - before < 0.05:
            return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=2000, help="sockets of the new variant")
    parser.add_argument("--concurrency", type=int, default=200, help="hellos in flight")
    parser.add_argument("--returning", type=int, default=300, help="sockets of `returning`")
    parser.add_argument("--agents", type=int, default=100, help="sockets of `agents`")
    parser.add_argument("--queue", type=int, default=0, help="waiting chats before the run")
    parser.add_argument("--variants", default="new", help=f"comma-separated: {','.join(VARIANTS)}")
    parser.add_argument("--department", default="support")
    parser.add_argument("--timeout", type=float, default=120.0, help="per hello, seconds")
    parser.add_argument(
        "--profile", type=Path, default=None, help="py-spy raw profile of the worker to this file"
    )
    parser.add_argument("--output-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    if not variants or set(variants) - set(VARIANTS):
        parser.error(f"--variants takes {', '.join(VARIANTS)}")
    if not 1 <= args.sockets <= 10000 or not 1 <= args.concurrency <= 2000:
        parser.error("sockets 1..10000, concurrency 1..2000")
    if not 0 <= args.queue <= 2000 or args.returning < 0 or args.agents < 0:
        parser.error("queue 0..2000; returning and agents not negative")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = args.output_dir or REPO_ROOT / "bench" / "results" / f"hello-{stamp}"
    out_dir.mkdir(parents=True, exist_ok=True)
    pg = PostgresServer(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    pg.check()
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    redis_ns = RedisNamespace(redis_url, f"hello{uuid.uuid4().hex[:8]}:")
    redis_ns.check()
    db_name = f"chatportal_bench_{uuid.uuid4().hex[:10]}"
    worker: DaphneWorker | None = None
    profiler: subprocess.Popen[bytes] | None = None
    try:
        env = base_env(out_dir / "data")
        env.update(
            {
                "DATABASE_URL": pg.create_database(db_name),
                "REDIS_URL": redis_url,
                "CHATPORTAL_REDIS_PREFIX": redis_ns.prefix,
                "CHATPORTAL_DB_CONN_MAX_AGE": "60",
                "CHATPORTAL_LOG_LEVEL": "WARNING",
            }
        )
        t = time.monotonic()
        prepare_database(env)
        data = setup_data(
            env,
            department=args.department,
            agents=args.agents if "agents" in variants else 0,
            queue=args.queue,
            returning=args.returning if "returning" in variants else 0,
        )
        print(f"database ready in {time.monotonic() - t:.1f} s", file=sys.stderr)
        worker = DaphneWorker(env, out_dir / "worker.log", name="worker")
        worker.start()
        if args.profile:
            py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
            profiler = subprocess.Popen(
                [py_spy, "record", "--pid", str(worker.pid), "--rate", "100", "--format", "raw"]
                + ["--nonblocking", "--gil"]
                + ["--output", str(args.profile)],
                stdout=subprocess.DEVNULL,
                stderr=(out_dir / "py-spy.log").open("wb"),
            )
            time.sleep(1.0)
        summary: dict[str, Any] = {
            "queue": args.queue,
            "concurrency": args.concurrency,
            "cpus": os.cpu_count(),
            "loadavg_1m_before": round(os.getloadavg()[0], 2),
        }
        for variant in variants:
            settle(worker)
            path, hellos = hellos_for(variant, data, args.sockets, args.department)
            cpu = os.times()
            worker_cpu = cpu_seconds(worker.pid)
            summary[variant] = asyncio.run(
                run_variant(worker, path, hellos, args.concurrency, args.timeout)
            )
            summary[variant]["client_cpu_s"] = round(sum(os.times()[:2]) - cpu.user - cpu.system, 1)
            # The worker's CPU per welcomed socket: handshake, hello, welcome, close.
            spent = cpu_seconds(worker.pid) - worker_cpu
            summary[variant]["worker_cpu_s"] = round(spent, 1)
            summary[variant]["worker_cpu_ms_per_socket"] = round(
                1000 * spent / max(1, summary[variant]["welcomed"]), 1
            )
            print(f"{variant}: {summary[variant]['welcomed_per_s']} /s", file=sys.stderr)
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        print(json.dumps(summary, indent=2))
        return 0
    finally:
        if profiler is not None:
            profiler.send_signal(2)  # SIGINT: py-spy writes what it sampled
            with contextlib.suppress(subprocess.TimeoutExpired):
                profiler.wait(timeout=30)
        if worker is not None:
            worker.stop()
        redis_ns.delete_keys()
        pg.drop_database(db_name)


if __name__ == "__main__":
    sys.exit(main())
