"""The SVG charts: geometry in reports.charts, markup (with its table) from reports/_chart.html."""

from __future__ import annotations

import re

from django.template.loader import render_to_string

from reports import charts


def test_nice_ceiling_rounds_up_to_one_two_two_and_a_half_or_five():
    assert [charts.nice_ceiling(v) for v in (0, 0.7, 1, 3, 7, 21, 240, 1001)] == [
        1.0,
        1.0,
        1.0,
        5.0,
        10.0,
        25.0,
        250.0,
        2000.0,
    ]


def test_bars_scale_from_the_baseline_to_the_nice_top():
    chart = charts.bar_chart("Chats", ["a", "b", "c"], [10, 5, 0])
    baseline = charts.HEIGHT - charts.BOTTOM
    plot = baseline - charts.TOP
    tall, half = chart.bars
    # 10 is the top (nice ceiling of 10), 5 half of it; a zero draws no bar.
    assert (tall.y, tall.height) == (charts.TOP, plot)
    assert half.height == plot / 2 and half.y == baseline - plot / 2
    assert len(chart.bars) == 2
    assert [t.label for t in chart.y_ticks] == ["0", "2.5", "5", "7.5", "10"]


def test_a_missing_value_breaks_the_line_instead_of_dropping_to_zero():
    chart = charts.line_chart("CSAT", ["1", "2", "3", "4"], [4.0, None, 5.0, 3.0])
    assert len(chart.paths) == 2
    assert chart.paths[0].startswith("M") and "L" not in chart.paths[0]
    assert chart.paths[1].count("L") == 1
    assert chart.data[1].display == "—" and chart.data[1].y is None


def test_the_summary_names_the_lowest_and_highest_values():
    chart = charts.line_chart("Waits", ["Mon", "Tue"], [30, 90], fmt=lambda v: f"{v:g} s")
    assert chart.summary == "Waits: 30 s (Mon) – 90 s (Tue)"
    empty = charts.line_chart("Waits", ["Mon"], [None])
    assert empty.summary == "Waits: —" and not empty.has_data


def test_the_markup_is_an_accessible_image_followed_by_its_numbers():
    chart = charts.bar_chart(
        "Chats <b>per</b> day", ["03-01", "03-02"], [3, 7], links=["/x?a=1&b=2", ""]
    )
    html = render_to_string("reports/_chart.html", {"chart": chart})
    assert re.search(
        r'<svg [^>]*role="img"[^>]*aria-label="Chats &lt;b&gt;per&lt;/b&gt; day: 3 \(03-01\) – 7 \(03-02\)"',
        html,
    )
    assert "<b>per</b>" not in html
    assert html.count("<rect ") == 2
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td>(.*?)</td></tr>', html)
    assert rows == [("03-01", '<a href="/x?a=1&amp;b=2">3</a>'), ("03-02", "7")]


def test_a_line_chart_draws_its_path_and_a_dot_per_value():
    chart = charts.line_chart("Median", ["1", "2", "3"], [10, 20, None])
    html = render_to_string("reports/_chart.html", {"chart": chart})
    assert html.count('<path class="rp-line"') == 1
    assert html.count("<circle ") == 2
