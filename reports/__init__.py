"""Reports: the KPIs computed from the event logs, their inputs, and the KPI API.

- `kpis.py`: `KpiFilters`, `compute_kpis`, `compute_series`, `drilldown` —
  the computation every report (API, CSV, the console's reports page) uses.
- `clock.py`: business seconds between many moments, fast (prefix sums).
- `models.py`: `SupportExpense`, what support costs per period (admin-entered).
- `api.py`: `GET /api/v1/reports/kpis` (JSON or CSV).

The definitions are in docs/kpis.md.
"""
