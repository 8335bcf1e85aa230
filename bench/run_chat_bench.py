"""The chat benchmark from the issue: 200 conversations x 1 msg/s per side.

Sets up a throw-away PostgreSQL database (migrate + seed-demo + bench agents
with a high max_chats), a private Redis key prefix and N daphne workers on
127.0.0.1 (tests/live_server.py), runs bench/loadgen.py against them as a
separate process, records CPU used by each process, optionally profiles
worker A with py-spy, and writes everything to an output directory.

    .venv/bin/python bench/run_chat_bench.py --conversations 200 --rate 1 --duration 60

DATABASE_URL and REDIS_URL name the servers (defaults: the local ones); the
benchmark creates and drops its own database there and never touches others.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

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
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# Runs inside `chatportal shell`: creates the bench agents and prints their tokens.
AGENTS_SNIPPET = """
import json
from django.contrib.auth import get_user_model
from queues.models import AgentProfile, Department
from queues.tokens import issue_agent_token
department = Department.objects.get(slug={department!r})
User = get_user_model()
out = []
for i in range({count}):
    user, _ = User.objects.get_or_create(
        username=f"bench-agent-{{i:03d}}", defaults={{"first_name": "Bench", "last_name": f"Agent {{i}}"}})
    profile, _ = AgentProfile.objects.get_or_create(user=user)
    profile.max_chats = {max_chats}
    profile.save()
    profile.departments.set([department])
    out.append({{"username": user.username, "token": issue_agent_token(user)}})
print("AGENTS=" + json.dumps(out))
"""


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process, from /proc (no psutil needed)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_kib(pid: int) -> int:
    """Resident set of a live process, from /proc/<pid>/statm."""
    pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def machine_busy_seconds() -> float:
    """Non-idle CPU seconds of the whole machine (all cores), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


def service_cpu_seconds(names: tuple[str, ...]) -> float:
    """CPU of every process whose command name is one of `names` (postgres, redis-server)."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            comm = (proc / "comm").read_text().strip()
        except OSError:
            continue
        if comm in names or any(comm.startswith(n) for n in names):
            total += cpu_seconds(int(proc.name))
    return total


PG_COUNTERS = (
    "xact_commit",
    "xact_rollback",
    "tup_returned",
    "tup_fetched",
    "tup_inserted",
    "tup_updated",
    "tup_deleted",
    "blks_read",
    "blks_hit",
)


def pg_counters(pg: PostgresServer, db_name: str) -> dict[str, int]:
    """The bench database's pg_stat_database row (transactions, tuples, blocks)."""
    with pg._connect() as conn:
        # Statistics are collected asynchronously; ask for a fresh snapshot.
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(
            f"SELECT {', '.join(PG_COUNTERS)} FROM pg_stat_database WHERE datname = %s",  # noqa: S608
            [db_name],
        ).fetchone()
    return dict(zip(PG_COUNTERS, row, strict=True)) if row else {}


def loadgen_argv(
    worker_urls: list[str],
    *,
    agents_file: Path,
    conversations: int,
    rate: float,
    duration: float,
    drain: float,
    output: Path,
    department: str = "support",
    assign_timeout: float | None = None,
) -> list[str]:
    """bench/loadgen.py's command line, the same seed for every run."""
    return [
        sys.executable,
        str(REPO_ROOT / "bench" / "loadgen.py"),
        *[arg for url in worker_urls for arg in ("--worker", url)],
        *(("--assign-timeout", str(assign_timeout)) if assign_timeout else ()),
        *("--agents-file", str(agents_file), "--conversations", str(conversations)),
        *("--rate", str(rate), "--duration", str(duration), "--drain", str(drain)),
        *("--department", department, "--output", str(output), "--seed", "1"),
    ]


