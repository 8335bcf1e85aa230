"""The Markdown section of `make bench` (bench/standard.py), from its results.json.

Pure functions: results in, text out. Each run record is flat (see
bench/standard.py `run_record`): scenario, repeat, target, rate, p50_ms,
p99_ms, max_ms, delivered_msg_s, lost, duplicated, out_of_order,
worker_cpu_ms_per_msg, error. Figures over repeats read "median (min–max)".
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable

START_MARKER = "<!-- standard-bench:start -->"
END_MARKER = "<!-- standard-bench:end -->"
TARGETS = ("chatportal", "tutorial", "relay")
P99_BUDGET_MS = 100.0


def spread(values: Iterable[float | None], digits: int = 1) -> str:
    """ "12.3" for one value, "12.3 (11.0–14.2)" for several: median and min–max; "–" for none."""
    present = [v for v in values if v is not None]
    if not present:
        return "–"
    median = statistics.median(present)
    if len(present) == 1 or min(present) == max(present):
        return f"{median:.{digits}f}"
    return f"{median:.{digits}f} ({min(present):.{digits}f}–{max(present):.{digits}f})"


def cell(text: str, limit: int = 80) -> str:
    """One line of text that cannot break a Markdown table row."""
    flat = " ".join(text.split()).replace("|", "/")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _runs(runs: list[dict], **match) -> list[dict]:
    return [r for r in runs if all(r.get(k) == v for k, v in match.items())]


def ratios(runs: list[dict], scenario: str, rate: float, top: str, bottom: str, key: str):
    """top/bottom of `key` per repeat (targets take turns within a repeat, so pairs are fair)."""
    out = []
    for r in _runs(runs, scenario=scenario, rate=rate, target=top, error=None):
        other = _runs(
            runs, scenario=scenario, rate=rate, target=bottom, repeat=r["repeat"], error=None
        )
        if other and r.get(key) and other[0].get(key):
            out.append(r[key] / other[0][key])
    return out


def highest_rate_within_budget(runs: list[dict], scenario: str, target: str, repeat: int):
    """The highest rate step with p99 ≤ 100 ms and nothing lost, or None."""
    good = [
        r["rate"]
        for r in _runs(runs, scenario=scenario, target=target, repeat=repeat)
        if not r.get("error")
        and r.get("p99_ms") is not None
        and r["p99_ms"] <= P99_BUDGET_MS
        and r.get("lost") == 0
    ]
    return max(good) if good else None


def _target_rows(runs: list[dict], scenario: str, rate: float, targets: list[str]) -> list[str]:
    rows = []
    for target in targets:
        group = _runs(runs, scenario=scenario, rate=rate, target=target)
        if not group:
            continue
        failed = [r["error"] for r in group if r.get("error")]
        ok = [r for r in group if not r.get("error")]
        rows.append(
            "| "
            + " | ".join(
                [
                    target,
                    str(group[0].get("processes", "?")),
                    spread(r.get("p50_ms") for r in ok),
                    spread(r.get("p99_ms") for r in ok),
                    spread(r.get("max_ms") for r in ok),
                    spread((r.get("delivered_msg_s") for r in ok), 0),
                    "/".join(
                        str(sum(r.get(k) or 0 for r in ok))
                        for k in ("lost", "duplicated", "out_of_order")
                    )
                    if ok
                    else "–",
                    spread((r.get("worker_cpu_ms_per_msg") for r in ok), 2),
                    f"{len(group) - len(failed)}/{len(group)}"
                    + (f" ({cell(failed[0])})" if failed else "")
                    + (
                        f", {unsettled} not settled"
                        if (unsettled := sum(r.get("settled") is False for r in ok))
                        else ""
                    ),
                ]
            )
            + " |"
        )
    return rows


def _ratio_line(runs: list[dict], scenario: str, rate: float) -> str:
    parts = []
    for bottom in ("tutorial", "relay"):
        p50 = ratios(runs, scenario, rate, "chatportal", bottom, "p50_ms")
        p99 = ratios(runs, scenario, rate, "chatportal", bottom, "p99_ms")
        if p50 or p99:
            parts.append(f"chatportal/{bottom}: p50 × {spread(p50, 2)}, p99 × {spread(p99, 2)}")
    return "Ratios (per repeat, median (min–max)): " + "; ".join(parts) + "." if parts else ""


TABLE_HEAD = [
    "| target | processes | p50 ms | p99 ms | max ms | delivered msg/s | lost/dup/order"
    " | worker CPU ms/msg | runs ok |",
    "|---|---:|---:|---:|---:|---:|---|---:|---|",
]


def markdown_section(results: dict) -> str:
    """The whole section between the markers (markers included)."""
    machine, runs = results["machine"], results["runs"]
    targets = [t for t in TARGETS if any(r["target"] == t for r in runs)]
    targets += sorted({r["target"] for r in runs} - set(targets))
    lines = [
        START_MARKER,
        "## The standard set beside two baselines (`make bench`)",
        "",
    ]
    if results.get("note"):
        lines += [f"**{results['note']}**", ""]
    lines += [
        f"Run {results['date']} on commit `{results['commit']}`, {results['repeats']} repeat(s);"
        f" machine: {machine['nproc']} CPUs ({machine['cpu_model']}), {machine['ram_gib']} GiB RAM,"
        f" Linux {machine['kernel']}. PostgreSQL + Redis on the same machine; the load"
        " generator (bench/loadgen.py, same arguments and seed for every target) too.",
        "",
        "Targets take turns within each repeat, each on a fresh deployment (new database,"
        " Redis prefix, processes): **chatportal** (daphne workers), **tutorial** (the"
        " Channels tutorial's way: one ORM insert per message, then `group_send` through"
        " channels-redis; bench/baselines/tutorial/), **relay** (bare `websockets`, in"
        " memory, always one process: the floor; bench/baselines/relay.py). The baselines"
        " carry only the message path: any token is welcome, routing is round robin over the"
        " agent sockets (the tutorial keeps them in a Redis list), and there is no history,"
        " resume or queue. Latency is end"
        " to end from the scheduled send to the other side's receipt; worker CPU is the"
        ' server processes\' CPU during the measured phase per acked message. "Not settled":'
        " after opening the conversations the server still answered pings slower than 150 ms"
        " when loadgen gave up waiting (180 s), so the measurement started on a backlog.",
        "",
    ]
    for scenario in results["scenarios"]:
        name = scenario["name"]
        rates = ", ".join(f"{r:g}" for r in scenario["rates"])
        lines += [
            f"### {name}",
            "",
            f"{scenario['conversations']} conversations, {rates} msg/s per side,"
            f" {scenario['duration_s']:g} s per run, {scenario['processes']} server process(es)"
            f" per target (the relay: 1). {scenario['description']}",
            "",
        ]
        rates = sorted({r["rate"] for r in _runs(runs, scenario=name)})
        for rate in rates:
            if len(rates) > 1:
                lines += [f"{rate:g} msg/s per side:", ""]
            lines += TABLE_HEAD + _target_rows(runs, name, rate, targets) + [""]
            ratio = _ratio_line(runs, name, rate)
            if ratio:
                lines += [ratio, ""]
        if scenario.get("find_highest_rate"):
            repeats = sorted({r["repeat"] for r in _runs(runs, scenario=name)})
            best = []
            for target in targets:
                found = [highest_rate_within_budget(runs, name, target, n) for n in repeats]
                shown = ", ".join("none" if f is None else f"{f:g}" for f in found)
                best.append(f"{target} {shown}")
            lines += [
                "Highest rate step (msg/s per side) with p99 ≤ 100 ms and nothing lost,"
                " per repeat: " + "; ".join(best) + ".",
                "",
            ]
    lines += [
        "![End-to-end latency CDF per target](benchmarks-latency.svg)",
        "",
        f"Raw results: `bench/results/{results['stamp']}/results.json` (not committed)."
        + (f" The run took {results['wall_s'] / 60:.0f} min." if results.get("wall_s") else "")
        + " Rerun: `make bench` (all scenarios, three repeats), or e.g."
        " `.venv/bin/python bench/standard.py --scenario steady --repeats 1`.",
        END_MARKER,
    ]
    return "\n".join(lines) + "\n"


def replace_section(
    document: str, section: str, markers: tuple[str, str] = (START_MARKER, END_MARKER)
) -> str:
    """Put `section` between the markers, replacing what was there; append it when absent."""
    start_marker, end_marker = markers
    start, end = document.find(start_marker), document.find(end_marker)
    if start == -1 and end == -1:
        return document.rstrip("\n") + "\n\n" + section
    if start == -1 or end == -1 or end < start:
        raise ValueError(f"docs/benchmarks.md has a broken {start_marker} marker pair")
    tail = document[end + len(end_marker) :].lstrip("\n")
    return document[:start] + section + ("\n" + tail if tail else "")
