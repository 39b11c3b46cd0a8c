"""Thin adapter between the Dagster assets and the plain-Python Argus core (``wfm_pipeline.argus``).

It keeps the assets independent of the core's exact signatures and adds the two read-only
month queries the monthly asset reports. No Dagster imports.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import psycopg

from wfm_pipeline.argus.errors import RowError


@dataclass(frozen=True)
class ArgusFile:
    """One landed file, as registered by ``argus_raw_file`` (pickled between steps)."""

    partition_key: str
    path: str
    file_name: str
    sha256: str
    bytes: int
    service_code: str
    group_code: str | None
    location: str  # landing | archive


@dataclass
class Validation:
    """What ``argus_validated`` reports; ``payload`` is the core's object the load consumes."""

    rows_total: int
    rows_valid: int
    rows_rejected: int
    errors: list[RowError]
    first_interval: datetime | None
    last_interval: datetime | None
    months: list[date]
    payload: Any = None
    file_error: RowError | None = None

    @property
    def errors_by_code(self) -> dict[str, int]:
        return dict(sorted(Counter(e.code for e in self.errors).items()))


@dataclass
class Loaded:
    import_batch_id: str | None
    status: str
    rows_total: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_rejected: int = 0
    rows_skipped: int = 0
    months: list[date] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    duplicate_of: str | None = None


def validate(conn: psycopg.Connection, raw: ArgusFile) -> Validation:
    raise NotImplementedError("waiting for wfm_pipeline.argus")


def load(conn: psycopg.Connection, payload: Any, raw: ArgusFile, *, strict: bool) -> Loaded:
    raise NotImplementedError("waiting for wfm_pipeline.argus")


def month_row_counts(conn: psycopg.Connection, months: list[date]) -> dict[str, int]:
    """Current contact_statistics rows per touched UTC month, keyed ``YYYY-MM-01``."""
    rows = conn.execute(
        # month arithmetic on timestamp (not timestamptz): independent of the session time zone
        """SELECT to_char(u.m, 'YYYY-MM-DD'),
                  (SELECT count(*) FROM wfm.contact_statistics cs
                   WHERE cs.interval_start_time >= (u.m AT TIME ZONE 'UTC')
                     AND cs.interval_start_time < ((u.m + interval '1 month') AT TIME ZONE 'UTC'))
           FROM unnest(%s::timestamp[]) AS u(m)""",
        ([datetime(m.year, m.month, 1) for m in months],),
    ).fetchall()
    return {k: int(n) for k, n in rows}


def month_batches(conn: psycopg.Connection, month: date) -> list[dict[str, Any]]:
    """The batches whose history rows fall into a UTC month, newest apply first, with how many
    of their rows are in the history and how many are the current values."""
    rows = conn.execute(
        """WITH bounds AS (
               SELECT (%(m)s::timestamp AT TIME ZONE 'UTC') AS lo,
                      ((%(m)s::timestamp + interval '1 month') AT TIME ZONE 'UTC') AS hi),
           hist AS (
               SELECT h.import_batch_id, count(*) AS n FROM wfm.contact_statistics_history h, bounds
               WHERE h.interval_start_time >= bounds.lo AND h.interval_start_time < bounds.hi
               GROUP BY 1),
           cur AS (
               SELECT cs.import_batch_id, count(*) AS n FROM wfm.contact_statistics cs, bounds
               WHERE cs.interval_start_time >= bounds.lo AND cs.interval_start_time < bounds.hi
               GROUP BY 1)
           SELECT b.import_batch_id::text, coalesce(b.file_name, b.source), b.status, b.created_at,
                  coalesce(hist.n, 0), coalesce(cur.n, 0)
           FROM hist FULL JOIN cur USING (import_batch_id)
           JOIN wfm.import_batches b USING (import_batch_id)
           ORDER BY b.apply_seq DESC NULLS LAST, b.created_at DESC""",
        {"m": datetime(month.year, month.month, 1)},
    ).fetchall()
    keys = ("import_batch_id", "file_name", "status", "created_at", "rows_in_history", "rows_current")
    return [dict(zip(keys, r)) for r in rows]