def create_bench_agents(
    env: dict[str, str], *, count: int, max_chats: int, department: str
) -> list[dict[str, str]]:
    code = AGENTS_SNIPPET.format(count=count, max_chats=max_chats, department=department)
    out = run_chatportal(env, "shell", "-c", code)
    for line in out.splitlines():
        if line.startswith("AGENTS="):
            return json.loads(line[len("AGENTS=") :])
    raise RuntimeError(f"agent setup printed no tokens:\n{out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run the chat benchmark on N daphne workers (PostgreSQL + Redis)."
    )
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument(
        "--rate", type=float, default=1.0, help="messages/s per side per conversation"
    )
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument(
        "--drain",
        type=float,
        default=60.0,
        help="seconds after the last send to wait for acks and deliveries",
    )
    parser.add_argument("--workers", type=int, default=2, choices=range(1, 9))
    parser.add_argument(
        "--agents", type=int, default=0, help="bench agents (default: one per 10 conversations)"
    )
    parser.add_argument("--department", default="support")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy record worker A during the run"
    )
    parser.add_argument(
        "--profile-gil",
        action="store_true",
        help="with --profile: sample only the thread holding the GIL (CPU, not waits)",
    )
    parser.add_argument("--output-dir", type=Path, default=None)
    parser.add_argument(
        "--extra-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the workers (repeatable)",
    )
    args = parser.parse_args(argv)
    if (
        not 1 <= args.conversations <= 2000
        or not 0 < args.rate <= 50
        or not 0 < args.duration <= 600
    ):
        parser.error("conversations 1..2000, rate (0, 50], duration (0, 600]")

    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if args.profile and not Path(py_spy).exists():
        parser.error("--profile needs py-spy: .venv/bin/pip install py-spy")

    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = args.output_dir or REPO_ROOT / "bench" / "results" / f"chat-{stamp}"
    out_dir.mkdir(parents=True, exist_ok=True)
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    agents_count = args.agents or max(1, math.ceil(args.conversations / 10))
    max_chats = max(3, math.ceil(args.conversations / agents_count) + 2)

    pg = PostgresServer(database_url)
    pg.check()
    redis_ns = RedisNamespace(redis_url, f"bench{uuid.uuid4().hex[:8]}:")
    redis_ns.check()
    db_name = f"chatportal_bench_{uuid.uuid4().hex[:10]}"
    workers: list[DaphneWorker] = []
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
        for item in args.extra_env:
            name, sep, value = item.partition("=")
            if not sep or not name:
                parser.error(f"--extra-env wants NAME=VALUE, got {item!r}")
            env[name] = value
        t = time.monotonic()
        prepare_database(env)
        agents = create_bench_agents(
            env, count=agents_count, max_chats=max_chats, department=args.department
        )
        (out_dir / "agents.json").write_text(json.dumps(agents))
        print(
            f"database ready with {len(agents)} bench agents in {time.monotonic() - t:.1f} s",
            file=sys.stderr,
        )

        for index in range(args.workers):
            name = f"worker-{chr(ord('a') + index)}"
            worker = DaphneWorker(env, out_dir / f"{name}.log", name=name)
            workers.append(worker)
            worker.start()

        cpu_before = {w.name: cpu_seconds(w.pid) for w in workers if w.pid}
        services_before = service_cpu_seconds(("postgres", "redis-server"))
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        pg_before = pg_counters(pg, db_name)
        t_run = time.monotonic()
        load_before = os.getloadavg()
        loadgen = subprocess.Popen(
            loadgen_argv(
                [f"ws://{w.host}:{w.port}" for w in workers],
                agents_file=out_dir / "agents.json",
                conversations=args.conversations,
                rate=args.rate,
                duration=args.duration,
                drain=args.drain,
                output=out_dir / "loadgen.json",
                department=args.department,
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert loadgen.stderr is not None
        stderr_lines = []
        steady_cpu: dict[str, float] = {}
        for line in loadgen.stderr:
            stderr_lines.append(line)
            if line.startswith("STEADY "):
                # Measure (and profile) the steady phase only, not the setup.
                steady_cpu = {w.name: cpu_seconds(w.pid) for w in workers if w.pid}
                steady_cpu["machine_busy"] = machine_busy_seconds()
                steady_cpu["_at"] = time.monotonic()
                if args.profile:
                    profiler = subprocess.Popen(
                        [
                            py_spy,
                            "record",
                            "--pid",
                            str(workers[0].pid),
                            "--duration",
                            str(int(args.duration)),
                            "--rate",
                            "50",
                            "--format",
                            "raw",
                            "--output",
                            str(out_dir / "worker-a.collapsed.txt"),
                            *(["--gil"] if args.profile_gil else []),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=(out_dir / "py-spy.log").open("wb"),
                    )
            elif line.startswith("e2e "):
                steady_cpu.setdefault("_end", time.monotonic())
                for w in workers:
                    if w.pid and w.name in steady_cpu:
                        steady_cpu[w.name] = cpu_seconds(w.pid) - steady_cpu[w.name]
                if "machine_busy" in steady_cpu:
                    # All cores together, every process on the machine (ours and others').
                    steady_cpu["machine_busy"] = machine_busy_seconds() - steady_cpu["machine_busy"]
        stdout = loadgen.stdout.read() if loadgen.stdout else ""
        loadgen.wait(timeout=args.duration + 900)
        loadgen = subprocess.CompletedProcess(
            loadgen.args, loadgen.returncode, stdout, "".join(stderr_lines)
        )
        wall = time.monotonic() - t_run
        (out_dir / "loadgen.stderr.txt").write_text(loadgen.stderr)
        cpu = {
            name: round(cpu_seconds(w.pid) - cpu_before[name], 2)
            for w in workers
            if (name := w.name) in cpu_before and w.pid
        }
        services_cpu = round(service_cpu_seconds(("postgres", "redis-server")) - services_before, 2)
        time.sleep(1.0)  # let the statistics collector catch up
        pg_after = pg_counters(pg, db_name)
        try:
            summary = json.loads(loadgen.stdout)
        except ValueError:
            print(loadgen.stdout[-3000:], loadgen.stderr[-3000:], sep="\n", file=sys.stderr)
            return 2
        # Only the load generator was reaped since `children_before`.
        children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        loadgen_cpu = (children_after.ru_utime - children_before.ru_utime) + (
            children_after.ru_stime - children_before.ru_stime
        )
        acked = max(1, summary["counts"]["acked"])
        pg_delta = {k: pg_after[k] - pg_before.get(k, 0) for k in pg_after}
        # Includes setup traffic of the run (connects, hellos, accepts), so it is an upper bound.
        summary["postgres_per_acked_message"] = {
            k: round(v / acked, 2) for k, v in pg_delta.items()
        }
        summary["machine"] = {
            "cpus": os.cpu_count(),
            "run_wall_s": round(wall, 1),
            "cpu_s": {
                **cpu,
                "postgres+redis (live processes only)": services_cpu,
                "loadgen": round(loadgen_cpu, 2),
            },
            "python": sys.version.split()[0],
            # The machine is shared: other processes' load skews every number here.
            "loadavg_1m_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        }
        if "_at" in steady_cpu and "_end" in steady_cpu:
            span = steady_cpu.pop("_end") - steady_cpu.pop("_at")
            # Steady phase (send + drain), as a share of one core.
            summary["machine"]["steady_cpu_pct_of_one_core"] = {
                name: round(100 * value / span, 1) for name, value in steady_cpu.items()
            }
            summary["machine"]["steady_span_s"] = round(span, 1)
            worker_cpu = sum(v for k, v in steady_cpu.items() if k.startswith("worker-"))
            # What one message costs the workers, receiving, writing and delivering it.
            summary["machine"]["worker_cpu_ms_per_acked_message"] = round(
                1000 * worker_cpu / acked, 2
            )
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        print(json.dumps(summary, indent=2))
        print(
            loadgen.stderr.strip().splitlines()[-1] if loadgen.stderr.strip() else "",
            file=sys.stderr,
        )
        print(f"results in {out_dir}", file=sys.stderr)
        return loadgen.returncode
    finally:
        if profiler is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                profiler.wait(timeout=60)
        for worker in workers:
            worker.stop()
        redis_ns.delete_keys()
        pg.drop_database(db_name)


if __name__ == "__main__":
    sys.exit(main())
