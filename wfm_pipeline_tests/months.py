"""Test helper: make months available to the JSON import functions.

The JSON functions never create partitions (a row for a month without one is a NO_PARTITION
row error); the operator does, as the ETL role or the schema owner. Tests that import rows of
fixed past or future months create those months first, as the test user (the owner).
"""

from __future__ import annotations

import psycopg

TABLES = ("wfm.contact_statistics", "wfm.contact_statistics_history")


def ensure_months(conn: psycopg.Connection, *months: str) -> None:
    """Create (and commit) the partitions of both tables for each ``YYYY-MM`` month."""
    for month in months:
        start = f"{month}-01 00:00+00"
        for table in TABLES:
            conn.execute("SELECT wfm.ensure_monthly_partitions(%s::regclass, %s::timestamptz, %s::timestamptz)",
                         (table, start, start))
    conn.commit()
