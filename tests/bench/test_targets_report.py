"""bench/targets.py's pure parts: each target's verdict and its section of docs/benchmarks.md."""

from __future__ import annotations

from bench import targets
from bench.standard_report import END_MARKER, START_MARKER, replace_section


def hello(welcomed=2000, wall_s=6.5):
    return {
        "new": {
            "sockets": 2000,
            "welcomed": welcomed,
            "wall_s": wall_s,
            "welcomed_per_s": round(welcomed / wall_s, 1),
            "time_to_welcome_ms": {"p50": 900.0, "p99": 1500.0},
            "worker_cpu_ms_per_socket": 3.1,
        }
    }


def test_the_hello_target_needs_every_socket_welcomed_fast_enough():
    text, met = targets._hello_verdict(hello())
    assert met and "2,000 of 2,000 welcomed in 6.5 s (307.7/s)" in text
    assert not targets._hello_verdict(hello(wall_s=37.6))[1]
    assert not targets._hello_verdict(hello(welcomed=1990, wall_s=6.0))[1]


def wholebox(chat_p99=45.0, push_p99=80.0, lost=0, growth=(2.0, 3.5), missed=0):
    return {
        "counts": {"missed": missed, "delivered": 600, "deliveries_expected": 600},
        "latency_ms": {"push_from_server_write": {"p50": 20.0, "p99": push_p99}},
        "chat_load": {
            "latency_ms": {"p50": 8.0, "p99": chat_p99},
            "counts": {"lost": lost, "duplicated": 0, "out_of_order": 0, "delivered": 240_000},
        },
        "machine": {"worker_rss_growth_pct": {f"worker-{i}": g for i, g in enumerate(growth)}},
    }


def test_the_whole_box_holds_every_p99_within_twice_and_loses_nothing():
    text, met = targets._wholebox_verdict(wholebox())
    assert met and "lost/dup/order 0/0/0" in text and "+3.5 %" in text
    assert not targets._wholebox_verdict(wholebox(chat_p99=61))[1]
    assert not targets._wholebox_verdict(wholebox(push_p99=121))[1]
    assert not targets._wholebox_verdict(wholebox(lost=1))[1]
    assert not targets._wholebox_verdict(wholebox(growth=(2.0, 10.0)))[1]
    assert not targets._wholebox_verdict(wholebox(missed=1))[1]


def test_the_idle_target_reads_memory_cpu_and_what_came_back():
    report = {
        "sockets": 10_000,
        "rss_before_kib": 100_000,
        "rss_per_socket_kib": 40.4,
        "rss_growth_after_cycles_pct": 0.4,
        "cycles": [
            {"opened": 10_000, "idle_cpu_share_of_a_core": 0.043, "rss_after_close_kib": 101_000}
        ]
        * 3,
    }
    text, met = targets._idle_verdict(report)
    assert not met  # 40.4 KiB > 40
    assert "idle CPU 4.3, 4.3, 4.3 % of a core" in text
    assert "+0.4 % of after the first (+1 % of the worker before any socket)" in text
    report["rss_per_socket_kib"] = 39.9
    assert targets._idle_verdict(report)[1]


def test_the_section_goes_between_its_own_markers_and_leaves_the_standard_one_alone(
    monkeypatch,
):
    monkeypatch.setattr(targets, "code_commit", lambda: "abc1234")  # no git child process
    records = [
        {"target": "hello", "goal": "g", "measured": "m", "met": False, "exit": 0},
    ]
    machine = {"nproc": 2, "cpu_model": "x", "ram_gib": 23.5}
    section = targets.markdown_section(records, machine, quick=True)
    assert section.startswith(targets.MARKERS[0]) and section.rstrip().endswith(targets.MARKERS[1])
    assert "| hello | g | m | no |" in section and "Quick run" in section
    standard = f"{START_MARKER}\nstandard\n{END_MARKER}\n"
    once = replace_section("# Benchmarks\n\n" + standard, section, targets.MARKERS)
    twice = replace_section(once, section.replace("| no |", "| yes |"), targets.MARKERS)
    assert standard in twice and twice.count(targets.MARKERS[0]) == 1
    assert "| hello | g | m | yes |" in twice
