"""`make bench`: the standard scenarios, Chatportal beside two baselines, on PostgreSQL + Redis.

For each scenario and repeat the targets take turns (chatportal, tutorial,
relay), each on a fresh deployment (a new database cloned from a migrated
template, a new Redis prefix, new processes), each driven by bench/loadgen.py
with the same arguments and seed. Writes bench/results/standard-<stamp>/
(results.json, each run's loadgen JSON and server logs), the latency plot
docs/benchmarks-latency.svg and the section between the standard-bench
markers of docs/benchmarks.md.

    .venv/bin/python bench/standard.py                      # all scenarios, 3 repeats
    .venv/bin/python bench/standard.py --scenario steady --repeats 1 --quick --no-docs

DATABASE_URL and REDIS_URL name the servers (defaults: the local ones); only
databases and key prefixes this run creates are ever dropped.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import math
import os
import platform
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.baselines.servers import RelayServer, TutorialServer  # noqa: E402
from bench.latency_svg import latency_cdf_svg, merge_histograms  # noqa: E402
from bench.run_chat_bench import cpu_seconds, create_bench_agents, loadgen_argv  # noqa: E402
from bench.standard_report import markdown_section, replace_section  # noqa: E402
from tests.live_server import (  # noqa: E402
    DaphneWorker,
    PostgresServer,
    RedisNamespace,
    base_env,
    prepare_database,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
TARGETS = ("chatportal", "tutorial", "relay")
DOCS = REPO_ROOT / "docs" / "benchmarks.md"
PLOT = REPO_ROOT / "docs" / "benchmarks-latency.svg"
P99_BUDGET_MS = 100.0


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    conversations: int
    rates: tuple[float, ...]  # msg/s per side; several = steps, stopped at the p99 budget
    duration_s: float
    processes: int  # chatportal workers and tutorial daphne processes (the relay: always one)
    find_highest_rate: bool = False

    def quick(self) -> Scenario:
        """A smoke-run version: fewer conversations, short steps."""
        return dataclasses.replace(
            self, conversations=min(self.conversations, 50), duration_s=min(self.duration_s, 8)
        )


SCENARIOS = {
    s.name: s
    for s in (
        Scenario(
            "latency",
            "Many quiet conversations: 200 msg/s in all, on one process.",
            500,
            (0.2,),
            60,
            1,
        ),
        Scenario(
            "steady",
            "The issue's original measurement.",
            200,
            (1.0,),
            60,
            1,
        ),
        Scenario(
            "throughput",
            "The rate rises step by step until p99 > 100 ms. The relay stays one process"
            " (it keeps its state in one process's memory).",
            200,
            (1.0, 2.0, 3.0, 4.0),
            20,
            2,
            find_highest_rate=True,
        ),
    )
}


# --------------------------------------------------------------------------
# Deployments


@dataclasses.dataclass
class Deployment:
    urls: list[str]
    pids: list[int]
    agents_file: Path
    stop: Callable[[], None]  # ends the processes, drops the database and Redis keys


def agents_for(conversations: int) -> tuple[int, int]:
    """(agent sockets, max chats per agent), as bench/run_chat_bench.py sizes them."""
    count = max(1, math.ceil(conversations / 10))
    return count, max(3, math.ceil(conversations / count) + 2)


class ChatportalTemplates:
    """Migrated + seeded databases with bench agents, cloned for every run (a fresh copy each)."""

    def __init__(self, pg: PostgresServer, redis_url: str, work_dir: Path) -> None:
        self.pg, self.redis_url, self.work_dir = pg, redis_url, work_dir
        self.made: dict[tuple[int, int], tuple[str, str, list[dict]]] = {}

    def get(self, agents: int, max_chats: int) -> tuple[str, str, list[dict]]:
        """(template database, secret key its tokens are signed with, agents)."""
        key = (agents, max_chats)
        if key not in self.made:
            name = f"chatportal_standardtpl_{uuid.uuid4().hex[:10]}"
            secret = secrets.token_urlsafe(50)
            redis_ns = RedisNamespace(self.redis_url, f"benchtpl{uuid.uuid4().hex[:8]}:")
            env = self._env(self.pg.create_database(name), secret, redis_ns.prefix)
            self.made[key] = (name, secret, [])
            try:
                prepare_database(env)
                tokens = create_bench_agents(
                    env, count=agents, max_chats=max_chats, department="support"
                )
            finally:
                redis_ns.delete_keys()
            self.made[key] = (name, secret, tokens)
        return self.made[key]

    def _env(self, database_url: str, secret: str, prefix: str) -> dict[str, str]:
        env = base_env(self.work_dir / f"data-{uuid.uuid4().hex[:6]}", secret_key=secret)
        env.update(
            DATABASE_URL=database_url,
            REDIS_URL=self.redis_url,
            CHATPORTAL_REDIS_PREFIX=prefix,
            CHATPORTAL_DB_CONN_MAX_AGE="60",
            CHATPORTAL_LOG_LEVEL="WARNING",
        )
        return env

    def drop_all(self) -> None:
        for name, _, _ in self.made.values():
            self.pg.drop_database(name)
        self.made.clear()


def start_chatportal(scenario: Scenario, out_dir: Path, ctx: dict) -> Deployment:
    templates: ChatportalTemplates = ctx["templates"]
    pg: PostgresServer = ctx["pg"]
    template, secret, agents = templates.get(*agents_for(scenario.conversations))
    db_name = f"chatportal_standard_{uuid.uuid4().hex[:10]}"
    redis_ns = RedisNamespace(ctx["redis_url"], f"bench{uuid.uuid4().hex[:8]}:")
    env = templates._env(pg.create_database(db_name, template=template), secret, redis_ns.prefix)
    workers: list[DaphneWorker] = []

    def stop() -> None:
        for worker in workers:
            worker.stop()
        redis_ns.delete_keys()
        pg.drop_database(db_name)

    try:
        for index in range(scenario.processes):
            name = f"worker-{chr(ord('a') + index)}"
            workers.append(DaphneWorker(env, out_dir / f"{name}.log", name=name).start())
    except BaseException:
        stop()
        raise
    agents_file = out_dir / "agents.json"
    agents_file.write_text(json.dumps(agents))
    return Deployment(
        [f"ws://{w.host}:{w.port}" for w in workers],
        [w.pid for w in workers if w.pid],
        agents_file,
        stop,
    )


def baseline_agents(out_dir: Path, conversations: int) -> Path:
    """The baselines take any token; the same number of agent sockets as chatportal gets."""
    count, _ = agents_for(conversations)
    path = out_dir / "agents.json"
    path.write_text(
        json.dumps([{"username": f"bench-agent-{i:03d}", "token": "any"} for i in range(count)])
    )
    return path


def start_tutorial(scenario: Scenario, out_dir: Path, ctx: dict) -> Deployment:
    server = TutorialServer(
        out_dir, ctx["database_url"], ctx["redis_url"], processes=scenario.processes
    ).start()
    return Deployment(
        [p.url for p in server.processes],
        [p.pid for p in server.processes],
        baseline_agents(out_dir, scenario.conversations),
        server.stop,
    )


def start_relay(scenario: Scenario, out_dir: Path, ctx: dict) -> Deployment:
    server = RelayServer(out_dir).start()
    return Deployment(
        [p.url for p in server.processes],
        [p.pid for p in server.processes],
        baseline_agents(out_dir, scenario.conversations),
        server.stop,
    )


STARTERS = {"chatportal": start_chatportal, "tutorial": start_tutorial, "relay": start_relay}


# --------------------------------------------------------------------------
# One run: a deployment driven by loadgen


def drive(
    deployment: Deployment, scenario: Scenario, rate: float, drain: float, out_dir: Path
) -> tuple[dict, float | None]:
    """Run loadgen; return its summary and the servers' CPU seconds during the measured phase."""
    argv = loadgen_argv(
        deployment.urls,
        agents_file=deployment.agents_file,
        conversations=scenario.conversations,
        rate=rate,
        duration=scenario.duration_s,
        drain=drain,
        output=out_dir / "loadgen.json",
    )
    loadgen = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert loadgen.stderr is not None
    stderr, cpu_at_start, cpu = [], None, None
    for line in loadgen.stderr:
        stderr.append(line)
        # Count the measured phase (sends + drain) only, not the connection setup.
        if line.startswith("STEADY "):
            cpu_at_start = sum(cpu_seconds(pid) for pid in deployment.pids)
        elif line.startswith("e2e ") and cpu_at_start is not None:
            cpu = sum(cpu_seconds(pid) for pid in deployment.pids) - cpu_at_start
    loadgen.wait(timeout=60)
    (out_dir / "loadgen.stderr.txt").write_text("".join(stderr))
    summary_path = out_dir / "loadgen.json"
    if loadgen.returncode not in (0, 1) or not summary_path.exists():
        last = next((line.strip() for line in reversed(stderr) if line.strip()), "")
        raise RuntimeError(f"loadgen exited {loadgen.returncode}: {last[:300]}")
    return json.loads(summary_path.read_text()), cpu


