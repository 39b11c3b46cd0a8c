"""The aggregates behind the reader views: refresh, freshness and summary facts.

Since sql/200 ``wfm.mv_hourly_stats`` and ``wfm.mv_daily_service_stats`` are plain views that are
always current (materialized rows up to a watermark plus raw rows for the rest); a refresh
(``wfm.refresh_aggregates``) recomputes only what the change log lists and moves the watermark.
Plain Python over the SQL functions; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

HOURLY = "wfm.mv_hourly_stats"
DAILY = "wfm.mv_daily_service_stats"
VIEWS = (HOURLY, DAILY)

# The table holding each view's materialized part and its time axis.
_TABLE = {HOURLY: "wfm.agg_hourly_stats", DAILY: "wfm.agg_daily_service_stats"}
_TIME_COLUMN = {HOURLY: "hour_start", DAILY: "stat_date"}


@dataclass(frozen=True)
class RefreshResult:
    view: str
    duration_ms: float
    row_count: int
    concurrently: bool               # True: incremental refresh; False: full rebuild
    mode: str = ""                   # incremental | full
    changes_applied: int = 0         # change-log rows consumed
    rows_written: int = 0            # aggregate rows recomputed
    materialized_until: datetime | None = None


@dataclass(frozen=True)
class Freshness:
    view: str
    populated: bool
    last_refreshed_at: datetime | None
    last_duration_ms: float | None
    row_count: int | None
    age: timedelta | None
    materialized_until: datetime | None = None
    pending_changes: int = 0


@dataclass(frozen=True)
class ViewFacts:
    view: str
    services: int
    first: object      # datetime (hourly) or date (daily); None when empty
    last: object
    newest_source_row_loaded_at: datetime | None


def _results(rows: list[tuple]) -> list[RefreshResult]:
    return [RefreshResult(v, float(ms), int(n), mode == "incremental", mode, int(changes), int(written), until)
            for v, mode, ms, changes, _deleted, written, n, until in rows]


def refresh_all(conn: psycopg.Connection, *, full: bool = False) -> list[RefreshResult]:
    """Refresh both aggregates (incrementally; ``full`` recomputes everything); the caller commits."""
    return _results(conn.execute(
        "SELECT view_name, mode, duration_ms, changes_applied, rows_deleted, rows_written, row_count, "
        "materialized_until FROM wfm.refresh_aggregates(%s)", (full,)).fetchall())


def refresh(conn: psycopg.Connection, view: str, *, concurrently: bool = True) -> RefreshResult:
    """Refresh the aggregates and return ``view``'s row (both share one change log, so both are
    refreshed); ``concurrently=False`` asks for a full rebuild. The caller commits."""
    if view not in VIEWS:
        raise ValueError(f"unknown materialized view {view!r} (known: {', '.join(VIEWS)})")
    (result,) = [r for r in refresh_all(conn, full=not concurrently) if r.view == view]
    return result


def freshness(conn: psycopg.Connection) -> list[Freshness]:
    rows = conn.execute(
        "SELECT view_name, populated, last_refreshed_at, last_duration_ms, row_count, age, materialized_until, "
        "pending_changes FROM wfm.view_freshness ORDER BY view_name").fetchall()
    return [Freshness(v, p, t, None if d is None else float(d), n, a, w, int(c)) for v, p, t, d, n, a, w, c in rows]


def facts(conn: psycopg.Connection, view: str) -> ViewFacts:
    """Services, time span and newest source load time of what is materialized for ``view``
    (its row count comes with the refresh: RefreshResult.row_count)."""
    if view not in VIEWS:
        raise ValueError(f"unknown materialized view {view!r}")
    column = _TIME_COLUMN[view]
    where = " WHERE group_id IS NULL" if view == DAILY else ""
    # Identifiers come from the fixed tables above, never from input.
    services, first, last, loaded = conn.execute(
        f"SELECT count(DISTINCT service_id), min({column}), max({column}), max(last_loaded_at) "
        f"FROM {_TABLE[view]}{where}").fetchone()
    return ViewFacts(view, int(services), first, last, loaded)
