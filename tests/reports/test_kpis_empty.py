import datetime

import pytest

from reports.kpis import KPI_FIELDS, KpiFilters, compute_kpis, compute_series, drilldown

pytestmark = pytest.mark.django_db


def test_a_period_without_data_gives_zero_counts_and_null_figures():
    figures = compute_kpis(KpiFilters(datetime.date(2026, 3, 1), datetime.date(2026, 3, 31)))
    assert list(figures) == list(KPI_FIELDS)
    assert figures["chats_total"] == 0
    assert figures["tickets_opened"] == 0
    for name in KPI_FIELDS:
        if name not in ("chats_total", "chats_missed", "chats_deflected", "tickets_opened",
                        "tickets_solved"):  # fmt: skip
            assert figures[name] is None, name


def test_the_series_has_one_row_per_local_day():
    series = compute_series(KpiFilters(datetime.date(2026, 3, 1), datetime.date(2026, 3, 3)))
    assert [row["date"] for row in series] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert (
        drilldown(
            KpiFilters(datetime.date(2026, 3, 1), datetime.date(2026, 3, 3)), "chats_missed"
        ).count()
        == 0
    )
