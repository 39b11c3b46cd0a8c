"""Test helper: contact_statistics rows written directly (read API, views, warehouse tests)."""

from __future__ import annotations

import uuid
from datetime import datetime

import psycopg


def new_batch(conn: psycopg.Connection) -> uuid.UUID:
    """A completed import batch for rows inserted by hand."""
    return conn.execute(
        "INSERT INTO import_batches (source, status) VALUES ('test', 'completed') RETURNING import_batch_id"
    ).fetchone()[0]


def insert_row(conn: psycopg.Connection, batch: uuid.UUID, ts: datetime, service_id: int, group_id: int | None,
               unique: int, calls: int, talk: int | None, pp: int | None, *, within_sl: int | None = None,
               answered: int | None = None, abandoned: int | None = None) -> None:
    conn.execute(
        """INSERT INTO contact_statistics (interval_start_time, service_id, group_id, unique_incoming,
               non_unique_incoming, avg_talk_time, avg_post_processing_time, answered_calls, answered_within_sl,
               abandoned_calls, sl_threshold_seconds, import_batch_id)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
        (ts, service_id, group_id, unique, calls, talk, pp, answered, within_sl, abandoned,
         20 if within_sl is not None else None, batch))


def ensure_stat_months(conn: psycopg.Connection, first: datetime, last: datetime) -> None:
    """Partitions of contact_statistics for the months from ``first`` to ``last`` (not committed)."""
    conn.execute("SELECT wfm.ensure_monthly_partitions('wfm.contact_statistics', %s, %s)", (first, last))
