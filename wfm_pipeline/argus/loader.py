"""Loading validated Argus rows: audited, transactional, idempotent.

Public API (the steps of ``argus.steps`` build on it; ``steps.run_file`` / ``steps.import_file``
is the one place that strings them together for a file):

* ``resolve_target(conn, service_code, group_code=None) -> Target`` (raises
  ``ArgusFileError(UNKNOWN_SERVICE | UNKNOWN_GROUP)``)
* ``find_duplicate(conn, sha256, target) -> uuid | None``: an earlier completed batch of the
  same file content for the same service/group
* ``load_validated(conn, validation, target, *, file_name, sha256, ...) -> ImportResult``
* ``record_rejection(conn, error, *, file_name, sha256, target) -> ImportResult``: a whole
  file rejected (an ``import_batches`` row with status ``rejected`` + its ``import_errors`` row)
* ``record_duplicate``, ``record_failure``, ``mark_failed``: the other audit rows.

``conn`` must have no open transaction: the loader commits its own transactions.

What ``load_validated`` does (every step audited; see "Failures" below):

1. a committed ``import_batches`` row with status ``running`` and the backend's pid and start
   time (after ``wfm.sweep_interrupted_imports()`` turned earlier running batches whose session
   is gone into ``failed``): an import killed hard leaves this trace;
2. the partition plan (``wfm.ensure_import_partitions``, no locks): rows whose month has no
   partition and lies outside the on-demand window (``wfm.partition_config``) become
   ``OUTSIDE_PARTITION_WINDOW`` row errors; needing more new months than one import may create
   rejects the file (``TOO_MANY_NEW_MONTHS``);
3. a short transaction of its own creates the missing months (never inside the load: creating
   a partition takes ACCESS EXCLUSIVE on the parent, which would block readers for the load);
4. ONE transaction: duplicate re-check under an advisory lock on the content hash, ROW
   EXCLUSIVE on ``contact_statistics`` then ``contact_statistics_history`` (THE lock order of
   partition creation and loads: a parent before its history, so a load and a partition
   creation cannot deadlock), ``COPY`` of the accepted rows into the history,
   ``wfm.apply_import_batch`` (set-based upsert, latest batch wins), ``COPY`` of the
   ``import_errors`` rows, the batch counters and status.

Steps 3 and 4 are retried with exponential backoff on lock timeouts, deadlocks and
serialization failures (``LoadPolicy``: ``WFM_IMPORT_LOCK_TIMEOUT_MS``, ``WFM_IMPORT_RETRIES``,
``WFM_IMPORT_RETRY_BACKOFF_MS``).

Failures: anything that goes wrong after step 1 (retries exhausted, the connection lost, an
unexpected exception) rolls back and turns the running batch into ``failed`` with the reason
and an ``IMPORT_FAILED`` error (when the database is still reachable; otherwise the next
import's or health check's sweep does it), then raises ``ImportFailedError`` carrying the
failed ``ImportResult``.

Modes: ``strict`` imports nothing when any row is invalid (status ``rejected``, a
``STRICT_MODE`` file error explains the valid rows); ``validate_only`` writes only the audit
rows (status ``validated``) and reports the inserts/updates the import would make.
Accounting, for every status: ``rows_total = rows_inserted + rows_updated + rows_rejected +
rows_skipped`` (a failed or rejected batch counts every non-skipped row as rejected).
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import psycopg

from wfm_pipeline.argus import errors as E
from wfm_pipeline.argus.errors import ArgusFileError, RowError
from wfm_pipeline.argus.validate import ValidationResult
from wfm_pipeline.db import catalog
from wfm_pipeline.settings import get_settings
from wfm_pipeline.textsafe import storable
from wfm_pipeline.db import partitions

# progress(stage, done, total): stages "read", "validate", "copy", "apply", "errors", "done".
# An exception raised by the callback aborts the import like any other error (nothing is kept).
Progress = Callable[[str, int, int], None]

HISTORY_TABLE = "wfm.contact_statistics_history"
STATS_TABLE = "wfm.contact_statistics"
COPY_CHUNK_ROWS = 10_000
_HISTORY_COLUMNS = ("service_id", "group_id", "import_batch_id", "interval_start_time", "unique_incoming",
                    "non_unique_incoming", "avg_talk_time", "avg_post_processing_time", "source_row_number")
_FILE_LOCK_CLASS = 0x41524755  # 'ARGU': advisory lock class for the duplicate-file check
# THE lock order of partition creation and loads: a parent before its history table
# (sql/functions/partitions/ensure_import_partitions.sql).
IMPORT_TABLES = (STATS_TABLE, HISTORY_TABLE)
# Lock waits that end well when tried again a little later.
RETRYABLE_ERRORS = (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected,
                    psycopg.errors.SerializationFailure)


class ImportFailedError(RuntimeError):
    """The load failed and was rolled back; a ``failed`` batch records why (when the database
    was reachable). ``result`` is the failed ``ImportResult`` (the ``wfm import --json`` line)."""

    def __init__(self, message: str, import_batch_id: uuid.UUID | None, result: ImportResult | None = None) -> None:
        super().__init__(message)
        self.import_batch_id = import_batch_id
        self.result = result

    def __reduce__(self) -> tuple:  # pickled whole (a loading process reports it: calls.concurrent)
        return (type(self), (str(self), self.import_batch_id, self.result))


@dataclass(frozen=True)
class LoadPolicy:
    """How long an import waits for a table lock, and how often it tries again."""

    lock_timeout_ms: int = 5000
    retries: int = 3          # attempts after the first, per step
    backoff_s: float = 0.5    # before the first retry; doubled each time (with jitter)

    @classmethod
    def from_settings(cls) -> LoadPolicy:
        s = get_settings()
        return cls(s.import_lock_timeout_ms, s.import_retries, s.import_retry_backoff_s)


@dataclass(frozen=True)
class Target:
    """The service (and optional group) a file is imported for."""

    service_id: int
    service_code: str
    time_zone: str
    group_id: int | None = None
    group_code: str | None = None


@dataclass
class ImportResult:
    """Outcome of importing one file; ``to_dict()`` is the ``wfm import --json`` line."""

    file: str
    status: str  # completed, completed_with_errors, rejected, duplicate, validated, failed
    import_batch_id: uuid.UUID | None = None
    rows_total: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_rejected: int = 0
    rows_skipped: int = 0
    first_interval: pd.Timestamp | None = None
    last_interval: pd.Timestamp | None = None
    errors: list[RowError] = field(default_factory=list)
    sha256: str | None = None
    service: str | None = None
    group: str | None = None
    months: list[str] = field(default_factory=list)
    duplicate_of: uuid.UUID | None = None
    error_message: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True unless the file was rejected as a whole or failed."""
        return self.status in ("completed", "completed_with_errors", "duplicate", "validated")

    def to_dict(self) -> dict[str, Any]:
        def iso(ts: pd.Timestamp | None) -> str | None:
            return None if ts is None else pd.Timestamp(ts).isoformat()

        return {
            "file": self.file,
            "import_batch_id": str(self.import_batch_id) if self.import_batch_id else None,
            "status": self.status,
            "rows_total": self.rows_total,
            "rows_inserted": self.rows_inserted,
            "rows_updated": self.rows_updated,
            "rows_rejected": self.rows_rejected,
            "rows_skipped": self.rows_skipped,
            "first_interval": iso(self.first_interval),
            "last_interval": iso(self.last_interval),
            "errors": [e.to_dict() for e in self.errors],
            "sha256": self.sha256,
            "service": self.service,
            "group": self.group,
            "months": self.months,
            "duplicate_of": str(self.duplicate_of) if self.duplicate_of else None,
            "error_message": self.error_message,
        }


