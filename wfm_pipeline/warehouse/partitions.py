"""Partition maintenance (plain Python over the SQL functions of sql/005)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg


@dataclass(frozen=True)
class MissingPartition:
    table: str
    month: str  # YYYY-MM


def ensure_partitions(conn: psycopg.Connection, table: str, first: datetime, last: datetime) -> list[str]:
    """Create the monthly partitions of ``table`` covering first..last; returns names created.

    Run it in its own short transaction before a load: creating a partition locks the parent,
    and holding that lock for a whole load would block readers.
    """
    return [name for (name,) in conn.execute(
        "SELECT wfm.ensure_monthly_partitions(%s::regclass, %s, %s)", (table, first, last))]


def premake(conn: psycopg.Connection, months_ahead: int | None = None) -> list[str]:
    """Create the current month plus the configured months ahead for every partitioned table."""
    return [name for (name,) in conn.execute("SELECT wfm.premake_partitions(%s)", (months_ahead,))]


def missing_premade(conn: psycopg.Connection) -> list[MissingPartition]:
    """Months from now through each table's premake horizon without an attached partition."""
    rows = conn.execute(
        "SELECT table_name::text, to_char(month, 'YYYY-MM') FROM wfm.missing_premade_partitions ORDER BY 1, 2"
    ).fetchall()
    return [MissingPartition(t, m) for t, m in rows]


def partition_summary(conn: psycopg.Connection) -> list[tuple[str, str, str, str, int]]:
    """(table, partition, range start, range end, estimated rows) of the real partitions."""
    return conn.execute(
        """SELECT parent_table::text, partition_name, range_start::text, range_end::text, estimated_rows
           FROM wfm.partitions WHERE NOT is_guard ORDER BY parent_table::text, range_start"""
    ).fetchall()
