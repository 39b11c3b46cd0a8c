"""Import batches: listing, inspecting, reverting, and rebuilding a month from the history.

Thin Python over ``wfm.import_batches``/``wfm.import_errors`` and the SQL functions of
sql/021 (``wfm.revert_import_batch``, ``wfm.rebuild_contact_statistics_month``) and
``wfm.sweep_interrupted_imports`` (sql/functions/imports/).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import dict_row

from wfm_pipeline.argus.errors import RowError


class UnknownBatchError(LookupError):
    """No import batch has that id."""


@dataclass(frozen=True)
class RevertResult:
    import_batch_id: uuid.UUID
    rows_restored: int
    rows_deleted: int
    already_reverted: bool


@dataclass
class BatchInfo:
    """One ``import_batches`` row (all columns as a dict) and, for ``show``, its errors."""

    row: dict[str, Any]
    errors: list[RowError] = field(default_factory=list)
    errors_total: int = 0

    def to_dict(self) -> dict[str, Any]:
        out = {k: (str(v) if isinstance(v, (uuid.UUID, dt.datetime)) else v) for k, v in self.row.items()}
        out["errors"] = [e.to_dict() for e in self.errors]
        out["errors_total"] = self.errors_total
        return out


_BATCH_COLUMNS = """b.import_batch_id, b.created_at, b.finished_at, b.source, b.file_name, b.file_sha256,
    s.code AS service, g.code AS "group", b.status, b.rows_total, b.rows_inserted, b.rows_updated,
    b.rows_rejected, b.rows_skipped, b.first_interval, b.last_interval, b.error_message, b.details"""
_FROM = """FROM wfm.import_batches b
    LEFT JOIN wfm.services s ON s.service_id = b.service_id
    LEFT JOIN wfm.groups g ON g.group_id = b.group_id"""


def parse_batch_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(text))
    except ValueError as exc:
        raise UnknownBatchError(f"{text!r} is not an import batch id (a UUID)") from exc


def list_batches(conn: psycopg.Connection, *, limit: int = 20, service_code: str | None = None,
                 status: str | None = None) -> list[BatchInfo]:
    """Newest batches first."""
    where, params = [], []
    if service_code:
        where.append("s.code = %s")
        params.append(service_code)
    if status:
        where.append("b.status = %s")
        params.append(status)
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(f"SELECT {_BATCH_COLUMNS} {_FROM} {clause} ORDER BY b.created_at DESC, b.import_batch_id "
                           "LIMIT %s", (*params, limit)).fetchall()
    return [BatchInfo(r) for r in rows]


def get_batch(conn: psycopg.Connection, batch_id: uuid.UUID | str, *, error_limit: int | None = 100) -> BatchInfo:
    """One batch with its first ``error_limit`` errors in row order (None: all)."""
    batch_id = parse_batch_id(str(batch_id))
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(f"SELECT {_BATCH_COLUMNS} {_FROM} WHERE b.import_batch_id = %s", (batch_id,)).fetchone()
    if row is None:
        raise UnknownBatchError(f"unknown import batch {batch_id}")
    total = conn.execute("SELECT count(*) FROM wfm.import_errors WHERE import_batch_id = %s", (batch_id,)).fetchone()[0]
    errors = [RowError(*r) for r in conn.execute(
        """SELECT row_number, column_name, error_code, error_message, raw_value FROM wfm.import_errors
           WHERE import_batch_id = %s ORDER BY row_number NULLS LAST, import_error_id LIMIT %s""",
        (batch_id, error_limit))]
    return BatchInfo(row, errors, total)


def revert_batch(conn: psycopg.Connection, batch_id: uuid.UUID | str) -> RevertResult:
    """Revert a batch (``wfm.revert_import_batch``) and commit. Idempotent."""
    batch_id = parse_batch_id(str(batch_id))
    try:
        with conn.transaction():
            restored, deleted, already = conn.execute(
                "SELECT rows_restored, rows_deleted, already_reverted FROM wfm.revert_import_batch(%s)",
                (batch_id,)).fetchone()
    except psycopg.errors.NoDataFound as exc:
        raise UnknownBatchError(f"unknown import batch {batch_id}") from exc
    return RevertResult(batch_id, restored, deleted, already)


def sweep_interrupted(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """``wfm.sweep_interrupted_imports()``: running batches whose importing session is gone
    (killed hard) become ``failed`` ("interrupted"); returns them. Commits when called
    outside a transaction, else runs in a savepoint of the caller's."""
    query = "SELECT import_batch_id, file_name, backend_pid, created_at FROM wfm.sweep_interrupted_imports()"
    with conn.transaction():  # a savepoint inside the caller's transaction
        rows = conn.execute(query).fetchall()
    keys = ("import_batch_id", "file_name", "backend_pid", "created_at")
    return [dict(zip(keys, r)) for r in rows]


