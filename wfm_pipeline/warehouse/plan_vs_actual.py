"""Plan versus actual for one service and local day (plain Python over ``wfm.api_get_plan_vs_actual``).

``day_report(conn, service_code, day)`` returns the day's 15-minute rows (forecast vs actual
calls, required vs staffed and available agents, target / actual / predicted service level) and
a summary; ``format_table`` renders them for a terminal. The SQL function does the work; this
module only turns a local calendar day of the service into its UTC range (23, 24 or 25 hours).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from wfm_pipeline.db import catalog

COLUMNS = ("interval_start", "interval_end", "local_start", "forecast_calls", "actual_calls", "forecast_aht",
           "actual_aht", "required_agents", "scheduled_agents", "staffed_agents", "available_agents", "staffing_gap",
           "understaffed_intervals", "service_level_target", "service_level_actual", "service_level_predicted",
           "predicted_model", "occupancy", "shrinkage")


@dataclass
class DayReport:
    """One service's local day: rows of ``wfm.api_get_plan_vs_actual`` and their summary."""

    service: str
    day: dt.date
    time_zone: str
    rows: list[dict[str, Any]]
    summary: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"service": self.service, "date": self.day.isoformat(), "time_zone": self.time_zone,
                "summary": _jsonable(self.summary), "intervals": [_jsonable(r) for r in self.rows]}


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in row.items():
        if isinstance(value, Decimal):
            value = float(value)
        elif isinstance(value, (dt.datetime, dt.date)):
            value = value.isoformat()
        out[key] = value
    return out


def local_day_range(day: dt.date, time_zone: str) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants of local midnight on ``day`` and on the day after."""
    zone = ZoneInfo(time_zone)
    start = dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.timezone.utc)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone).astimezone(dt.timezone.utc)
    return start, end


def day_report(conn: psycopg.Connection, service_code: str, day: dt.date, *, interval_minutes: int = 15) -> DayReport:
    """The service's local ``day`` in ``interval_minutes`` buckets, and the day as one bucket
    (the summary). Raises ``catalog.UnknownServiceError``."""
    service = catalog.get_service(conn, service_code)
    start, end = local_day_range(day, service.time_zone)
    cur = conn.execute("SELECT * FROM wfm.api_get_plan_vs_actual(%s, %s, %s, %s)",
                       (service.service_id, start, end, interval_minutes))
    names = [d.name for d in cur.description]
    rows = [dict(zip(names, r)) for r in cur.fetchall()]
    cur = conn.execute("SELECT * FROM wfm.api_get_plan_vs_actual(%s, %s, %s, 1440)", (service.service_id, start, end))
    summary = dict(zip([d.name for d in cur.description], cur.fetchone() or ()))
    return DayReport(service.code, day, service.time_zone, rows, summary)


def _fmt(value: Any, digits: int = 1, pct: bool = False) -> str:
    if value is None:
        return "-"
    if pct:
        return f"{float(value) * 100:.{digits}f}%"
    if isinstance(value, (Decimal, float)):
        return f"{float(value):.{digits}f}"
    return str(value)


def format_table(report: DayReport) -> str:
    """The day as a table: one line per interval with calls or agents, then the day's totals."""
    head = (f"{'local':>5} {'calls fc':>8} {'actual':>6} {'AHT fc':>6} {'actual':>6} {'req':>5} {'sched':>5} "
            f"{'staffed':>7} {'avail':>5} {'gap':>6} {'SL tgt':>6} {'actual':>6} {'pred':>6} {'occ':>6}  flag")
    lines = [f"plan vs actual: service {report.service}, {report.day:%Y-%m-%d} ({report.time_zone})", head]
    for r in report.rows:
        if not any(r[k] for k in ("forecast_calls", "actual_calls", "staffed_agents", "required_agents")):
            continue
        flag = "UNDERSTAFFED" if r["understaffed_intervals"] else ""
        lines.append(
            f"{r['local_start']:%H:%M} {_fmt(r['forecast_calls']):>8} {_fmt(r['actual_calls']):>6} "
            f"{_fmt(r['forecast_aht'], 0):>6} {_fmt(r['actual_aht'], 0):>6} {_fmt(r['required_agents']):>5} "
            f"{_fmt(r['scheduled_agents']):>5} {_fmt(r['staffed_agents']):>7} {_fmt(r['available_agents']):>5} "
            f"{_fmt(r['staffing_gap']):>6} {_fmt(r['service_level_target'], 0, True):>6} "
            f"{_fmt(r['service_level_actual'], 1, True):>6} {_fmt(r['service_level_predicted'], 1, True):>6} "
            f"{_fmt(r['occupancy'], 1, True):>6}  {flag}")
    s = report.summary
    if s:
        lines.append(
            f"day: calls {_fmt(s['forecast_calls'])} forecast / {_fmt(s['actual_calls'])} actual; "
            f"agents {_fmt(s['required_agents'], 2)} required / {_fmt(s['staffed_agents'], 2)} staffed / "
            f"{_fmt(s['available_agents'], 2)} available on average; service level "
            f"{_fmt(s['service_level_actual'], 1, True)} actual, {_fmt(s['service_level_predicted'], 1, True)} "
            f"predicted ({s['predicted_model']}), target {_fmt(s['service_level_target'], 0, True)}; "
            f"{s['understaffed_intervals']} intervals understaffed")
    return "\n".join(lines)


def understaffed(report: DayReport) -> list[dict[str, Any]]:
    """The intervals of the day whose available agents fall short of the required by more than
    the service's tolerance (the rows with ``understaffed_intervals``, 15-minute reports)."""
    return [r for r in report.rows if r["understaffed_intervals"]]


def plan_png(report: DayReport) -> bytes:
    """Two panels over the local day: forecast vs actual calls; required vs staffed and available agents."""
    import io

    import matplotlib

    matplotlib.use("Agg")   # no display: render to memory
    import matplotlib.pyplot as plt

    x = [r["local_start"] for r in report.rows]

    def series(key: str) -> list[float]:
        return [float(r[key]) if r[key] is not None else float("nan") for r in report.rows]

    fig, (calls, agents) = plt.subplots(2, 1, figsize=(10, 5), dpi=80, sharex=True)
    calls.plot(x, series("forecast_calls"), color="#d62728", lw=0.9, label="forecast calls")
    calls.plot(x, series("actual_calls"), color="#444444", lw=0.9, label="actual calls")
    calls.set_ylabel("calls / interval")
    calls.legend(loc="upper left", fontsize=8)
    calls.grid(alpha=0.3)
    agents.step(x, series("required_agents"), where="post", color="#d62728", lw=0.9, label="required")
    agents.step(x, series("staffed_agents"), where="post", color="#1f77b4", lw=0.9, label="staffed")
    agents.step(x, series("available_agents"), where="post", color="#2ca02c", lw=0.9, label="available")
    agents.set_ylabel("agents")
    agents.legend(loc="upper left", fontsize=8)
    agents.grid(alpha=0.3)
    calls.set_title(f"{report.service} {report.day:%Y-%m-%d}: plan vs actual", fontsize=10)
    fig.autofmt_xdate()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()
