"""Maintenance: statistics of partitioned parents, retention by detaching, the health hook.

Plain Python over the SQL functions of sql/053 (no Dagster imports).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg


@dataclass(frozen=True)
class RetentionSetting:
    table: str
    retention_months: int
    enabled: bool


@dataclass(frozen=True)
class DetachedPartition:
    table: str
    partition: str
    range_start: datetime
    range_end: datetime
    archived_as: str
    detached: bool  # False in a dry run


def analyze_partitioned_tables(conn: psycopg.Connection) -> list[tuple[str, float]]:
    """ANALYZE every partitioned parent (autovacuum never does); (table, ms) each."""
    return [(t, float(ms)) for t, ms in conn.execute("SELECT * FROM wfm.analyze_partitioned_tables()")]


def retention_settings(conn: psycopg.Connection) -> list[RetentionSetting]:
    return [RetentionSetting(t, m, e) for t, m, e in conn.execute(
        "SELECT table_name::text, retention_months, retention_enabled FROM wfm.partition_config ORDER BY 1")]


def set_retention(conn: psycopg.Connection, table: str, *, enabled: bool, months: int | None = None) -> None:
    """Switch retention of a partitioned table on/off (and its horizon); the caller commits."""
    updated = conn.execute(
        "UPDATE wfm.partition_config SET retention_enabled = %s, "
        "retention_months = coalesce(%s, retention_months) WHERE table_name = %s::regclass",
        (enabled, months, table)).rowcount
    if updated != 1:
        raise ValueError(f"{table} is not a partitioned WFM table (see wfm.partition_config)")


def detach_expired(conn: psycopg.Connection, *, dry_run: bool = False) -> list[DetachedPartition]:
    """Detach (never drop) partitions older than each enabled table's horizon into wfm_archive,
    then rebuild the guard partitions. Run it in its own transaction; the caller commits."""
    return [DetachedPartition(*row) for row in conn.execute(
        "SELECT parent_table, partition_name, range_start, range_end, archived_as, detached "
        "FROM wfm.detach_expired_partitions(%s)", (dry_run,))]


# ------------------------------------------------------------------ daily health check hook
# The validation/health engineer (sql/070-079, wfm_pipeline/health/) fills the daily health
# check. The warehouse's `daily_health_check_job` calls, in this order of preference:
#   1. wfm_pipeline.health.daily_health_check(conn) -> iterable of mappings, each with at least
#      "check_name" and "status" ("PASS" | "WARN" | "FAIL"); any other keys are shown as-is;
#   2. the SQL function wfm.database_health_check() (rows with check_name and status columns);
#   3. nothing installed: an empty result (the job succeeds and says so).
# The job fails when any row has status FAIL.
HEALTH_HOOK_MODULE = "wfm_pipeline.health"
HEALTH_HOOK_FUNCTION = "daily_health_check"


@dataclass(frozen=True)
class HealthResult:
    source: str                     # which hook answered
    rows: list[dict[str, Any]]

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if str(r.get("status", "")).upper() == "FAIL"]

    @property
    def warnings(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if str(r.get("status", "")).upper() == "WARN"]


def run_health_hook(conn: psycopg.Connection) -> HealthResult:
    try:
        module = importlib.import_module(HEALTH_HOOK_MODULE)
    except ImportError:
        module = None
    hook = getattr(module, HEALTH_HOOK_FUNCTION, None) if module else None
    if hook is not None:
        return HealthResult(f"{HEALTH_HOOK_MODULE}.{HEALTH_HOOK_FUNCTION}",
                            [dict(r) if isinstance(r, Mapping) else _as_dict(r) for r in hook(conn)])
    exists = conn.execute("SELECT to_regproc('wfm.database_health_check') IS NOT NULL").fetchone()[0]
    if exists:
        with conn.cursor() as cur:
            cur.execute("SELECT * FROM wfm.database_health_check()")
            names = [d.name for d in cur.description]
            return HealthResult("wfm.database_health_check()", [dict(zip(names, r)) for r in cur.fetchall()])
    return HealthResult("none installed", [])


def _as_dict(row: Any) -> dict[str, Any]:
    if hasattr(row, "_asdict"):
        return dict(row._asdict())
    if hasattr(row, "__dataclass_fields__"):
        return {k: getattr(row, k) for k in row.__dataclass_fields__}
    return {"value": row}