# ---------------------------------------------------------------- lookups
def resolve_target(conn: psycopg.Connection, service_code: str, group_code: str | None = None) -> Target:
    """The service/group by code, or ``ArgusFileError(UNKNOWN_SERVICE | UNKNOWN_GROUP)``."""
    try:
        service = catalog.get_service(conn, service_code)
    except catalog.UnknownServiceError as exc:
        raise ArgusFileError(E.UNKNOWN_SERVICE, str(exc), service_code) from exc
    if group_code is None:
        return Target(service.service_id, service.code, service.time_zone)
    try:
        group = catalog.get_group(conn, service, group_code)
    except catalog.UnknownServiceError as exc:
        raise ArgusFileError(E.UNKNOWN_GROUP, str(exc), group_code) from exc
    return Target(service.service_id, service.code, service.time_zone, group.group_id, group.code)


def find_duplicate(conn: psycopg.Connection, sha256: str, target: Target) -> uuid.UUID | None:
    """The newest completed, non-reverted batch of the same content for the same service/group."""
    row = conn.execute(
        """SELECT import_batch_id FROM wfm.import_batches
           WHERE file_sha256 = %s AND service_id = %s AND group_id IS NOT DISTINCT FROM %s
             AND status IN ('completed', 'completed_with_errors')
           ORDER BY created_at DESC LIMIT 1""",
        (sha256, target.service_id, target.group_id)).fetchone()
    return row[0] if row else None


