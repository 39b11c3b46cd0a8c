"""Partition maintenance (plain Python over the SQL functions of sql/functions/partitions/).

Lock order (the one order of partition creation and loads, see
sql/functions/partitions/ensure_import_partitions.sql): partition advisory locks, then the
parent tables by name - ``wfm.contact_statistics`` before ``wfm.contact_statistics_history``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import psycopg


@dataclass(frozen=True)
class MissingPartition:
    table: str
    month: str  # YYYY-MM

    @property
    def partition(self) -> str:
        """The partition's name (``wfm.partition_name``'s rule): ``wfm.contact_statistics_2024_01``."""
        return f"{self.table}_{self.month.replace('-', '_')}"


def ensure_partitions(conn: psycopg.Connection, table: str, first: datetime, last: datetime) -> list[str]:
    """Create the monthly partitions of ``table`` covering first..last; returns names created.

    Run it in its own short transaction before a load: creating a partition locks the parent,
    and holding that lock for a whole load would block readers.
    """
    return [name for (name,) in conn.execute(
        "SELECT wfm.ensure_monthly_partitions(%s::regclass, %s, %s)", (table, first, last))]


@dataclass(frozen=True)
class MonthAction:
    """One (table, UTC month) of an import's partition plan."""

    table: str
    month: date
    action: str  # exists, missing (plan only), created, outside_window


def import_partitions(conn: psycopg.Connection, tables: tuple[str, ...], months: list[date], *,
                      create: bool) -> list[MonthAction]:
    """``wfm.ensure_import_partitions``: the plan (``create=False``: no locks) or the creation.

    Creation must run in a short transaction of its own before the load; it raises
    ``psycopg.errors.ProgramLimitExceeded`` when more months are missing than one import may
    create, and leaves months outside the on-demand window alone (``outside_window``).
    """
    rows = conn.execute(
        "SELECT table_name::text, month, action FROM wfm.ensure_import_partitions(%s::regclass[], %s::date[], %s)",
        (list(tables), months, create)).fetchall()
    return [MonthAction(t, m, a) for t, m, a in rows]


def window(conn: psycopg.Connection, table: str) -> tuple[date, date, int]:
    """(first month, last month, max new months per import) of a table's on-demand window."""
    return conn.execute("SELECT first_month, last_month, max_new_months FROM wfm.partition_window(%s::regclass)",
                        (table,)).fetchone()


def premake(conn: psycopg.Connection, months_ahead: int | None = None) -> list[str]:
    """Create the missing months of the premade window (retention window back through
    ``premake_months``, or ``months_ahead``, ahead) for every partitioned table."""
    return [name for (name,) in conn.execute("SELECT wfm.premake_partitions(%s)", (months_ahead,))]


def missing_premade(conn: psycopg.Connection) -> list[MissingPartition]:
    """Months of each table's premade window without an attached partition."""
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
