"""The capacity targets of issue 17 that the standard set does not cover, measured vs target.

`bench/standard.py` measures the message path beside the two baselines
(latency, steady, throughput). This runs the other targets, one after the
other on the same machine, each through its own script with the issue's
figures, and writes a table of measured vs target to docs/benchmarks.md
(between `<!-- targets:start -->` and `<!-- targets:end -->`):

- `hello`: 2,000 new visitor sockets, 200 hellos in flight, 300 chats
  waiting (bench/hello_rate.py);
- `storm`: a worker holding 5,000 widget sockets (200 of them chatting) is
  killed; every client resumes on the other (bench/reconnect_storm.py);
- `idle`: 10,000 silent widget sockets on one worker, three connect/close
  cycles (bench/idle_sockets.py);
- `fanout`: one customer's ticket watched by 100 portal sockets, changed
  every 2 s, while 100 chats talk at 1 msg/s per side
  (bench/run_portal_bench.py --viewers);
- `wholebox`: 10 minutes of 200 agents, 2,000 chats (0.05 msg/s per side),
  5,000 portal customers with a socket each and a ticket change per second
  (bench/run_portal_bench.py with chat load).

    .venv/bin/python bench/targets.py                   # all, ~35 min
    .venv/bin/python bench/targets.py --target fanout --quick --no-docs

`make bench` runs the standard set and then this. DATABASE_URL and
REDIS_URL name the servers (defaults: the local ones); every script makes
and drops its own database and Redis prefix.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.standard import code_commit, machine_info  # noqa: E402
from bench.standard_report import replace_section  # noqa: E402

DOCS = REPO_ROOT / "docs" / "benchmarks.md"
MARKERS = ("<!-- targets:start -->", "<!-- targets:end -->")
BENCH = REPO_ROOT / "bench"


@dataclasses.dataclass(frozen=True)
class Target:
    name: str
    goal: str
    # (output path, quick) -> the script's argv; the script writes JSON there.
    argv: Callable[[Path, bool], list[str]]
    # The script's JSON -> (what was measured, whether the goal was met).
    verdict: Callable[[dict[str, Any]], tuple[str, bool]]


def _script(name: str, *args: object) -> list[str]:
    return [sys.executable, str(BENCH / name), *map(str, args)]


def _hello(out: Path, quick: bool) -> list[str]:
    sockets = 300 if quick else 2000
    return _script(
        "hello_rate.py", "--sockets", sockets, "--concurrency", 200, "--variants", "new",
        "--queue", 50 if quick else 300, "--output-dir", out.parent / "hello",
    )  # fmt: skip


def _hello_verdict(summary: dict[str, Any]) -> tuple[str, bool]:
    new = summary["new"]
    text = (
        f"{new['welcomed']:,} of {new['sockets']:,} welcomed in {new['wall_s']} s"
        f" ({new['welcomed_per_s']}/s), welcome p99 {new['time_to_welcome_ms']['p99']} ms,"
        f" {new['worker_cpu_ms_per_socket']} ms worker CPU each"
    )
    met = new["welcomed"] == new["sockets"] and new["welcomed_per_s"] >= 300
    return text, met and new["wall_s"] <= 8 * new["sockets"] / 2000


def _storm(out: Path, quick: bool) -> list[str]:
    sockets = 500 if quick else 5000
    return _script(
        "reconnect_storm.py", "--sockets", sockets, "--chatting", 50 if quick else 200,
        "--output", out,
    )  # fmt: skip


def _storm_verdict(report: dict[str, Any]) -> tuple[str, bool]:
    text = (
        f"{report['sockets'] - report['never_resumed']:,} of {report['sockets']:,} resumed,"
        f" the last {report['all_resumed_on_b_s']} s after the kill"
        f" (each client's wait p50 {report['resume_wait_ms']['p50']} ms,"
        f" p99 {report['resume_wait_ms']['p99']} ms); {report['lost']} lost,"
        f" {report['written_twice']} written twice of {report['messages_sent']:,} messages"
    )
    met = (
        report["never_resumed"] == 0
        and report["all_resumed_on_b_s"] <= 15
        and report["lost"] == 0
        and report["written_twice"] == 0
    )
    return text, met


def _idle(out: Path, quick: bool) -> list[str]:
    sockets = 1000 if quick else 10_000
    return _script(
        "idle_sockets.py", "--sockets", sockets, "--cycles", 3, "--idle", 10 if quick else 30,
        "--output", out,
    )  # fmt: skip


def _idle_verdict(report: dict[str, Any]) -> tuple[str, bool]:
    cycles = report["cycles"]
    cpu = max(c["idle_cpu_share_of_a_core"] for c in cycles)
    # "Back": after the third close against after the first, so a leak shows.
    # Against the worker before any socket it is far above: the allocator
    # keeps the peak's memory (reported too).
    growth = report["rss_growth_after_cycles_pct"]
    above_start = 100 * (cycles[-1]["rss_after_close_kib"] / report["rss_before_kib"] - 1)
    opened = min(c["opened"] for c in cycles)
    shares = ", ".join(f"{100 * c['idle_cpu_share_of_a_core']:.1f}" for c in cycles)
    text = (
        f"{opened:,} of {report['sockets']:,} open in every cycle;"
        f" {report['rss_per_socket_kib']} KiB RSS per socket; idle CPU {shares} % of a core;"
        f" RSS after the third close {growth:+.1f} % of after the first"
        f" ({above_start:+.0f} % of the worker before any socket)"
    )
    met = (
        opened == report["sockets"]
        and report["rss_per_socket_kib"] <= 40
        and cpu <= 0.10
        and abs(growth) <= 10
    )
    return text, met


def _portal_args(out: Path, *args: object) -> list[str]:
    return _script("run_portal_bench.py", *args, "--output-dir", out.parent / out.stem)


def _fanout(out: Path, quick: bool) -> list[str]:
    return _portal_args(
        out, "--customers", 1, "--viewers", 100, "--rate", 0.5, "--cooldown", 1,
        "--duration", 20 if quick else 60, "--workers", 2,
        "--chat-conversations", 100, "--chat-rate", 1,
    )  # fmt: skip


def _fanout_verdict(summary: dict[str, Any]) -> tuple[str, bool]:
    counts, chat = summary["counts"], summary["chat_load"]
    push = summary["latency_ms"]["push_from_server_write"]
    text = (
        f"{counts['delivered']:,} of {counts['deliveries_expected']:,} pushes;"
        f" from the change's write p50 {push['p50']} ms, p99 {push['p99']} ms;"
        f" chat meanwhile p99 {chat['latency_ms']['p99']} ms, {chat['counts']['lost']} lost"
    )
    met = counts["missed"] == 0 and push["p99"] <= 60 and chat["counts"]["lost"] == 0
    return text, met


def _wholebox(out: Path, quick: bool) -> list[str]:
    return _portal_args(
        out, "--customers", 500 if quick else 5000, "--rate", 1, "--cooldown", 5,
        "--duration", 30 if quick else 600, "--workers", 2,
        "--chat-conversations", 200 if quick else 2000, "--chat-rate", 0.05,
    )  # fmt: skip


def _wholebox_verdict(summary: dict[str, Any]) -> tuple[str, bool]:
    counts, chat = summary["counts"], summary["chat_load"]
    push = summary["latency_ms"]["push_from_server_write"]
    growth = summary["machine"]["worker_rss_growth_pct"]
    chat_counts = chat["counts"]
    wrong = chat_counts["lost"] + chat_counts["duplicated"] + chat_counts["out_of_order"]
    text = (
        f"chat p50 {chat['latency_ms']['p50']} ms, p99 {chat['latency_ms']['p99']} ms"
        f" ({chat_counts['delivered']:,} delivered; lost/dup/order {chat_counts['lost']}/"
        f"{chat_counts['duplicated']}/{chat_counts['out_of_order']}); portal push p99"
        f" {push['p99']} ms ({counts['missed']} missed); worker RSS growth"
        f" {', '.join(f'{v:+.1f} %' for v in growth.values())}"
    )
    met = (
        chat["latency_ms"]["p99"] <= 60
        and push["p99"] <= 120
        and wrong == 0
        and counts["missed"] == 0
        and all(v < 10 for v in growth.values())
    )
    return text, met


TARGETS = {
    t.name: t
    for t in (
        Target("hello", "one worker welcomes ≥ 300 new visitor sockets/s; 2,000 in ≤ 8 s",
               _hello, _hello_verdict),
        Target("storm", "kill a worker holding 5,000 sockets: all resumed on the other"
               " within 15 s, 0 lost", _storm, _storm_verdict),
        Target("idle", "10,000 widget sockets on one worker: ≤ 40 KiB RSS each, idle CPU"
               " ≤ 10 % of a core, RSS back within 10 % after three cycles",
               _idle, _idle_verdict),
        Target("fanout", "a ticket change to 100 portal viewers under chat load: p99 ≤ 60 ms",
               _fanout, _fanout_verdict),
        Target("wholebox", "10 minutes, 200 agents, 2,000 chats, 5,000 portal viewers: every"
               " p99 within 2× (chat ≤ 60 ms, push ≤ 120 ms), 0 lost, duplicated or out of"
               " order, RSS growth < 10 %", _wholebox, _wholebox_verdict),
    )
}  # fmt: skip


def read_output(target: str, out: Path) -> dict[str, Any]:
    """The script's JSON: a file of its own, or summary.json in its output directory."""
    if target == "hello":
        return json.loads((out.parent / "hello" / "summary.json").read_text())
    if target in ("fanout", "wholebox"):
        return json.loads((out.parent / out.stem / "summary.json").read_text())
    return json.loads(out.read_text())


