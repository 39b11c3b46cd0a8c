"""Scaling a benchmark's month to a year of history: the latency figures are measured with the
13 months the other read benchmarks hold, not with the one month a benchmark imported."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import psycopg


def repeat_month(conn: psycopg.Connection, table: str, first: dt.datetime, days: int, scale_months: int) -> None:
    """Copy the rows of ``table`` with ``interval_start_time`` in ``[first, first + days)`` to each
    of the ``scale_months - 1`` months before (same rows, times shifted; existing keys kept).
    Creates the partitions, starting a month earlier: a local month's first hours lie in the UTC
    month before it. The caller commits."""
    if scale_months <= 1:
        return
    end = first + dt.timedelta(days=days)
    earliest = (pd.Timestamp(first.date()) - pd.DateOffset(months=scale_months)).date()
    conn.execute("SELECT wfm.ensure_monthly_partitions(%s::regclass, %s, %s)", (table, earliest, end.date()))
    columns = [r[0] for r in conn.execute(
        "SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = %s::regclass "
        "AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum", (table,))]
    rest = ", ".join(c for c in columns if c != "interval_start_time")
    for k in range(1, scale_months):
        conn.execute(
            f"INSERT INTO {table} (interval_start_time, {rest}) "  # table: a constant of the caller
            f"SELECT interval_start_time - %s::interval, {rest} FROM {table} "
            "WHERE interval_start_time >= %s AND interval_start_time < %s ON CONFLICT DO NOTHING",
            (f"{k} months", first, end))
    conn.execute(f"ANALYZE {table}")
