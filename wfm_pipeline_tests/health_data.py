"""Helpers shared by the health and validation tests: committed interval data and suite rows."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import psycopg

from wfm_pipeline.health import checks

STATUSES = {"PASS", "WARN", "FAIL"}


def rows(conn: psycopg.Connection, function: str, **params) -> dict[str, checks.CheckResult]:
    results = checks.run_suite(conn, function, **params)
    names = [r.check_name for r in results]
    assert len(names) == len(set(names)), f"duplicate check names from {function}: {names}"
    assert all(r.status in STATUSES for r in results)
    return {r.check_name: r for r in results}


def load(conn: psycopg.Connection, service_id: int, group_id: int | None, start: datetime, days: int,
         calls: int = 20) -> None:
    """Service-level and group rows for every 15-minute interval of ``days`` days, committed."""
    end = start + timedelta(days=days)
    conn.execute("SELECT wfm.ensure_monthly_partitions('wfm.contact_statistics', %s, %s)", (start, end))
    batch = conn.execute(
        "INSERT INTO import_batches (source, status, finished_at) VALUES ('test', 'completed', now()) "
        "RETURNING import_batch_id").fetchone()[0]
    conn.execute(
        """INSERT INTO contact_statistics (interval_start_time, service_id, group_id, unique_incoming,
                                           non_unique_incoming, avg_talk_time, avg_post_processing_time, import_batch_id)
           SELECT t, %(s)s, g, %(c)s - 2, %(c)s, 120, 20, %(b)s
           FROM generate_series(%(a)s::timestamptz, %(z)s::timestamptz - interval '15 minutes', interval '15 minutes') t,
                unnest(%(g)s::integer[]) g""",
        {"s": service_id, "g": [None] + ([group_id] if group_id else []), "c": calls, "b": batch,
         "a": start, "z": end})
    conn.commit()


def today() -> datetime:
    return datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
