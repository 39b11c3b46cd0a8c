"""Materialized views: refresh, freshness and summary facts (plain Python over sql/051)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

HOURLY = "wfm.mv_hourly_stats"
DAILY = "wfm.mv_daily_service_stats"
VIEWS = (HOURLY, DAILY)

# The column holding each view's time axis, for "newest data in the view".
_TIME_COLUMN = {HOURLY: "hour_start", DAILY: "stat_date"}


@dataclass(frozen=True)
class RefreshResult:
    view: str
    duration_ms: float
    row_count: int
    concurrently: bool


@dataclass(frozen=True)
class Freshness:
    view: str
    populated: bool
    last_refreshed_at: datetime | None
    last_duration_ms: float | None
    row_count: int | None
    age: timedelta | None


@dataclass(frozen=True)
class ViewFacts:
    view: str
    services: int
    first: object      # datetime (hourly) or date (daily); None when empty
    last: object
    newest_source_row_loaded_at: datetime | None


def refresh(conn: psycopg.Connection, view: str, *, concurrently: bool = True) -> RefreshResult:
    """Refresh one view (CONCURRENTLY once populated) and log it; the caller commits."""
    if view not in VIEWS:
        raise ValueError(f"unknown materialized view {view!r} (known: {', '.join(VIEWS)})")
    name, ms, rows, conc = conn.execute(
        "SELECT * FROM wfm.refresh_view(%s::regclass, %s)", (view, concurrently)).fetchone()
    return RefreshResult(name, float(ms), int(rows), bool(conc))


def refresh_all(conn: psycopg.Connection) -> list[RefreshResult]:
    """api_refresh_all_views(): every view, in order; the caller commits."""
    return [RefreshResult(v, float(ms), int(n), bool(c))
            for v, ms, n, c in conn.execute("SELECT * FROM wfm.api_refresh_all_views()")]


def freshness(conn: psycopg.Connection) -> list[Freshness]:
    rows = conn.execute(
        "SELECT view_name, populated, last_refreshed_at, last_duration_ms, row_count, age "
        "FROM wfm.view_freshness ORDER BY view_name").fetchall()
    return [Freshness(v, p, t, None if d is None else float(d), n, a) for v, p, t, d, n, a in rows]


def facts(conn: psycopg.Connection, view: str) -> ViewFacts:
    """Services, time span and newest source load time of a populated view (its row count
    comes with the refresh: RefreshResult.row_count)."""
    if view not in VIEWS:
        raise ValueError(f"unknown materialized view {view!r}")
    column = _TIME_COLUMN[view]
    where = " WHERE group_id IS NULL" if view == DAILY else ""
    # Identifiers come from the fixed tables above, never from input.
    services, first, last, loaded = conn.execute(
        f"SELECT count(DISTINCT service_id), min({column}), max({column}), max(last_loaded_at) "
        f"FROM {view}{where}").fetchone()
    return ViewFacts(view, int(services), first, last, loaded)