def run_record(scenario: Scenario, target: str, repeat: int, rate: float, processes: int) -> dict:
    return {
        "scenario": scenario.name,
        "target": target,
        "repeat": repeat,
        "rate": rate,
        "processes": processes,
        "conversations": scenario.conversations,
        "duration_s": scenario.duration_s,
        "error": None,
    }


def fill_record(record: dict, summary: dict, cpu_s: float | None) -> dict:
    e2e = summary["latency_ms"]["end_to_end_from_schedule"]
    counts = summary["counts"]
    acked = counts["acked"]
    record.update(
        p50_ms=e2e["p50"],
        p90_ms=e2e["p90"],
        p99_ms=e2e["p99"],
        max_ms=e2e["max"],
        target_msg_s=summary["throughput_msg_s"]["target"],
        delivered_msg_s=summary["throughput_msg_s"]["delivered"],
        sent=counts["sent"],
        acked=acked,
        delivered=counts["delivered"],
        lost=counts["lost"],
        unacked=counts["unacked"],
        duplicated=counts["duplicated"],
        out_of_order=counts["out_of_order"],
        errors=counts["errors"],
        worker_cpu_s=None if cpu_s is None else round(cpu_s, 2),
        worker_cpu_ms_per_msg=None
        if cpu_s is None or not acked
        else round(1000 * cpu_s / acked, 3),
        histogram=summary["end_to_end_histogram"],
        # Setup (opening every conversation) and whether the server then answered pings
        # quickly: an unsettled server starts the measurement with a backlog.
        setup_s=summary["setup"].get("seconds"),
        settled=summary["setup"].get("settle", {}).get("settled"),
    )
    return record


