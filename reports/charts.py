"""Charts as server-rendered SVG: the geometry here, the markup in `reports/_chart.html`.

No JavaScript and no chart library: a chart is a frozen dataclass of
coordinates in a fixed viewBox (the SVG scales to its box), drawn by an
auto-escaping template that also writes the same numbers as a table (the
accessible form of every chart, and what a screen reader or a test reads).

- `line_chart`: one series over ordered labels (days); a missing value
  (None: no data that day) breaks the line rather than drawing a zero.
- `bar_chart`: one bar per label (counts per day, a histogram's bins).

The y axis starts at zero and ends at a "nice" number (1, 2, 2.5 or 5 times
a power of ten) at or above the largest value, with four gridlines.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

WIDTH = 640
HEIGHT = 240
LEFT = 56  # room for the y labels
RIGHT = 12
TOP = 12
BOTTOM = 36  # room for the x labels
GRIDLINES = 4
MAX_X_LABELS = 8


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Datum:
    """One value: where it is drawn and what the table says about it."""

    label: str
    value: float | None
    display: str
    x: float
    y: float | None
    link: str = ""


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    datum: Datum


@dataclass(frozen=True)
class Chart:
    kind: str  # "line" or "bar"
    title: str
    unit: str
    data: tuple[Datum, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    paths: tuple[str, ...] = ()  # line segments, as SVG path data
    bars: tuple[Bar, ...] = ()
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    baseline: int = HEIGHT - BOTTOM

    @property
    def empty_x(self) -> float:
        return (self.left + self.right_edge) / 2

    @property
    def has_data(self) -> bool:
        return any(datum.value is not None for datum in self.data)

    @property
    def summary(self) -> str:
        """What the chart says, for `aria-label`: its title and range of values."""
        values = [d for d in self.data if d.value is not None]
        if not values:
            return f"{self.title}: —"
        low = min(values, key=lambda d: d.value or 0)
        high = max(values, key=lambda d: d.value or 0)
        return f"{self.title}: {low.display} ({low.label}) – {high.display} ({high.label})"


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^n at or above `value` (1 for nothing)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power + 1e-9:
            return step * power
    return 10 * power  # pragma: no cover (the loop ends at 10)


def _number(value: float) -> str:
    return f"{value:g}" if value < 10_000 else f"{value:,.0f}"


def _y(value: float, top_value: float) -> float:
    plot = HEIGHT - BOTTOM - TOP
    return round(HEIGHT - BOTTOM - plot * (value / top_value), 1)


def _y_ticks(top_value: float, fmt: Callable[[float], str]) -> tuple[Tick, ...]:
    return tuple(
        Tick(_y(top_value * n / GRIDLINES, top_value), fmt(top_value * n / GRIDLINES))
        for n in range(GRIDLINES + 1)
    )


def _x_ticks(data: Sequence[Datum]) -> tuple[Tick, ...]:
    every = max(1, math.ceil(len(data) / MAX_X_LABELS))
    return tuple(Tick(d.x, d.label) for n, d in enumerate(data) if n % every == 0)


def _data(
    labels: Sequence[str],
    values: Sequence[float | None],
    fmt: Callable[[float | None], str],
    links: Sequence[str] | None,
    *,
    centred: bool,
    top_value: float,
) -> list[Datum]:
    count = len(labels)
    plot = WIDTH - LEFT - RIGHT
    step = plot / count if centred else plot / max(1, count - 1)
    data = []
    for n, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = LEFT + step * (n + 0.5) if centred or count == 1 else LEFT + step * n
        data.append(
            Datum(
                label=label,
                value=value,
                display=fmt(value),
                x=round(x, 1),
                y=None if value is None else _y(value, top_value),
                link=links[n] if links else "",
            )
        )
    return data


def _plain(value: float | None) -> str:
    return "—" if value is None else _number(value)


def line_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    unit: str = "",
    fmt: Callable[[float | None], str] = _plain,
    links: Sequence[str] | None = None,
) -> Chart:
    top_value = nice_ceiling(max((v for v in values if v is not None), default=0))
    data = _data(labels, values, fmt, links, centred=False, top_value=top_value)
    paths: list[str] = []
    segment: list[str] = []
    for datum in data:
        if datum.y is None:
            if segment:
                paths.append(" ".join(segment))
            segment = []
            continue
        segment.append(f"{'L' if segment else 'M'}{datum.x} {datum.y}")
    if segment:
        paths.append(" ".join(segment))
    return Chart(
        kind="line",
        title=title,
        unit=unit,
        data=tuple(data),
        y_ticks=_y_ticks(top_value, lambda v: fmt(v) if v else "0"),
        x_ticks=_x_ticks(data),
        paths=tuple(paths),
    )


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    unit: str = "",
    fmt: Callable[[float | None], str] = _plain,
    links: Sequence[str] | None = None,
) -> Chart:
    top_value = nice_ceiling(max((v for v in values if v is not None), default=0))
    data = _data(labels, values, fmt, links, centred=True, top_value=top_value)
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(data))
    width = round(max(1.0, slot * 0.7), 1)
    bars = tuple(
        Bar(
            x=round(d.x - width / 2, 1),
            y=d.y,
            width=width,
            height=round(HEIGHT - BOTTOM - d.y, 1),
            datum=d,
        )
        for d in data
        if d.y is not None and d.value
    )
    return Chart(
        kind="bar",
        title=title,
        unit=unit,
        data=tuple(data),
        y_ticks=_y_ticks(top_value, lambda v: fmt(v) if v else "0"),
        x_ticks=_x_ticks(data),
        bars=bars,
    )
