"""The pure parts of `make bench`: loadgen's histogram, the SVG plot, the Markdown section, frames."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from bench import loadgen
from bench.baselines import frames
from bench.latency_svg import cdf_points, latency_cdf_svg, merge_histograms, tail_height
from bench.standard_report import (
    END_MARKER,
    START_MARKER,
    highest_rate_within_budget,
    markdown_section,
    ratios,
    replace_section,
    spread,
)

SVG = "{http://www.w3.org/2000/svg}"


def test_the_histogram_puts_each_latency_in_its_log_spaced_bucket():
    hist = loadgen.histogram_ms([0.0, 0.00005, 0.0105, 0.0105, 0.25, 1e6])
    edges, counts = hist["edges_ms"], hist["counts"]
    assert len(edges) == len(counts) + 1 == 121
    assert edges[0] == 0.1 and edges[20] == 1.0 and edges[-1] == 100_000
    assert sum(counts) == 6
    assert counts[0] == 2  # at or under the floor
    ten_ms = edges.index(10.0)
    assert counts[ten_ms] == 2  # 10.5 ms: in [10, 11.22)
    assert counts[edges.index(1000.0) - 13] == 1  # 250 ms: in [223.9, 251.2)
    assert counts[-1] == 1  # beyond 100 s: clamped into the last bucket


def test_the_cdf_climbs_from_the_first_filled_bucket_to_one():
    hist = {"edges_ms": [1, 2, 4, 8, 16], "counts": [0, 3, 1, 0]}
    assert cdf_points(hist) == [(2, 0.0), (4, 0.75), (8, 1.0)]
    assert cdf_points({"edges_ms": [1, 2], "counts": [0]}) == []


def test_the_tail_axis_spaces_50_90_99_and_999_percent():
    assert tail_height(0) == 0
    assert tail_height(0.9) == pytest.approx(1 / 3)
    assert tail_height(0.99) == pytest.approx(2 / 3)
    assert tail_height(0.9999) == tail_height(1) == 1


def test_histograms_merge_only_with_the_same_edges():
    a = {"edges_ms": [1, 2, 4], "counts": [1, 2]}
    assert merge_histograms([a, a])["counts"] == [2, 4]
    with pytest.raises(ValueError, match="different bucket edges"):
        merge_histograms([a, {"edges_ms": [1, 3, 4], "counts": [1, 2]}])


def test_the_svg_has_a_panel_per_scenario_and_a_line_per_target():
    hist = loadgen.histogram_ms([0.002, 0.004, 0.010, 0.050])
    floor = loadgen.histogram_ms([0.0005, 0.001])
    svg = latency_cdf_svg(
        [
            ("steady: 200 conversations", {"chatportal": hist, "relay": floor}),
            ("latency & more", {"chatportal": hist, "tutorial": hist, "relay": floor}),
        ]
    )
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert len(root.findall(f"{SVG}polyline")) == 5
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "steady: 200 conversations" in texts and "latency & more" in texts
    assert {"chatportal", "tutorial", "relay"} <= set(texts)
    assert "0.1 ms" in texts and "100 ms" in texts  # decades around 0.5 ms .. 50 ms
    with pytest.raises(ValueError, match="nothing to plot"):
        latency_cdf_svg([])


def test_spread_shows_the_median_and_the_range_over_repeats():
    assert spread([12.0]) == "12.0"
    assert spread([14.2, 11.0, 12.3]) == "12.3 (11.0–14.2)"
    assert spread([None, None]) == "–"
    assert spread([2, 2], 2) == "2.00"


def run(target, repeat, rate=1.0, **fields):
    record = {
        "scenario": "steady",
        "target": target,
        "repeat": repeat,
        "rate": rate,
        "processes": 1,
        "p50_ms": 10.0,
        "p99_ms": 50.0,
        "max_ms": 80.0,
        "delivered_msg_s": 400.0,
        "lost": 0,
        "duplicated": 0,
        "out_of_order": 0,
        "worker_cpu_ms_per_msg": 2.0,
        "error": None,
    }
    record.update(fields)
    return record


def test_ratios_pair_targets_within_the_same_repeat():
    runs = [
        run("chatportal", 1, p50_ms=10.0),
        run("tutorial", 1, p50_ms=20.0),
        run("chatportal", 2, p50_ms=30.0),
        run("tutorial", 2, p50_ms=20.0),
        run("tutorial", 3, p50_ms=5.0),  # no chatportal run to pair with
    ]
    assert ratios(runs, "steady", 1.0, "chatportal", "tutorial", "p50_ms") == [0.5, 1.5]


def test_the_highest_rate_needs_p99_within_budget_and_nothing_lost():
    runs = [
        run("tutorial", 1, 1.0, p99_ms=20.0),
        run("tutorial", 1, 2.0, p99_ms=90.0, lost=3),
        run("tutorial", 1, 3.0, p99_ms=150.0),
        run("relay", 1, 4.0, p99_ms=100.0),
        run("chatportal", 1, 1.0, p99_ms=101.0),
    ]
    assert highest_rate_within_budget(runs, "steady", "tutorial", 1) == 1.0
    assert highest_rate_within_budget(runs, "steady", "relay", 1) == 4.0
    assert highest_rate_within_budget(runs, "steady", "chatportal", 1) is None


def results(runs, **extra):
    return {
        "stamp": "standard-20260101T000000Z",
        "date": "2026-01-01 00:00 UTC",
        "commit": "abc1234",
        "machine": {"nproc": 2, "cpu_model": "Test CPU", "ram_gib": 4.0, "kernel": "6.1"},
        "repeats": 2,
        "note": "",
        "scenarios": [
            {
                "name": "steady",
                "description": "The issue's measurement.",
                "conversations": 200,
                "rates": [1.0],
                "duration_s": 60,
                "processes": 1,
                "find_highest_rate": False,
            }
        ],
        "runs": runs,
        **extra,
    }


def test_the_section_has_the_machine_a_row_per_target_and_the_ratios():
    runs = [
        run("chatportal", 1, p50_ms=10.0, p99_ms=40.0),
        run("tutorial", 1, p50_ms=20.0, p99_ms=80.0, lost=2),
        run("relay", 1, p50_ms=2.0, p99_ms=4.0),
        run("chatportal", 2, p50_ms=12.0, p99_ms=60.0),
        run("tutorial", 2, p50_ms=20.0, p99_ms=60.0, out_of_order=1, settled=False),
        run("relay", 2, error="loadgen exited 2:\n  no | port"),
    ]
    text = markdown_section(results(runs, note="Reduced scale"))
    assert text.startswith(START_MARKER) and text.rstrip().endswith(END_MARKER)
    assert "**Reduced scale**" in text
    assert "2 CPUs (Test CPU), 4.0 GiB RAM, Linux 6.1" in text and "`abc1234`" in text
    assert "| chatportal | 1 | 11.0 (10.0–12.0) | 50.0 (40.0–60.0) |" in text
    assert (
        "| tutorial | 1 | 20.0 | 70.0 (60.0–80.0) | 80.0 | 400 | 2/0/1 | 2.00 | 2/2, 1 not settled |"
        in text
    )
    assert (
        "| relay | 1 | 2.0 | 4.0 | 80.0 | 400 | 0/0/0 | 2.00 | 1/2 (loadgen exited 2: no / port) |"
        in text
    )
    assert "chatportal/tutorial: p50 × 0.55 (0.50–0.60), p99 × 0.75 (0.50–1.00)" in text
    assert "chatportal/relay: p50 × 5.00, p99 × 10.00" in text
    assert "benchmarks-latency.svg" in text


def test_the_section_replaces_the_old_one_or_is_appended():
    section = f"{START_MARKER}\nnew\n{END_MARKER}\n"
    doc = f"# Benchmarks\n\nintro\n\n{START_MARKER}\nold\n{END_MARKER}\n\n## After\n"
    assert replace_section(doc, section) == (
        f"# Benchmarks\n\nintro\n\n{START_MARKER}\nnew\n{END_MARKER}\n\n## After\n"
    )
    assert replace_section("# Benchmarks\n", section) == f"# Benchmarks\n\n{section}"
    with pytest.raises(ValueError, match="broken"):
        replace_section(f"{END_MARKER}\n{START_MARKER}\n", section)


def test_a_frame_the_baselines_do_not_understand_gets_a_clear_error():
    with pytest.raises(frames.FrameError, match="not JSON"):
        frames.parse("{")
    with pytest.raises(frames.FrameError, match="client_id"):
        frames.message_fields({"type": "message", "body": "hi"}, frames.VISITOR)
    with pytest.raises(frames.FrameError, match="names its conversation"):
        frames.message_fields({"type": "message", "client_id": "c", "body": "hi"}, frames.AGENT)
    fields = {"type": "message", "client_id": "c", "body": "hi", "conversation": "x"}
    assert frames.message_fields(fields, frames.VISITOR) == ("c", "hi", None)


def test_the_plot_shows_per_scenario_the_highest_rate_most_targets_ran():
    from bench.standard import plot_panels

    hist = loadgen.histogram_ms([0.01, 0.02])
    runs = [
        run("chatportal", 1, 1.0, histogram=hist),
        run("chatportal", 2, 1.0, histogram=hist),
        run("tutorial", 1, 1.0, histogram=hist),
        run("relay", 1, 1.0, histogram=hist),
        run("relay", 1, 2.0, histogram=hist),
        run("tutorial", 1, 2.0, histogram=hist, error="loadgen exited 2: boom"),
    ]
    [(title, hists)] = plot_panels(results(runs))
    assert title == "steady: 200 conversations, 1 msg/s per side"
    assert list(hists) == ["chatportal", "tutorial", "relay"]
    assert sum(hists["chatportal"]["counts"]) == 4  # both repeats merged
