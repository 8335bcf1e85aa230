"""A latency-distribution plot as a standalone SVG, without a plotting library.

One panel per scenario, one line per target: the share of messages delivered
within x milliseconds (log scale), drawn from loadgen's log-spaced histograms
(bench/loadgen.py `end_to_end_histogram`). The y axis stretches the tail
(0, 50, 90, 99, 99.9 % equally spaced from 90 % on) so p99 is as readable as p50.
"""

from __future__ import annotations

import math
from html import escape

COLORS = {"chatportal": "#1f6feb", "tutorial": "#d1242f", "relay": "#57606a"}
FALLBACK_COLORS = ("#8250df", "#1a7f37", "#bf8700")
PANEL_W, PANEL_H = 560, 220
TAIL_DECADES = 3  # the top of the y axis is 99.9 %
Y_TICKS = (0.0, 0.5, 0.9, 0.99, 0.999)
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 56, 130, 34, 40


def merge_histograms(histograms: list[dict]) -> dict:
    """Sum counts of histograms with the same edges (repeats of one target)."""
    if not histograms:
        raise ValueError("no histograms to merge")
    edges = histograms[0]["edges_ms"]
    counts = [0] * (len(edges) - 1)
    for hist in histograms:
        if hist["edges_ms"] != edges:
            raise ValueError("histograms with different bucket edges cannot be merged")
        counts = [a + b for a, b in zip(counts, hist["counts"], strict=True)]
    return {"edges_ms": edges, "counts": counts}


def cdf_points(histogram: dict) -> list[tuple[float, float]]:
    """(upper edge in ms, cumulative share 0..1) for each bucket from the first non-empty one."""
    edges, counts = histogram["edges_ms"], histogram["counts"]
    total = sum(counts)
    if total == 0:
        return []
    points, running = [], 0
    for lower, upper, count in zip(edges, edges[1:], counts, strict=True):
        if not running and count:
            points.append((lower, 0.0))
        running += count
        if running:
            points.append((upper, running / total))
        if running == total:
            break
    return points


def tail_height(share: float) -> float:
    """0..1 on the plot's y axis: -log10(1 - share) over TAIL_DECADES, capped at the top."""
    if share >= 1:
        return 1.0
    return min(1.0, -math.log10(1 - share) / TAIL_DECADES)


def latency_cdf_svg(panels: list[tuple[str, dict[str, dict]]]) -> str:
    """panels: (title, {target: histogram}) each; returns the SVG document as text."""
    if not panels:
        raise ValueError("nothing to plot")
    curves = [(title, {t: cdf_points(h) for t, h in hists.items()}) for title, hists in panels]
    xs = [x for _, by_target in curves for pts in by_target.values() for x, _ in pts]
    if not xs:
        raise ValueError("every histogram is empty")
    lo = 10 ** math.floor(math.log10(min(xs)))
    hi = 10 ** math.ceil(math.log10(max(xs)))
    if hi <= lo:
        hi = lo * 10
    width = MARGIN_L + PANEL_W + MARGIN_R
    height = len(panels) * (MARGIN_T + PANEL_H + MARGIN_B)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
    ]
    for index, (title, by_target) in enumerate(curves):
        top = index * (MARGIN_T + PANEL_H + MARGIN_B) + MARGIN_T
        out += _panel(title, by_target, top, lo, hi)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _panel(title: str, by_target: dict, top: int, lo: float, hi: float) -> list[str]:
    left, bottom = MARGIN_L, top + PANEL_H
    span = math.log10(hi) - math.log10(lo)

    def x_of(ms: float) -> float:
        return left + PANEL_W * (math.log10(max(ms, lo)) - math.log10(lo)) / span

    def y_of(share: float) -> float:
        return bottom - PANEL_H * tail_height(share)

    parts = [
        f'<text x="{left}" y="{top - 10}" font-weight="bold">{escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{PANEL_W}" height="{PANEL_H}"'
        ' fill="none" stroke="#999"/>',
    ]
    decade = lo
    while decade <= hi * 1.0001:
        x = x_of(decade)
        label = f"{decade:g} ms" if decade < 1000 else f"{decade / 1000:g} s"
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="#eee"/>'
            f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">{label}</text>'
        )
        decade *= 10
    for share in Y_TICKS:
        y = y_of(share)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + PANEL_W}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{share * 100:g} %</text>'
        )
    for rank, (target, points) in enumerate(by_target.items()):
        color = COLORS.get(target, FALLBACK_COLORS[rank % len(FALLBACK_COLORS)])
        if points:
            path = " ".join(f"{x_of(x):.1f},{y_of(y):.1f}" for x, y in points)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>'
            )
        y = top + 16 + 18 * rank
        parts.append(
            f'<line x1="{left + PANEL_W + 12}" y1="{y - 4}" x2="{left + PANEL_W + 32}"'
            f' y2="{y - 4}" stroke="{color}" stroke-width="2"/>'
            f'<text x="{left + PANEL_W + 38}" y="{y}">{escape(target)}</text>'
        )
    parts.append(
        f'<text x="{left + PANEL_W / 2}" y="{bottom + 32}" text-anchor="middle" fill="#555">'
        "end-to-end latency from the scheduled send (log scale); y: share delivered within"
        " (the top is 99.9 % and above)</text>"
    )
    return parts