def run_one(scenario, target, repeat, rate, drain, run_dir, ctx) -> dict:
    processes = 1 if target == "relay" else scenario.processes
    record = run_record(scenario, target, repeat, rate, processes)
    run_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        deployment = STARTERS[target](scenario, run_dir, ctx)
    except Exception as exc:
        record["error"] = f"start: {exc}"[:2000]
        return record
    try:
        summary, cpu = drive(deployment, scenario, rate, drain, run_dir)
        fill_record(record, summary, cpu)
    except Exception as exc:
        record["error"] = str(exc)[:2000]
    finally:
        deployment.stop()
    record["wall_s"] = round(time.monotonic() - started, 1)
    return record


# --------------------------------------------------------------------------
# Machine, plot, docs


def machine_info() -> dict:
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "ram_gib": round(mem_kib / 2**20, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def code_commit() -> str:
    done = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def plot_panels(results: dict) -> list[tuple[str, dict]]:
    """Per scenario, the highest rate the most targets ran without error; repeats merged."""
    panels = []
    order = {t: i for i, t in enumerate(TARGETS)}
    for scenario in results["scenarios"]:
        ok = [
            r
            for r in results["runs"]
            if r["scenario"] == scenario["name"] and not r["error"] and r.get("histogram")
        ]
        by_rate = {
            rate: {r["target"] for r in ok if r["rate"] == rate} for r in ok for rate in [r["rate"]]
        }
        if not by_rate:
            continue
        rate = max(by_rate, key=lambda rate: (len(by_rate[rate]), rate))
        targets = sorted(by_rate[rate], key=lambda t: (order.get(t, len(order)), t))
        hists = {
            t: merge_histograms(
                [r["histogram"] for r in ok if r["target"] == t and r["rate"] == rate]
            )
            for t in targets
        }
        title = (
            f"{scenario['name']}: {scenario['conversations']} conversations,"
            f" {rate:g} msg/s per side"
        )
        panels.append((title, hists))
    return panels


def write_outputs(results: dict, out_dir: Path, docs: bool) -> None:
    (out_dir / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    section = markdown_section(results)
    (out_dir / "section.md").write_text(section)
    panels = plot_panels(results)
    svg = latency_cdf_svg(panels) if panels else None
    if svg:
        (out_dir / "latency.svg").write_text(svg)
    if docs:
        DOCS.write_text(replace_section(DOCS.read_text(), section))
        if svg:
            PLOT.write_text(svg)


# --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenario", action="append", choices=sorted(SCENARIOS), help="repeatable; default: all"
    )
    parser.add_argument("--target", action="append", choices=TARGETS, help="default: all three")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: ≤ 50 conversations, ≤ 8 s per step"
    )
    parser.add_argument("--drain", type=float, default=10.0, help="loadgen's --drain per run")
    parser.add_argument(
        "--no-docs", action="store_true", help="leave docs/ alone (results dir only)"
    )
    parser.add_argument("--note", default="", help="a line shown at the top of the section")
    parser.add_argument(
        "--render",
        type=Path,
        metavar="RESULTS_DIR",
        help="run nothing: rewrite the docs section and plot from RESULTS_DIR/results.json",
    )
    args = parser.parse_args(argv)
    if args.render:
        try:
            results = json.loads((args.render / "results.json").read_text())
        except (OSError, ValueError) as exc:
            parser.error(f"cannot read {args.render / 'results.json'}: {exc}")
        if args.note:
            results["note"] = args.note
        write_outputs(results, args.render, docs=not args.no_docs)
        return 0
    if not 1 <= args.repeats <= 10:
        parser.error("--repeats must be 1..10")
    if not 1 <= args.drain <= 120:
        parser.error("--drain must be 1..120 s")
    scenarios = [SCENARIOS[name] for name in (args.scenario or SCENARIOS)]
    if args.quick:
        scenarios = [s.quick() for s in scenarios]
    targets = args.target or list(TARGETS)
    note = args.note or (
        "Reduced scale (--quick): at most 50 conversations and 8 s per step; not the standard"
        " figures."
        if args.quick
        else ""
    )

    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = REPO_ROOT / "bench" / "results" / f"standard-{stamp}"
    out_dir.mkdir(parents=True)
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    pg = PostgresServer(database_url)
    pg.check()
    RedisNamespace(redis_url, "").check()
    ctx = {
        "pg": pg,
        "database_url": database_url,
        "redis_url": redis_url,
        "templates": ChatportalTemplates(pg, redis_url, out_dir),
    }
    results = {
        "stamp": out_dir.name,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": code_commit(),
        "machine": machine_info(),
        "repeats": args.repeats,
        "quick": args.quick,
        "note": note,
        "scenarios": [dataclasses.asdict(s) for s in scenarios],
        "runs": [],
    }
    t0 = time.monotonic()
    try:
        for scenario in scenarios:
            for repeat in range(1, args.repeats + 1):
                for target in targets:
                    for rate in scenario.rates:
                        run_dir = out_dir / f"{scenario.name}-r{repeat}-{target}-{rate:g}"
                        record = run_one(scenario, target, repeat, rate, args.drain, run_dir, ctx)
                        results["runs"].append(record)
                        (out_dir / "results.json").write_text(json.dumps(results, indent=1))
                        print(
                            f"[{time.monotonic() - t0:6.0f} s] {scenario.name} #{repeat}"
                            f" {target} {rate:g}/s: p50={record.get('p50_ms')}"
                            f" p99={record.get('p99_ms')} lost={record.get('lost')}"
                            f" cpu/msg={record.get('worker_cpu_ms_per_msg')} ms"
                            + (f" ERROR {record['error'][:200]}" if record["error"] else ""),
                            file=sys.stderr,
                            flush=True,
                        )
                        over = record["error"] or (record.get("p99_ms") or 0) > P99_BUDGET_MS
                        if scenario.find_highest_rate and over:
                            break  # the next step would only be worse
    finally:
        ctx["templates"].drop_all()
    results["wall_s"] = round(time.monotonic() - t0, 1)
    write_outputs(results, out_dir, docs=not args.no_docs)
    print(f"results in {out_dir} ({results['wall_s']:.0f} s)", file=sys.stderr)
    return 0 if all(not r["error"] for r in results["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