def require_idle(conn: psycopg.Connection) -> None:
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise RuntimeError("the Argus loader commits its own transactions: pass a connection with no open "
                           "transaction (commit or roll back first)")


# ---------------------------------------------------------------- audit rows
def _insert_batch(conn: psycopg.Connection, *, source: str, file_name: str | None, sha256: str | None,
                  target: Target | None, status: str = "running") -> uuid.UUID:
    return conn.execute(
        """INSERT INTO wfm.import_batches (source, file_name, file_sha256, service_id, group_id, status)
           VALUES (%s, %s, %s, %s, %s, %s) RETURNING import_batch_id""",
        (source, None if file_name is None else storable(file_name), sha256, target.service_id if target else None,
         target.group_id if target else None, status)).fetchone()[0]


def _finish_batch(conn: psycopg.Connection, batch_id: uuid.UUID, result: ImportResult,
                  details: dict[str, Any]) -> None:
    conn.execute(
        """UPDATE wfm.import_batches SET status = %s, rows_total = %s, rows_inserted = %s, rows_updated = %s,
                  rows_rejected = %s, rows_skipped = %s, first_interval = %s, last_interval = %s,
                  error_message = %s, finished_at = clock_timestamp(), details = details || %s::jsonb
           WHERE import_batch_id = %s""",
        (result.status, result.rows_total, result.rows_inserted, result.rows_updated, result.rows_rejected,
         result.rows_skipped, result.first_interval, result.last_interval, result.error_message,
         json.dumps(details, default=str), batch_id))


def _copy_errors(conn: psycopg.Connection, batch_id: uuid.UUID, errors: list[RowError]) -> None:
    if not errors:
        return
    with conn.cursor() as cur, cur.copy(
            "COPY wfm.import_errors (import_batch_id, row_number, column_name, error_code, error_message, raw_value)"
            " FROM STDIN") as copy:
        for e in errors:
            copy.write_row((batch_id, e.row, e.column, e.code, e.message, e.value))


def record_rejection(conn: psycopg.Connection, error: RowError, *, file_name: str | None,
                     sha256: str | None = None, target: Target | None = None, rows_total: int = 0,
                     row_errors: list[RowError] | None = None, source: str = "file",
                     file: str | None = None, details: dict[str, Any] | None = None) -> ImportResult:
    """Record a file rejected as a whole: a ``rejected`` batch and its ``import_errors`` rows
    (``details`` is merged into the batch's details, e.g. the landing file it came from)."""
    require_idle(conn)
    errors = list(row_errors or []) + [error]
    result = ImportResult(file=file or file_name or "", status="rejected", rows_total=rows_total,
                          rows_rejected=rows_total, errors=errors, sha256=sha256,
                          service=target.service_code if target else None,
                          group=target.group_code if target else None, error_message=error.message)
    with conn.transaction():
        batch_id = _insert_batch(conn, source=source, file_name=file_name, sha256=sha256, target=target)
        _copy_errors(conn, batch_id, errors)
        _finish_batch(conn, batch_id, result, {**(details or {}), "error_code": error.code})
    result.import_batch_id = batch_id
    return result


def record_duplicate(conn: psycopg.Connection, original: uuid.UUID, *, file: str, file_name: str,
                      sha256: str, target: Target, source: str, batch_id: uuid.UUID | None = None) -> ImportResult:
    """A ``duplicate`` batch (the running ``batch_id`` when given, else a new row)."""
    rows_total, first, last, months = conn.execute(
        """SELECT rows_total, first_interval, last_interval, details -> 'months'
           FROM wfm.import_batches WHERE import_batch_id = %s""", (original,)).fetchone()
    result = ImportResult(file=file, status="duplicate", rows_total=rows_total, rows_skipped=rows_total,
                          first_interval=first, last_interval=last, sha256=sha256, service=target.service_code,
                          group=target.group_code, months=list(months or []), duplicate_of=original,
                          error_message=f"same content (sha256 {sha256[:12]}…) as batch {original}; nothing changed")
    if batch_id is None:
        batch_id = _insert_batch(conn, source=source, file_name=file_name, sha256=sha256, target=target)
    _finish_batch(conn, batch_id, result, {"duplicate_of": str(original)})
    result.import_batch_id = batch_id
    return result