def rebuild_month(conn: psycopg.Connection, month: dt.date) -> tuple[int, int]:
    """Rebuild one UTC month of contact_statistics from the history; (rows deleted, rows inserted).

    The month's partition is ensured first in a short transaction of its own (the rebuild then
    only deletes and inserts rows, holding no ACCESS EXCLUSIVE lock through its work)."""
    from wfm_pipeline.db import partitions

    first = dt.datetime(month.year, month.month, 1, tzinfo=dt.timezone.utc)
    with conn.transaction():
        partitions.ensure_partitions(conn, "wfm.contact_statistics", first, first)
    with conn.transaction():
        return conn.execute("SELECT rows_deleted, rows_inserted FROM wfm.rebuild_contact_statistics_month(%s)",
                            (month,)).fetchone()


def month_batches(conn: psycopg.Connection, month: dt.date) -> list[dict[str, Any]]:
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
        {"m": dt.datetime(month.year, month.month, 1)},
    ).fetchall()
    keys = ("import_batch_id", "file_name", "status", "created_at", "rows_in_history", "rows_current")
    return [dict(zip(keys, r)) for r in rows]


# ---------------------------------------------------------------- landing-folder history
RETRYABLE_STATUSES = ("reverted", "rejected", "failed")


def earlier_attempts(conn: psycopg.Connection, sha256: str, service_id: int, group_id: int | None) -> int:
    """How many imports of this content for this service/group ended without keeping it
    (reverted, rejected or failed): a re-drop after any of them is new work, with a new run key."""
    return conn.execute(
        """SELECT count(*) FROM wfm.import_batches
           WHERE file_sha256 = %s AND service_id = %s AND group_id IS NOT DISTINCT FROM %s
             AND status = ANY(%s)""",
        (sha256, service_id, group_id, list(RETRYABLE_STATUSES))).fetchone()[0]


def unmoved_rejection(conn: psycopg.Connection, sha256: str | None, landing_file: str,
                      error_code: str) -> uuid.UUID | None:
    """A ``rejected`` batch the landing sensor recorded for this very file (same place, content and
    reason) whose move to rejected/ never completed: seeing the file again (next tick, cursor
    reset) reuses it instead of recording the same rejection once more."""
    row = conn.execute(
        """SELECT import_batch_id FROM wfm.import_batches
           WHERE status = 'rejected' AND file_sha256 IS NOT DISTINCT FROM %s
             AND details ->> 'landing_file' = %s AND details ->> 'error_code' = %s
             AND NOT details ? 'moved_to'
           ORDER BY created_at DESC LIMIT 1""",
        (sha256, landing_file, error_code)).fetchone()
    return row[0] if row else None


def note_moved(conn: psycopg.Connection, batch_id: uuid.UUID, moved_to: str) -> None:
    """Record where a rejected landing file went (closes ``unmoved_rejection``); commits."""
    with conn.transaction():
        conn.execute("""UPDATE wfm.import_batches SET details = details || jsonb_build_object('moved_to', %s::text)
                        WHERE import_batch_id = %s""", (moved_to, batch_id))


def month_row_counts(conn: psycopg.Connection, months: list[dt.date]) -> dict[str, int]:
    """Current contact_statistics rows per touched UTC month, keyed ``YYYY-MM-01``."""
    rows = conn.execute(
        # month arithmetic on timestamp (not timestamptz): independent of the session time zone
        """SELECT to_char(u.m, 'YYYY-MM-DD'),
                  (SELECT count(*) FROM wfm.contact_statistics cs
                   WHERE cs.interval_start_time >= (u.m AT TIME ZONE 'UTC')
                     AND cs.interval_start_time < ((u.m + interval '1 month') AT TIME ZONE 'UTC'))
           FROM unnest(%s::timestamp[]) AS u(m)""",
        ([dt.datetime(m.year, m.month, 1) for m in months],),
    ).fetchall()
    return {k: int(n) for k, n in rows}