def run_target(target: Target, out_dir: Path, quick: bool) -> dict[str, Any]:
    out = out_dir / f"{target.name}.json"
    started = time.monotonic()
    log = out_dir / f"{target.name}.log"
    with log.open("w") as stream:
        done = subprocess.run(
            target.argv(out, quick), stdout=subprocess.DEVNULL, stderr=stream, check=False
        )
    record: dict[str, Any] = {
        "target": target.name,
        "goal": target.goal,
        "exit": done.returncode,
        "wall_s": round(time.monotonic() - started, 1),
    }
    record["measured"], record["met"] = judge(target, out_dir)
    return record


def judge(target: Target, out_dir: Path) -> tuple[str, bool]:
    """(measured, met) from what the target's script left in `out_dir`."""
    try:
        return target.verdict(read_output(target.name, out_dir / f"{target.name}.json"))
    except (OSError, KeyError, ValueError, TypeError) as exc:
        log = out_dir / f"{target.name}.log"
        tail = log.read_text()[-400:].strip().replace("\n", " ") if log.exists() else ""
        return f"no result ({type(exc).__name__}): {tail}", False


def markdown_section(records: list[dict[str, Any]], machine: dict, quick: bool) -> str:
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        MARKERS[0],
        "## The capacity targets (`bench/targets.py`, part of `make bench`)",
        "",
        f"Run {when} on commit `{code_commit()}`; machine: {machine['nproc']} CPUs"
        f" ({machine.get('cpu_model', '?')}), {machine.get('ram_gib', '?')} GiB RAM."
        " PostgreSQL, Redis, the workers and the clients share the machine."
        + (" **Quick run (smaller figures): not the targets' sizes.**" if quick else ""),
        "",
        "The baselines of the standard set carry only the message path (no hello, resume,"
        " portal or queue), so these rows have none; the message path's ratios are in the"
        " section above.",
        "",
        "| target | goal | measured | met |",
        "|---|---|---|---|",
    ]
    for r in records:
        lines.append(
            f"| {r['target']} | {r['goal']} | {r['measured']} | {'yes' if r['met'] else 'no'} |"
        )
    lines += [
        "",
        "Rerun: `.venv/bin/python bench/targets.py` (all, about 35 min) or"
        " `--target NAME`; raw results in `bench/results/targets-*/` (not committed).",
        MARKERS[1],
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", action="append", choices=sorted(TARGETS))
    parser.add_argument("--quick", action="store_true", help="smaller figures: a smoke run")
    parser.add_argument("--no-docs", action="store_true", help="leave docs/benchmarks.md alone")
    parser.add_argument("--output-dir", type=Path, default=None)
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="an earlier run's output directory: the targets not run now are judged from it",
    )
    args = parser.parse_args(argv)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = args.output_dir or BENCH / "results" / f"targets-{stamp}"
    out_dir.mkdir(parents=True, exist_ok=True)
    records = []
    for name in args.target or TARGETS:
        record = run_target(TARGETS[name], out_dir, args.quick)
        print(f"[{record['wall_s']:>6} s] {name}: {record['measured']}", file=sys.stderr)
        records.append(record)
    if args.keep is not None:
        # Judged again from their raw output, by this code.
        earlier = {
            r["target"]: r for r in json.loads((args.keep / "results.json").read_text())["records"]
        }
        ran = {r["target"] for r in records}
        for name in (name for name in TARGETS if name in earlier and name not in ran):
            measured, met = judge(TARGETS[name], args.keep)
            records.append({**earlier[name], "measured": measured, "met": met})
        records.sort(key=lambda r: list(TARGETS).index(r["target"]))
    machine = machine_info()
    (out_dir / "results.json").write_text(
        json.dumps({"machine": machine, "records": records}, indent=2) + "\n"
    )
    if not args.no_docs:
        section = markdown_section(records, machine, args.quick)
        DOCS.write_text(replace_section(DOCS.read_text(), section, MARKERS))
    print(f"results in {out_dir}", file=sys.stderr)
    return 0 if all(r["exit"] in (0, 1) for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