def _start_batch(conn: psycopg.Connection, result: ImportResult, *, source: str, file_name: str,
                 sha256: str | None, target: Target, kind: str | None = None) -> uuid.UUID:
    """Sweep interrupted imports, then commit this import's ``running`` batch with its session
    (and its ``kind`` when given: the same row ``mark_kind`` would make, one commit fewer).

    The counts already add up (nothing is imported yet: every non-skipped row counts as
    rejected until the load says otherwise), so a batch swept as interrupted adds up too.
    """
    with conn.transaction():
        conn.execute("SELECT count(*) FROM wfm.sweep_interrupted_imports()")
        # kind None: the column's default (intervals), as before
        return conn.execute(
            """INSERT INTO wfm.import_batches (source, file_name, file_sha256, service_id, group_id, status,
                      rows_total, rows_rejected, rows_skipped, backend_pid, backend_start"""
            + (", kind" if kind is not None else "") + """)
               VALUES (%s, %s, %s, %s, %s, 'running', %s, %s, %s, pg_backend_pid(),
                       (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid())"""
            + (", %s" if kind is not None else "") + """)
               RETURNING import_batch_id""",
            (source, storable(file_name), sha256, target.service_id, target.group_id, result.rows_total,
             result.rows_total - result.rows_skipped, result.rows_skipped)
            + ((kind,) if kind is not None else ())).fetchone()[0]


