"""Maintenance: statistics of partitioned parents, retention by detaching, the health hook.

Plain Python over the SQL functions of sql/053 (no Dagster imports).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

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


@dataclass(frozen=True)
class AnalyzedPartition:
    """One month partition of ``table`` (``month`` None: the parent) after ``analyze_touched``."""

    table: str
    month: date | None
    partition: str
    analyzed: bool
    estimated_rows: int
    duration_ms: float


def analyze_touched(conn: psycopg.Connection, table: str, rows_by_month: dict[date, int], *,
                    min_share: float = 0.1) -> list[AnalyzedPartition]:
    """``wfm.analyze_touched_partitions``: ANALYZE the months an import wrote where autovacuum's
    rule (50 + ``min_share`` x rows) is met or they were never analyzed, and a never-analyzed parent.
    Runs in a transaction of its own (ANALYZE holds SHARE UPDATE EXCLUSIVE until it ends)."""
    months = sorted(rows_by_month)
    with conn.transaction():
        rows = conn.execute(
            "SELECT * FROM wfm.analyze_touched_partitions(%s::regclass, %s::date[], %s::bigint[], %s::numeric)",
            (table, months, [int(rows_by_month[m]) for m in months], min_share)).fetchall()
    return [AnalyzedPartition(table, m, name, done, int(est), float(ms)) for m, name, done, est, ms in rows]


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
