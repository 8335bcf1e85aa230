"""The portal benchmark from issue 5: N portal sockets, M ticket updates/s, push latency.

Sets up a throw-away PostgreSQL database (migrate + seed-demo, or a clone of
`--template`), bulk-creates N customers with one or two open tickets and a
signed-in session each (bench/portal_customers.py), gives itself a private
Redis key prefix and starts the daphne workers (tests/live_server.py). Then,
as separate processes:

- bench/portal_sockets.py opens one `/ws/portal/` socket per customer, spread
  over the workers, and waits until every socket has caught up on its
  customer's tickets (so it is subscribed);
- bench/portal_updater.py changes ticket status through the HTTP API at M/s,
  open loop, on random customers' tickets.

Each update is matched to the push on its customer's socket by the ticket's
`updated_at` (the API's answer, the fragment's `data-updated`); latency is
the push's arrival minus the request's start (and minus its scheduled time,
and minus the response). It counts updates delivered, missed, superseded
(a later state arrived first) and wrong-customer deliveries, records the
workers' CPU per update from /proc and the load average, and writes
summary.json to the output directory.

    .venv/bin/python bench/run_portal_bench.py --customers 1000 --rate 50 --duration 30

DATABASE_URL and REDIS_URL name the servers (defaults: the local ones); the
benchmark creates and drops its own database there and never touches others.
Exit status 0 when nothing was missed, nothing went to the wrong customer
and no update failed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.loadgen import distribution_ms  # noqa: E402
from bench.run_chat_bench import (  # noqa: E402
    DEFAULT_DATABASE_URL,
    DEFAULT_REDIS_URL,
    cpu_seconds,
    create_bench_agents,
    loadgen_argv,
    machine_busy_seconds,
    pg_counters,
    rss_kib,
    service_cpu_seconds,
)
from bench.standard import agents_for  # noqa: E402
from tests.live_server import (  # noqa: E402
    DaphneWorker,
    PostgresServer,
    RedisNamespace,
    base_env,
    prepare_database,
    run_chatportal,
)

SETUP_SNIPPET = """
import json
from bench.portal_customers import create_portal_customers
print("PORTAL=" + json.dumps(create_portal_customers({count}, department_slug={department!r}, output={output!r})))
"""


def parse_time(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def to_millisecond(stamp: datetime.datetime) -> datetime.datetime:
    # The API answers times in milliseconds; fragments carry microseconds.
    return stamp.replace(microsecond=stamp.microsecond // 1000 * 1000)


def match_pushes(updates: list[dict[str, Any]], sockets: dict[str, Any]) -> dict[str, Any]:
    """Pair each committed update with the first push that shows it on each of its customer's sockets.

    A push "shows" an update when its `data-updated` is at or after the
    update's `updated_at`: a later state arriving first (doorbells coalesce:
    the consumer renders the current state and drops older doorbells)
    counts as delivered, and is reported as superseded.
    """
    # (updated_at to the millisecond, arrival, status, arrival wall clock, updated_at) per push.
    arrivals: dict[
        tuple[int, str], list[tuple[datetime.datetime, float, str, float, datetime.datetime]]
    ] = defaultdict(list)
    # A customer's sockets (`--viewers`: several); each must show every update.
    sockets_of: dict[int, list[int]] = defaultdict(list)
    duplicates = 0
    for sock in sockets["sockets"]:
        sockets_of[sock.get("customer", sock["index"])].append(sock["index"])
        seen: set[tuple[str, str]] = set()
        for number, status, updated, at, wall in sock["arrivals"]:
            if (number, updated) in seen:
                duplicates += 1
            seen.add((number, updated))
            stamp = parse_time(updated)
            if stamp is not None:
                arrivals[(sock["index"], number)].append(
                    (to_millisecond(stamp), at, status, wall, stamp)
                )
    answered = [
        u
        for u in updates
        if u["http_status"] == 200 and not u["error"] and parse_time(u["updated"])
    ]
    # A PATCH to the status a ticket already has commits nothing (no event,
    # no push); the seq in the answer tells. The bench data starts at seq 1.
    committed, noop = [], 0
    last_seq: dict[str, int] = defaultdict(lambda: 1)
    for u in sorted(answered, key=lambda u: u["responded"]):
        if not isinstance(u.get("last_seq"), int) or u["last_seq"] <= last_seq[u["number"]]:
            noop += 1
            continue
        last_seq[u["number"]] = u["last_seq"]
        committed.append(u)
    from_start, from_schedule, from_response, from_write, from_commit, response, lag = (
        [],
        [],
        [],
        [],
        [],
        [],
        [],
    )
    missed, superseded, wrong_state = [], 0, 0
    deliveries = [(u, socket) for u in committed for socket in sockets_of[u["customer"]]]
    for u, socket in deliveries:
        stamp = to_millisecond(parse_time(u["updated"]))
        shown = [a for a in arrivals.get((socket, u["number"]), []) if a[0] >= stamp]
        if not shown:
            missed.append(
                {
                    "ticket": u["number"],
                    "customer": u["customer"],
                    "socket": socket,
                    "updated": u["updated"],
                }
            )
            continue
        first = min(shown, key=lambda a: a[1])
        if first[0] != stamp:
            superseded += 1
        else:
            if first[2] != u["status"]:
                wrong_state += 1
            # The push path alone: from the server writing the update (its
            # updated_at, just before the commit) to the socket.
            from_write.append(first[3] - first[4].timestamp())
        from_start.append(first[1] - u["started"])
        from_schedule.append(first[1] - u["scheduled"])
        from_response.append(first[1] - u["responded"])
        if u.get("committed") is not None:
            from_commit.append(first[1] - u["committed"])
    for u in updates:
        if u["started"] is not None:
            lag.append(max(0.0, u["started"] - u["scheduled"]))
        if u["responded"] is not None and u["started"] is not None:
            response.append(u["responded"] - u["started"])
    errors: dict[str, int] = defaultdict(int)
    for u in updates:
        if u["error"]:
            errors[f"{u['http_status']}: {u['error'][:80]}"] += 1
    return {
        "counts": {
            "updates_sent": len(updates),
            "updates_committed": len(committed),
            "updates_failed": len(updates) - len(answered),
            "updates_noop": noop,
            "deliveries_expected": len(deliveries),
            "delivered": len(from_start),
            "missed": len(missed),
            "superseded": superseded,
            "wrong_state": wrong_state,
            "duplicate_pushes": duplicates,
            "wrong_customer": len(sockets["wrong_customer"]),
            "sockets_closed": sockets["closed"],
        },
        "latency_ms": {
            "push_from_request_start": distribution_ms(from_start),
            "push_from_schedule": distribution_ms(from_schedule),
            # Negative when the push beat the HTTP answer (the doorbell goes out at commit).
            "push_from_response": distribution_ms(from_response),
            # Commit, doorbell, the consumer's re-read and render, the frame: no HTTP.
            "push_from_server_write": distribution_ms(from_write),
            # --updater django only: from the commit (doorbells start) to the socket.
            "push_from_commit": distribution_ms(from_commit),
            "api_response": distribution_ms(response),
        },
        "updater_lag_ms": distribution_ms(lag),
        "errors": dict(errors),
        "missed_examples": missed[:10],
        "wrong_customer_examples": sockets["wrong_customer"][:10],
    }


class ConnectionSampler(threading.Thread):
    """Counts the bench database's server connections twice a second; trips past a limit.

    The PostgreSQL server is shared: a run that leaks connections must stop
    before it starves everyone else of `max_connections`.
    """

    def __init__(self, pg: PostgresServer, db_name: str, limit: int) -> None:
        super().__init__(daemon=True, name="pg-connections")
        self.pg, self.db_name, self.limit = pg, db_name, limit
        self.peak = 0
        self.samples: list[int] = []
        self.tripped = threading.Event()
        self.done = threading.Event()

    def run(self) -> None:
        with contextlib.suppress(Exception), self.pg._connect() as conn:
            while not self.done.is_set():
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [self.db_name]
                ).fetchone()
                count = int(row[0]) if row else 0
                self.samples.append(count)
                self.peak = max(self.peak, count)
                if count > self.limit:
                    self.tripped.set()
                self.done.wait(0.5)


def wait_for_line(path: Path, prefix: str, process: subprocess.Popen, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        for line in text.splitlines():
            if line.startswith(prefix):
                return line[len(prefix) :]
        if process.poll() is not None:
            raise RuntimeError(
                f"{path.name}: exited {process.returncode} before {prefix.strip()}:\n{text[-3000:]}"
            )
        time.sleep(0.2)
    raise RuntimeError(f"{path.name}: no {prefix.strip()} within {timeout:.0f} s")


def start_chat_load(
    args: argparse.Namespace, worker_urls: list[str], out_dir: Path
) -> subprocess.Popen[str]:
    """bench/loadgen.py on the same workers; returns once its conversations are open."""
    log_path = out_dir / "chat-load.stderr.txt"
    with log_path.open("w") as log:
        loadgen = subprocess.Popen(
            loadgen_argv(
                worker_urls,
                agents_file=out_dir / "agents.json",
                conversations=args.chat_conversations,
                rate=args.chat_rate,
                # Sends for as long as the updates run, and a little longer.
                duration=args.duration + args.drain,
                drain=10,
                output=out_dir / "chat-load.json",
                department=args.department,
                # Routing places a burst of 2,000 chats in tens of seconds; agents
                # that start picking leftovers sooner race it and fill up.
                assign_timeout=min(300, max(5, args.chat_conversations / 20)),
            ),
            stdout=subprocess.DEVNULL,
            stderr=log,
            text=True,
        )
    wait_for_line(log_path, "STEADY ", loadgen, 600)
    return loadgen


def finish_chat_load(loadgen: subprocess.Popen[str], args: argparse.Namespace) -> dict[str, Any]:
    loadgen.wait(timeout=args.duration + 600)
    summary = json.loads((Path(loadgen.args[loadgen.args.index("--output") + 1])).read_text())
    return {
        "conversations": args.chat_conversations,
        "rate_msg_s_per_side": args.chat_rate,
        "latency_ms": summary["latency_ms"]["end_to_end_from_schedule"],
        "counts": summary["counts"],
        "throughput_msg_s": summary["throughput_msg_s"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run the portal push benchmark on N daphne workers (PostgreSQL + Redis)."
    )
    parser.add_argument(
        "--customers", type=int, default=1000, help="portal sockets, one customer each"
    )
    parser.add_argument("--rate", type=float, default=50.0, help="ticket updates per second")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument(
        "--drain", type=float, default=10.0, help="seconds after the last update to wait for pushes"
    )
    parser.add_argument("--workers", type=int, default=2, choices=range(1, 9))
    parser.add_argument(
        "--threads", type=int, default=16, help="updater requests in flight at most"
    )
    parser.add_argument(
        "--cooldown",
        type=float,
        default=5.0,
        help="seconds before the updater picks the same ticket again",
    )
    parser.add_argument(
        "--updater",
        choices=("api", "django"),
        default="api",
        help="updates through the workers' HTTP API, or through the action in the updater process",
    )
    parser.add_argument(
        "--idle-baseline",
        type=float,
        default=10.0,
        help="seconds of worker CPU measured with the sockets open and no updates",
    )
    parser.add_argument(
        "--viewers", type=int, default=1, help="portal sockets per customer (fan-out of one update)"
    )
    parser.add_argument(
        "--chat-conversations",
        type=int,
        default=0,
        help="chat load during the updates: bench/loadgen.py with this many conversations",
    )
    parser.add_argument("--chat-rate", type=float, default=1.0, help="chat msg/s per side")
    parser.add_argument("--department", default="support")
    parser.add_argument(
        "--template",
        default=None,
        help="clone this migrated + seeded database instead of migrating (tests)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="py-spy record worker A during the updates"
    )
    parser.add_argument(
        "--profile-gil",
        action="store_true",
        help="with --profile: sample only the thread holding the GIL (where the CPU goes)",
    )
    parser.add_argument("--output-dir", type=Path, default=None)
    parser.add_argument(
        "--max-db-connections",
        type=int,
        default=150,
        help="stop the updates when the workers hold more connections than this",
    )
    parser.add_argument(
        "--extra-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the workers (repeatable)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.customers * args.viewers <= 5000 or args.viewers < 1:
        parser.error("customers × viewers 1..5000 sockets")
    if not 0 < args.rate <= 500 or not 0 < args.duration <= 600:
        parser.error("rate (0, 500], duration (0, 600]")
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if args.profile and not Path(py_spy).exists():
        parser.error("--profile needs py-spy: .venv/bin/pip install py-spy")

    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = args.output_dir or REPO_ROOT / "bench" / "results" / f"portal-{stamp}"
    out_dir.mkdir(parents=True, exist_ok=True)
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    pg = PostgresServer(database_url)
    pg.check()
    redis_ns = RedisNamespace(redis_url, f"pbench{uuid.uuid4().hex[:8]}:")
    redis_ns.check()
    db_name = f"chatportal_pbench_{uuid.uuid4().hex[:10]}"
    workers: list[DaphneWorker] = []
    sockets_proc: subprocess.Popen[str] | None = None
    chat_load: subprocess.Popen[str] | None = None
    profiler: subprocess.Popen[bytes] | None = None
    sampler: ConnectionSampler | None = None
    try:
        env = base_env(out_dir / "data")
        env.update(
            {
                "DATABASE_URL": pg.create_database(db_name, template=args.template),
                "REDIS_URL": redis_url,
                "CHATPORTAL_REDIS_PREFIX": redis_ns.prefix,
                "CHATPORTAL_DB_CONN_MAX_AGE": "60",
                "CHATPORTAL_LOG_LEVEL": "WARNING",
                # Status changes mail the customer after commit: rendered, not sent.
                "CHATPORTAL_EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            }
        )
        for item in args.extra_env:
            name, sep, value = item.partition("=")
            if not sep or not name:
                parser.error(f"--extra-env wants NAME=VALUE, got {item!r}")
            env[name] = value
        t = time.monotonic()
        if args.template is None:
            prepare_database(env)
        customers_file = out_dir / "customers.json"
        out = run_chatportal(
            env,
            "shell",
            "-c",
            SETUP_SNIPPET.format(
                count=args.customers, department=args.department, output=str(customers_file)
            ),
        )
        made = next(
            (
                json.loads(line[len("PORTAL=") :])
                for line in out.splitlines()
                if line.startswith("PORTAL=")
            ),
            None,
        )
        if made is None:
            raise RuntimeError(f"customer setup printed nothing:\n{out}")
        created_at = json.loads(customers_file.read_text())["created_at"]
        since = (
            datetime.datetime.fromisoformat(created_at) - datetime.timedelta(seconds=1)
        ).isoformat()
        if args.chat_conversations:
            count, max_chats = agents_for(args.chat_conversations)
            agents = create_bench_agents(
                env, count=count, max_chats=max_chats, department=args.department
            )
            (out_dir / "agents.json").write_text(json.dumps(agents))
        setup: dict[str, Any] = {**made, "database_s": round(time.monotonic() - t, 1)}
        print(f"database ready: {made} in {setup['database_s']} s", file=sys.stderr)

        for index in range(args.workers):
            name = f"worker-{chr(ord('a') + index)}"
            worker = DaphneWorker(env, out_dir / f"{name}.log", name=name)
            workers.append(worker)
            worker.start()
        ws_workers = [arg for w in workers for arg in ("--worker", f"ws://{w.host}:{w.port}")]
        http_workers = [arg for w in workers for arg in ("--worker", w.url)]

        sockets_log = out_dir / "sockets.stderr.txt"
        with sockets_log.open("w") as log:
            sockets_proc = subprocess.Popen(
                [
                    sys.executable,
                    str(REPO_ROOT / "bench" / "portal_sockets.py"),
                    *ws_workers,
                    "--customers-file",
                    str(customers_file),
                    "--since",
                    since,
                    "--viewers",
                    str(args.viewers),
                    "--output",
                    str(out_dir / "sockets.json"),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=log,
                text=True,
            )
        setup["sockets"] = json.loads(wait_for_line(sockets_log, "READY ", sockets_proc, 600))
        print(f"sockets ready: {setup['sockets']}", file=sys.stderr)
        # Let the catch-up's tail and the handshakes' logging settle before measuring.
        time.sleep(2.0)
        # What the open sockets cost with no updates at all (heartbeats, session
        # checks, re-joins), to tell the updates' own cost from the idle load.
        idle_before = {w.name: cpu_seconds(w.pid) for w in workers if w.pid}
        t_idle = time.monotonic()
        time.sleep(args.idle_baseline)
        idle_span = time.monotonic() - t_idle
        idle_cpu = {w.name: cpu_seconds(w.pid) - idle_before[w.name] for w in workers if w.pid}

        sampler = ConnectionSampler(pg, db_name, args.max_db_connections)
        sampler.start()
        cpu_before = {w.name: cpu_seconds(w.pid) for w in workers if w.pid}
        busy_before = machine_busy_seconds()
        services_before = service_cpu_seconds(("postgres", "redis-server"))
        pg_before = pg_counters(pg, db_name)
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        load_before = os.getloadavg()
        t_steady = time.monotonic()
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
        if args.chat_conversations:
            chat_load = start_chat_load(args, [f"ws://{w.host}:{w.port}" for w in workers], out_dir)
        # Every socket is open by now (the chats too): growth from here is what
        # the measured phase itself leaves behind.
        rss_before = {w.name: rss_kib(w.pid) for w in workers if w.pid}
        updater_log = out_dir / "updater.stderr.txt"
        with updater_log.open("w") as log:
            updater = subprocess.Popen(
                [
                    sys.executable,
                    str(REPO_ROOT / "bench" / "portal_updater.py"),
                    *http_workers,
                    "--customers-file",
                    str(customers_file),
                    "--rate",
                    str(args.rate),
                    "--duration",
                    str(args.duration),
                    "--threads",
                    str(args.threads),
                    "--seed",
                    "1",
                    "--cooldown",
                    str(args.cooldown),
                    "--via",
                    args.updater,
                    "--output",
                    str(out_dir / "updates.json"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=env if args.updater == "django" else None,
                cwd=REPO_ROOT,
            )
        deadline = time.monotonic() + args.duration + 600
        while updater.poll() is None:
            if sampler.tripped.is_set() or time.monotonic() > deadline:
                updater.kill()
                updater.wait()
                raise RuntimeError(
                    f"stopped: the workers held {sampler.peak} database connections"
                    f" (limit {args.max_db_connections})"
                    if sampler.tripped.is_set()
                    else "updater timed out"
                )
            time.sleep(0.2)
        if updater.returncode != 0:
            raise RuntimeError(
                f"updater exited {updater.returncode}:\n{updater_log.read_text()[-3000:]}"
            )
        time.sleep(args.drain)
        chat_summary = finish_chat_load(chat_load, args) if chat_load is not None else None
        sampler.done.set()
        # Growth over the measured phase (a whole-box run: should stay flat).
        rss_after = {w.name: rss_kib(w.pid) for w in workers if w.pid}
        span = time.monotonic() - t_steady
        worker_cpu = {
            w.name: round(cpu_seconds(w.pid) - cpu_before[w.name], 2) for w in workers if w.pid
        }
        busy = machine_busy_seconds() - busy_before
        services_cpu = round(service_cpu_seconds(("postgres", "redis-server")) - services_before, 2)
        load_after = os.getloadavg()
        children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        updater_cpu = (children_after.ru_utime - children_before.ru_utime) + (
            children_after.ru_stime - children_before.ru_stime
        )

        assert sockets_proc.stdin is not None
        sockets_proc.stdin.write("stop\n")
        sockets_proc.stdin.flush()
        sockets_proc.wait(timeout=120)
        sockets = json.loads((out_dir / "sockets.json").read_text())
        updates = json.loads((out_dir / "updates.json").read_text())
        time.sleep(1.0)  # let the statistics collector catch up
        pg_after = pg_counters(pg, db_name)

        result = match_pushes(updates, sockets)
        committed = max(1, result["counts"]["updates_committed"])
        summary: dict[str, Any] = {
            "config": {
                "customers": args.customers,
                "rate_updates_s": args.rate,
                "duration_s": args.duration,
                "drain_s": args.drain,
                "workers": args.workers,
                "updater_threads": args.threads,
                "cooldown_s": args.cooldown,
                "update": (
                    "PATCH /api/v1/tickets/{number} status open <-> pending (supervisor token)"
                    if args.updater == "api"
                    else "tickets.actions.lifecycle.change_status open <-> pending"
                    " in the updater process"
                ),
            },
            "setup": setup,
            **result,
            "chat_load": chat_summary,
            "postgres_per_update": {
                k: round((pg_after[k] - pg_before.get(k, 0)) / committed, 2) for k in pg_after
            },
            "machine": {
                "cpus": os.cpu_count(),
                "steady_span_s": round(span, 1),
                "cpu_s": {
                    **worker_cpu,
                    "postgres+redis (live processes only)": services_cpu,
                    "updater": round(updater_cpu, 2),
                },
                # Everything the workers do while updates flow: the API requests,
                # the doorbells, the re-reads and renders for the sockets, idle sockets.
                "db_connections_peak": sampler.peak,
                "worker_rss_kib_before_after": {
                    name: [rss_before[name], rss_after[name]] for name in rss_after
                },
                "worker_rss_growth_pct": {
                    name: round(100 * (rss_after[name] / rss_before[name] - 1), 1)
                    for name in rss_after
                },
                "worker_cpu_ms_per_update": round(1000 * sum(worker_cpu.values()) / committed, 2),
                "idle_sockets_cpu_pct_of_one_core": {
                    name: round(100 * v / idle_span, 1) for name, v in idle_cpu.items()
                }
                if idle_span
                else {},
                # The same, less what the open sockets cost anyway over the same span.
                "worker_cpu_ms_per_update_net_of_idle": round(
                    1000
                    * (
                        sum(worker_cpu.values())
                        - sum(idle_cpu.values()) * span / max(idle_span, 1e-9)
                    )
                    / committed,
                    2,
                )
                if idle_span
                else None,
                "steady_cpu_pct_of_one_core": {
                    **{name: round(100 * v / span, 1) for name, v in worker_cpu.items()},
                    "machine_busy": round(100 * busy / span, 1),
                },
                # The machine is shared: other processes' load skews every number here.
                "loadavg_1m_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
                "python": sys.version.split()[0],
            },
        }
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        print(json.dumps(summary, indent=2))
        lat = summary["latency_ms"]["push_from_request_start"]
        counts = summary["counts"]
        print(
            f"push p50={lat['p50']} p90={lat['p90']} p99={lat['p99']} max={lat['max']} ms;"
            f" delivered {counts['delivered']} of {counts['updates_committed']}, missed {counts['missed']},"
            f" wrong-customer {counts['wrong_customer']}, failed {counts['updates_failed']}",
            file=sys.stderr,
        )
        print(f"results in {out_dir}", file=sys.stderr)
        ok = (
            counts["missed"] == 0
            and counts["wrong_customer"] == 0
            and counts["updates_failed"] == 0
        )
        return 0 if ok else 1
    finally:
        if sampler is not None:
            sampler.done.set()
            # Twice a second from the start of the updates (also when a leak stopped the run).
            (out_dir / "db_connections.json").write_text(json.dumps(sampler.samples))
        if profiler is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                profiler.wait(timeout=60)
        for process in (sockets_proc, chat_load):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=30)
        for worker in workers:
            worker.stop()
        redis_ns.delete_keys()
        pg.drop_database(db_name)


if __name__ == "__main__":
    sys.exit(main())