# ---------------------------------------------------------------- COPY into the history
def history_copy_chunks(valid: pd.DataFrame, target: Target, batch_id: uuid.UUID,
                        chunk_rows: int = COPY_CHUNK_ROWS) -> list[tuple[int, bytes]]:
    """The accepted rows as COPY text, in chunks: [(rows in chunk, bytes)].

    Built column-wise (numpy's C datetime formatting, ``tolist`` of int arrays); the constant
    service/group/batch columns come first so each line starts with one shared prefix.
    """
    n = len(valid)
    if n == 0:
        return []
    group = "\\N" if target.group_id is None else str(target.group_id)
    prefix = f"{target.service_id}\t{group}\t{batch_id}\t"
    ts = np.datetime_as_string(
        valid["interval_start_time"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[s]"), unit="s")
    cols = [ts.tolist(),
            valid["unique_incoming"].to_numpy("int64").tolist(),
            valid["non_unique_incoming"].to_numpy("int64").tolist(),
            _nullable_text(valid["avg_talk_time"]),
            _nullable_text(valid["avg_post_processing_time"]),
            valid["source_row_number"].to_numpy("int64").tolist()]
    chunks = []
    for start in range(0, n, chunk_rows):
        stop = min(start + chunk_rows, n)
        text = "".join(
            f"{prefix}{t}Z\t{b}\t{c}\t{d}\t{e}\t{r}\n"
            for t, b, c, d, e, r in zip(*(col[start:stop] for col in cols)))
        chunks.append((stop - start, text.encode()))
    return chunks


def _nullable_text(s: pd.Series) -> list:
    arr = s.astype("Int64")
    values = arr.to_numpy("int64", na_value=0).tolist()
    if not arr.isna().any():
        return values
    mask = arr.isna().to_numpy()
    return ["\\N" if m else v for v, m in zip(values, mask)]


def _copy_history(conn: psycopg.Connection, chunks: list[tuple[int, bytes]], total: int,
                  progress: Progress | None) -> None:
    done = 0
    with conn.cursor() as cur, cur.copy(
            f"COPY {HISTORY_TABLE} ({', '.join(_HISTORY_COLUMNS)}) FROM STDIN") as copy:
        for rows, data in chunks:
            copy.write(data)
            done += rows
            if progress:
                progress("copy", done, total)


def _predict(conn: psycopg.Connection, valid: pd.DataFrame, target: Target) -> int:
    """How many accepted rows would update an existing interval (validate-only)."""
    if not len(valid):
        return 0
    times = [ts.to_pydatetime() for ts in valid["interval_start_time"].dt.tz_convert("UTC")]
    return conn.execute(
        """SELECT count(*) FROM wfm.contact_statistics
           WHERE service_id = %s AND group_id IS NOT DISTINCT FROM %s
             AND interval_start_time BETWEEN %s AND %s AND interval_start_time = ANY (%s)""",
        (target.service_id, target.group_id, min(times), max(times), times)).fetchone()[0]


# ---------------------------------------------------------------- partitions
def _month_keys(valid: pd.DataFrame) -> pd.Series:
    """year * 100 + month of each row's UTC interval start (vectorized)."""
    utc = valid["interval_start_time"].dt.tz_convert("UTC")
    return utc.dt.year * 100 + utc.dt.month


def _plan_partitions(conn: psycopg.Connection, valid: pd.DataFrame, result: ImportResult) -> tuple[
        pd.DataFrame, list[date], RowError | None]:
    """The partition plan (no locks): drops rows whose month is missing and outside the
    on-demand window (row errors in ``result``); returns (rows kept, months to create, a
    TOO_MANY_NEW_MONTHS file error or None)."""
    if not len(valid):
        return valid, [], None
    months = [date.fromisoformat(f"{m}-01") for m in result.months]
    with conn.transaction():
        plan = partitions.import_partitions(conn, IMPORT_TABLES, months, create=False)
        outside = sorted({a.month for a in plan if a.action == "outside_window"})
        missing = sorted({a.month for a in plan if a.action == "missing"} - set(outside))
        windows = {t: partitions.window(conn, t) for t in IMPORT_TABLES} if outside or missing else {}
    if outside:
        valid = _reject_outside_window(valid, outside, windows, result)
    limit = min((w[2] for w in windows.values()), default=0)
    if len(missing) > limit:
        return valid, missing, RowError.of(
            None, None, E.TOO_MANY_NEW_MONTHS, count=len(missing), first=f"{missing[0]:%Y-%m}",
            last=f"{missing[-1]:%Y-%m}", limit=limit)
    return valid, missing, None


def _reject_outside_window(valid: pd.DataFrame, outside: list[date], windows: dict[str, tuple[date, date, int]],
                           result: ImportResult) -> pd.DataFrame:
    first = max(w[0] for w in windows.values())
    last = min(w[1] for w in windows.values())
    mask = _month_keys(valid).isin({m.year * 100 + m.month for m in outside}).to_numpy()
    dropped = valid[mask]
    utc = dropped["interval_start_time"].dt.tz_convert("UTC")
    errors = [
        RowError.of(int(row), "A", E.OUTSIDE_PARTITION_WINDOW, ts.isoformat(), interval=f"{ts:%Y-%m-%d %H:%M}",
                    month=f"{ts:%Y-%m}", first=f"{first:%Y-%m}", last=f"{last:%Y-%m}")
        for row, ts in zip(dropped["source_row_number"].tolist(), utc)]
    result.errors = sorted(result.errors + errors, key=lambda e: (e.row is None, e.row or 0))
    result.rows_rejected += len(errors)
    kept = valid[~mask]
    if len(kept):
        result.first_interval = kept["interval_start_time"].min()
        result.last_interval = kept["interval_start_time"].max()
        keys = sorted(set(_month_keys(kept).tolist()))
        result.months = [f"{k // 100:04d}-{k % 100:02d}" for k in keys]
    else:
        result.first_interval = result.last_interval = None
        result.months = []
    return kept


def _create_partitions(conn: psycopg.Connection, months: list[date], policy: LoadPolicy,
                       tables: tuple[str, ...] = IMPORT_TABLES) -> list[str]:
    """Step 3: the missing months of ``tables``, in a short transaction of their own."""
    with conn.transaction():
        conn.execute("SELECT set_config('lock_timeout', %s, true)", (f"{policy.lock_timeout_ms}ms",))
        plan = partitions.import_partitions(conn, tables, months, create=True)
    return [f"{a.table}:{a.month:%Y-%m}" for a in plan if a.action == "created"]


def _with_retries(conn: psycopg.Connection, policy: LoadPolicy, step: str, attempt_log: list[str],
                  fn: Callable[[], Any]) -> Any:
    """Run ``fn`` (one transaction), again after lock timeouts, deadlocks and serialization
    failures, with exponential backoff; the last error propagates."""
    for attempt in range(policy.retries + 1):
        try:
            return fn()
        except RETRYABLE_ERRORS as exc:
            attempt_log.append(f"{step} attempt {attempt + 1}: {type(exc).__name__}: "
                               f"{exc.diag.message_primary or exc}")
            if attempt == policy.retries:
                raise
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.rollback()
            time.sleep(policy.backoff_s * 2 ** attempt * random.uniform(0.75, 1.25))
    raise AssertionError("unreachable")


# ---------------------------------------------------------------- load
WriteRows = Callable[[psycopg.Connection, "ImportResult", pd.DataFrame, Target, uuid.UUID, dict[str, Any],
                      "Progress | None"], None]


@dataclass(frozen=True)
class LoadKind:
    """What differs between the audited loads of interval files, call records and agent states;
    the batch row, strict mode, partitions, retries, the duplicate check, the table locks, the
    errors and the accounting are the same driver (``load_rows``) for all of them."""

    name: str | None            # import_batches.kind; None: the default ('intervals')
    tables: tuple[str, ...]     # locked in this order (THE lock order of the kind); partitions made for these
    plan: Callable[[psycopg.Connection, pd.DataFrame, "ImportResult"],
                   tuple[pd.DataFrame, list[date], RowError | None]]
    write: WriteRows            # COPY + apply inside the load transaction: sets rows_inserted/updated
    predict: Callable[[psycopg.Connection, pd.DataFrame, Target], int]  # validate-only: rows that would update


def mark_kind(conn: psycopg.Connection, batch_id: uuid.UUID | None, kind: str | None) -> None:
    """Record what a batch carries (import_batches.kind), in a transaction of its own."""
    if kind is None or batch_id is None or conn.closed or conn.broken:
        return
    with conn.transaction():
        conn.execute("UPDATE wfm.import_batches SET kind = %s WHERE import_batch_id = %s", (kind, batch_id))


def load_validated(conn: psycopg.Connection, validation: ValidationResult, target: Target, *,
                   file_name: str, sha256: str | None, file: str | None = None, strict: bool = False,
                   validate_only: bool = False, progress: Progress | None = None,
                   source: str = "file", policy: LoadPolicy | None = None) -> ImportResult:
    """Write one validated Argus file (see the module docstring); returns the batch's ImportResult.

    Raises ``ImportFailedError`` (after recording the ``failed`` batch) when the load fails.
    """
    details = {"header_rows": validation.header_rows, "blank_rows": validation.blank_rows,
               "time_zone": validation.time_zone}
    return load_rows(conn, validation, target, INTERVALS, details=details, file_name=file_name, sha256=sha256,
                     file=file, strict=strict, validate_only=validate_only, progress=progress, source=source,
                     policy=policy)


def load_rows(conn: psycopg.Connection, validation: Any, target: Target, kind: LoadKind, *,
              details: dict[str, Any], file_name: str, sha256: str | None, file: str | None = None,
              strict: bool = False, validate_only: bool = False, progress: Progress | None = None,
              source: str = "file", policy: LoadPolicy | None = None) -> ImportResult:
    """The audited load of any kind: ``validation`` has ``valid``, ``errors``, ``rows_total``,
    ``rejected``, ``skipped``, ``first_interval``, ``last_interval``, ``months`` and ``timings``."""
    require_idle(conn)
    policy = policy or LoadPolicy.from_settings()
    t0 = time.perf_counter()
    result = ImportResult(
        file=file or file_name, status="running", rows_total=validation.rows_total,
        rows_rejected=validation.rejected, rows_skipped=validation.skipped, errors=list(validation.errors),
        first_interval=validation.first_interval, last_interval=validation.last_interval, sha256=sha256,
        service=target.service_code, group=target.group_code, months=validation.months,
        timings={"validate": validation.timings.get("total", 0.0)})
    details = {**details, "strict": strict, "validate_only": validate_only}
    if kind.name is not None:
        details["kind"] = kind.name
    attempt_log: list[str] = []
    batch_id: uuid.UUID | None = None
    try:
        batch_id = _start_batch(conn, result, source=source, file_name=file_name, sha256=sha256, target=target,
                                kind=kind.name)
        valid, missing, file_error = kind.plan(conn, validation.valid, result)
        details["months"] = result.months
        if file_error is None and strict and result.rows_rejected > 0:
            file_error = RowError.of(None, None, E.STRICT_MODE, rejected=result.rows_rejected,
                                     total=result.rows_total, valid=len(valid))
        if file_error is not None:  # rejected as a whole: every non-skipped row counts as rejected
            result.status = "rejected"
            result.rows_rejected = result.rows_total - result.rows_skipped
            result.errors.append(file_error)
            result.error_message = file_error.message
            result.first_interval = result.last_interval = None
        writes = file_error is None and not validate_only and len(valid) > 0
        t = time.perf_counter()
        if writes and missing:
            details["partitions_created"] = _with_retries(
                conn, policy, "partitions", attempt_log,
                lambda: _create_partitions(conn, missing, policy, kind.tables))
        result.timings["partitions"] = time.perf_counter() - t
        loaded = _with_retries(conn, policy, "load", attempt_log, lambda: _load_once(
            conn, kind, result, valid, target, batch_id, details, writes=writes, validate_only=validate_only,
            file_name=file_name, sha256=sha256, source=source, progress=progress, policy=policy,
            attempt_log=attempt_log))
    except Exception as exc:
        reason = describe_failure(exc, attempt_log)
        failed = _failed_result(result, reason)
        failed.import_batch_id = record_failure(conn, reason, batch_id=batch_id, file_name=file_name, sha256=sha256,
                                                target=target, source=source, result=failed)
        mark_kind(conn, failed.import_batch_id, kind.name)
        raise ImportFailedError(f"{file_name}: import failed and was rolled back: {reason}",
                                failed.import_batch_id, failed) from exc
    if loaded is not result:  # a duplicate found under the lock
        return loaded
    result.import_batch_id = batch_id
    result.timings["load"] = time.perf_counter() - t0
    _check_accounting(result)
    if progress:
        progress("done", result.rows_total, result.rows_total)
    return result


def _load_once(conn: psycopg.Connection, kind: LoadKind, result: ImportResult, valid: pd.DataFrame, target: Target,
               batch_id: uuid.UUID, details: dict[str, Any], *, writes: bool, validate_only: bool, file_name: str,
               sha256: str | None, source: str, progress: Progress | None, policy: LoadPolicy,
               attempt_log: list[str]) -> ImportResult:
    """Step 4: one transaction (retried as a whole). Sets only the load's own counters on
    ``result``, so a retry starts clean."""
    with conn.transaction():
        if sha256 and not validate_only:
            # Two concurrent imports of the same file: the second waits here, then sees the first.
            conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                         (_FILE_LOCK_CLASS, f"{sha256}/{target.service_id}/{target.group_id}"))
            original = find_duplicate(conn, sha256, target)
            if original is not None:
                return record_duplicate(conn, original, file=result.file, file_name=file_name, sha256=sha256,
                                         target=target, source=source, batch_id=batch_id)
        if writes:
            # THE lock order of the kind (module docstring). Only these waits are bounded here:
            # the advisory locks above and in apply serialize imports of one file / one service
            # and may rightly wait for a whole load.
            previous = conn.execute("SELECT current_setting('lock_timeout')").fetchone()[0]
            conn.execute("SELECT set_config('lock_timeout', %s, true)", (f"{policy.lock_timeout_ms}ms",))
            conn.execute("LOCK TABLE " + ", ".join(f"ONLY {t}" for t in kind.tables) + " IN ROW EXCLUSIVE MODE")
            conn.execute("SELECT set_config('lock_timeout', %s, true)", (previous,))
            kind.write(conn, result, valid, target, batch_id, details, progress)
            result.status = "completed_with_errors" if result.errors else "completed"
        elif validate_only and result.status != "rejected":
            result.status = "validated"
            result.rows_updated = kind.predict(conn, valid, target)
            result.rows_inserted = len(valid) - result.rows_updated
        elif result.status != "rejected":  # nothing valid: every row was rejected or skipped
            result.status = "completed_with_errors" if result.errors else "completed"
        if progress:
            progress("errors", 0, len(result.errors))
        _copy_errors(conn, batch_id, result.errors)
        if attempt_log:
            details["retries"] = list(attempt_log)
        details["timings_s"] = {k: round(v, 4) for k, v in result.timings.items()}
        _finish_batch(conn, batch_id, result, details)
    return result


def _write_intervals(conn: psycopg.Connection, result: ImportResult, valid: pd.DataFrame, target: Target,
                     batch_id: uuid.UUID, details: dict[str, Any], progress: Progress | None) -> None:
    t = time.perf_counter()
    _copy_history(conn, history_copy_chunks(valid, target, batch_id), len(valid), progress)
    result.timings["copy_history"] = time.perf_counter() - t
    if progress:
        progress("apply", 0, len(valid))
    t = time.perf_counter()
    result.rows_inserted, result.rows_updated = conn.execute(
        "SELECT rows_inserted, rows_updated FROM wfm.apply_import_batch(%s)", (batch_id,)).fetchone()
    result.timings["apply"] = time.perf_counter() - t


def _check_accounting(result: ImportResult) -> None:
    accounted = result.rows_inserted + result.rows_updated + result.rows_rejected + result.rows_skipped
    if accounted != result.rows_total:
        raise AssertionError(f"row accounting broken for {result.file} ({result.status}): "
                             f"total {result.rows_total} != {accounted}")


# ---------------------------------------------------------------- failures
def describe_failure(exc: BaseException, attempt_log: list[str] | None = None) -> str:
    """One line saying why an import failed, for the batch row and the JSON line."""
    hint = ""
    if isinstance(exc, psycopg.errors.LockNotAvailable):
        what, hint = "lock wait timed out", " (another session holds a conflicting lock; try again later)"
    elif isinstance(exc, psycopg.errors.DeadlockDetected):
        what, hint = "deadlock with another session", " (try again)"
    elif isinstance(exc, psycopg.errors.SerializationFailure):
        what, hint = "serialization failure", " (try again)"
    elif isinstance(exc, psycopg.errors.QueryCanceled):  # an OperationalError, but the connection is fine
        what, hint = "statement cancelled", " (statement_timeout, or cancelled by an operator; try again)"
    elif isinstance(exc, psycopg.OperationalError):
        what = "database connection lost"
    else:
        what = "unexpected error"
    detail = (exc.diag.message_primary if isinstance(exc, psycopg.Error) and exc.diag.message_primary else str(exc))
    tries = f" after {len(attempt_log)} attempts" if attempt_log and isinstance(exc, RETRYABLE_ERRORS) else ""
    return f"{what}{tries}{hint}: {type(exc).__name__}: {detail.strip()}"[:2000]


def _failed_result(result: ImportResult, reason: str) -> ImportResult:
    """The ``failed`` outcome: nothing imported; every non-skipped row counts as rejected."""
    # The row errors found so far (validation and partition window) stay; a file-level verdict
    # reached before the failure is replaced by the failure.
    errors = [e for e in result.errors if e.row is not None] + [RowError.of(None, None, E.IMPORT_FAILED, reason=reason)]
    return ImportResult(file=result.file, status="failed", rows_total=result.rows_total,
                        rows_rejected=result.rows_total - result.rows_skipped, rows_skipped=result.rows_skipped,
                        errors=errors, sha256=result.sha256, service=result.service, group=result.group,
                        months=result.months, error_message=reason)


def record_failure(conn: psycopg.Connection, reason: str, *, batch_id: uuid.UUID | None, file_name: str | None,
                   sha256: str | None = None, target: Target | None = None, source: str = "file",
                   result: ImportResult | None = None) -> uuid.UUID | None:
    """After a rollback: the running batch (or a new one) becomes ``failed`` with the reason and
    an ``IMPORT_FAILED`` error. Best effort: with the connection gone the running batch stays
    for the sweep (``wfm.sweep_interrupted_imports``) and ``batch_id`` is returned as is."""
    try:
        if conn.closed or conn.broken:
            return batch_id
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.rollback()
        with conn.transaction():
            if batch_id is None:
                batch_id = _insert_batch(conn, source=source, file_name=file_name, sha256=sha256, target=target)
            mark_failed(conn, batch_id, reason, result=result)
        return batch_id
    except Exception:  # noqa: BLE001 - the original error is what matters
        return batch_id


def mark_failed(conn: psycopg.Connection, batch_id: uuid.UUID, reason: str, *,
                result: ImportResult | None = None) -> bool:
    """Turn a ``running`` batch into ``failed`` (counts from ``result`` when given, else its
    own: every non-skipped row rejected) with its errors; False when it was not running."""
    total = result.rows_total if result else None
    skipped = result.rows_skipped if result else None
    row = conn.execute(
        """UPDATE wfm.import_batches SET status = 'failed',
                  rows_total = coalesce(%(total)s, rows_total), rows_skipped = coalesce(%(skipped)s, rows_skipped),
                  rows_rejected = coalesce(%(total)s, rows_total) - coalesce(%(skipped)s, rows_skipped),
                  rows_inserted = 0, rows_updated = 0, first_interval = NULL, last_interval = NULL,
                  error_message = %(reason)s, finished_at = clock_timestamp(),
                  details = details || jsonb_build_object('failed', true)
           WHERE import_batch_id = %(id)s AND status = 'running' RETURNING 1""",
        {"total": total, "skipped": skipped, "reason": reason, "id": batch_id}).fetchone()
    if row is None:
        return False
    errors = result.errors if result else [RowError.of(None, None, E.IMPORT_FAILED, reason=reason)]
    _copy_errors(conn, batch_id, errors)
    return True


# Argus interval files: contact_statistics before its history (THE lock order of interval loads).
INTERVALS = LoadKind(name=None, tables=(STATS_TABLE, HISTORY_TABLE), plan=_plan_partitions, write=_write_intervals,
                     predict=_predict)
