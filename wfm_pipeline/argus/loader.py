"""Loading validated Argus rows: audited, transactional, idempotent.

Public API (stable; the ingest Dagster assets build on it):

* ``resolve_target(conn, service_code, group_code=None) -> Target`` (raises
  ``ArgusFileError(UNKNOWN_SERVICE | UNKNOWN_GROUP)``)
* ``find_duplicate(conn, sha256, target) -> uuid | None``: an earlier completed batch of the
  same file content for the same service/group
* ``load_validated(conn, validation, target, *, file_name, sha256, ...) -> ImportResult``
* ``record_rejection(conn, error, *, file_name, sha256, target) -> ImportResult``: a whole
  file rejected (an ``import_batches`` row with status ``rejected`` + its ``import_errors`` row)
* ``import_file(conn, path, service_code, group_code=None, *, strict=False,
  validate_only=False, progress=None) -> ImportResult``: all of the above for one file.

``conn`` must have no open transaction: the loader commits its own transactions.

What ``load_validated`` does:

1. a short committed transaction creates the months' partitions of ``contact_statistics`` and
   ``contact_statistics_history`` (creating a partition locks the parent; holding that for a
   whole load would block readers);
2. ONE transaction: duplicate re-check under an advisory lock on the content hash, the
   ``import_batches`` row, ``COPY`` of the accepted rows into the history,
   ``wfm.apply_import_batch`` (set-based upsert, latest batch wins), ``COPY`` of the
   ``import_errors`` rows, the batch counters. Any error rolls all of it back; the failure is
   then recorded as a ``failed`` batch in a transaction of its own and re-raised as
   ``ImportFailedError``.

Modes: ``strict`` imports nothing when any row is invalid (status ``rejected``, a
``STRICT_MODE`` file error explains the valid rows); ``validate_only`` writes only the audit
rows (status ``validated``) and reports the inserts/updates the import would make.
Accounting: ``rows_total = rows_inserted + rows_updated + rows_rejected + rows_skipped``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg

from wfm_pipeline.argus import errors as E
from wfm_pipeline.argus.errors import ArgusFileError, RowError
from wfm_pipeline.argus.reader import file_sha256, read_argus_file
from wfm_pipeline.argus.validate import ValidationResult, validate_argus
from wfm_pipeline.db import catalog
from wfm_pipeline.warehouse.partitions import ensure_partitions

# progress(stage, done, total): stages "read", "validate", "copy", "apply", "errors", "done".
# An exception raised by the callback aborts the import like any other error (nothing is kept).
Progress = Callable[[str, int, int], None]

HISTORY_TABLE = "wfm.contact_statistics_history"
STATS_TABLE = "wfm.contact_statistics"
COPY_CHUNK_ROWS = 10_000
_HISTORY_COLUMNS = ("service_id", "group_id", "import_batch_id", "interval_start_time", "unique_incoming",
                    "non_unique_incoming", "avg_talk_time", "avg_post_processing_time", "source_row_number")
_FILE_LOCK_CLASS = 0x41524755  # 'ARGU': advisory lock class for the duplicate-file check


class ImportFailedError(RuntimeError):
    """The load failed and was rolled back; a ``failed`` batch records why."""

    def __init__(self, message: str, import_batch_id: uuid.UUID | None) -> None:
        super().__init__(message)
        self.import_batch_id = import_batch_id


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


def _require_idle(conn: psycopg.Connection) -> None:
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise RuntimeError("the Argus loader commits its own transactions: pass a connection with no open "
                           "transaction (commit or roll back first)")


# ---------------------------------------------------------------- audit rows
def _insert_batch(conn: psycopg.Connection, *, source: str, file_name: str | None, sha256: str | None,
                  target: Target | None, status: str = "running") -> uuid.UUID:
    return conn.execute(
        """INSERT INTO wfm.import_batches (source, file_name, file_sha256, service_id, group_id, status)
           VALUES (%s, %s, %s, %s, %s, %s) RETURNING import_batch_id""",
        (source, file_name, sha256, target.service_id if target else None,
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
                     file: str | None = None) -> ImportResult:
    """Record a file rejected as a whole: a ``rejected`` batch and its ``import_errors`` rows."""
    _require_idle(conn)
    errors = list(row_errors or []) + [error]
    result = ImportResult(file=file or file_name or "", status="rejected", rows_total=rows_total,
                          rows_rejected=rows_total, errors=errors, sha256=sha256,
                          service=target.service_code if target else None,
                          group=target.group_code if target else None, error_message=error.message)
    with conn.transaction():
        batch_id = _insert_batch(conn, source=source, file_name=file_name, sha256=sha256, target=target)
        _copy_errors(conn, batch_id, errors)
        _finish_batch(conn, batch_id, result, {"error_code": error.code})
    result.import_batch_id = batch_id
    return result


def _record_duplicate(conn: psycopg.Connection, original: uuid.UUID, *, file: str, file_name: str,
                      sha256: str, target: Target, source: str) -> ImportResult:
    rows_total, first, last, months = conn.execute(
        """SELECT rows_total, first_interval, last_interval, details -> 'months'
           FROM wfm.import_batches WHERE import_batch_id = %s""", (original,)).fetchone()
    result = ImportResult(file=file, status="duplicate", rows_total=rows_total, rows_skipped=rows_total,
                          first_interval=first, last_interval=last, sha256=sha256, service=target.service_code,
                          group=target.group_code, months=list(months or []), duplicate_of=original,
                          error_message=f"same content (sha256 {sha256[:12]}…) as batch {original}; nothing changed")
    batch_id = _insert_batch(conn, source=source, file_name=file_name, sha256=sha256, target=target)
    _finish_batch(conn, batch_id, result, {"duplicate_of": str(original)})
    result.import_batch_id = batch_id
    return result


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


def _ensure_partitions(conn: psycopg.Connection, first: pd.Timestamp, last: pd.Timestamp) -> None:
    with conn.transaction():
        for table in (STATS_TABLE, HISTORY_TABLE):
            ensure_partitions(conn, table, first.to_pydatetime(), last.to_pydatetime())


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


# ---------------------------------------------------------------- load
def load_validated(conn: psycopg.Connection, validation: ValidationResult, target: Target, *,
                   file_name: str, sha256: str | None, file: str | None = None, strict: bool = False,
                   validate_only: bool = False, progress: Progress | None = None,
                   source: str = "file") -> ImportResult:
    """Write one validated file (see the module docstring); returns the batch's ImportResult."""
    _require_idle(conn)
    t0 = time.perf_counter()
    valid = validation.valid
    result = ImportResult(
        file=file or file_name, status="running", rows_total=validation.rows_total,
        rows_rejected=validation.rejected, rows_skipped=validation.skipped, errors=list(validation.errors),
        first_interval=validation.first_interval, last_interval=validation.last_interval, sha256=sha256,
        service=target.service_code, group=target.group_code, months=validation.months,
        timings={"validate": validation.timings.get("total", 0.0)})
    strict_reject = strict and validation.has_invalid_rows
    writes = not strict_reject and not validate_only and len(valid) > 0
    details: dict[str, Any] = {"months": result.months, "header_rows": validation.header_rows,
                               "blank_rows": validation.blank_rows, "time_zone": validation.time_zone,
                               "strict": strict, "validate_only": validate_only}

    if writes:
        _ensure_partitions(conn, valid["interval_start_time"].min(), valid["interval_start_time"].max())
    t_part = time.perf_counter()
    batch_id: uuid.UUID | None = None
    try:
        with conn.transaction():
            if sha256 and not validate_only:
                # Two concurrent imports of the same file: the second waits here, then sees the first.
                conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                             (_FILE_LOCK_CLASS, f"{sha256}/{target.service_id}/{target.group_id}"))
                original = find_duplicate(conn, sha256, target)
                if original is not None:
                    return _record_duplicate(conn, original, file=result.file, file_name=file_name, sha256=sha256,
                                             target=target, source=source)
            batch_id = _insert_batch(conn, source=source, file_name=file_name, sha256=sha256, target=target)
            if writes:
                t = time.perf_counter()
                chunks = history_copy_chunks(valid, target, batch_id)
                _copy_history(conn, chunks, len(valid), progress)
                result.timings["copy_history"] = time.perf_counter() - t
                if progress:
                    progress("apply", 0, len(valid))
                t = time.perf_counter()
                inserted, updated = conn.execute(
                    "SELECT rows_inserted, rows_updated FROM wfm.apply_import_batch(%s)", (batch_id,)).fetchone()
                result.timings["apply"] = time.perf_counter() - t
                result.rows_inserted, result.rows_updated = inserted, updated
                result.status = "completed_with_errors" if result.errors else "completed"
            elif strict_reject:
                result.status = "rejected"
                result.rows_rejected = result.rows_total - result.rows_skipped
                strict_error = RowError(
                    None, None, E.STRICT_MODE,
                    f"strict import: {validation.rejected} of {validation.rows_total} rows are invalid, so none "
                    f"of the {len(valid)} valid rows was imported")
                result.errors.append(strict_error)
                result.error_message = strict_error.message
                result.first_interval = result.last_interval = None
            elif validate_only:
                result.status = "validated"
                updated = _predict(conn, valid, target)
                result.rows_updated, result.rows_inserted = updated, len(valid) - updated
            else:  # nothing valid, not strict: every row was rejected or skipped
                result.status = "completed_with_errors" if result.errors else "completed"
            if progress:
                progress("errors", 0, len(result.errors))
            _copy_errors(conn, batch_id, result.errors)
            result.timings["partitions"] = t_part - t0
            details["timings_s"] = {k: round(v, 4) for k, v in result.timings.items()}
            _finish_batch(conn, batch_id, result, details)
            t_commit = time.perf_counter()
        result.timings["commit"] = time.perf_counter() - t_commit
        result.timings["load"] = time.perf_counter() - t0
    except Exception as exc:
        failed_id = _record_failure(conn, exc, file_name=file_name, sha256=sha256, target=target, source=source,
                                    rows_total=validation.rows_total)
        raise ImportFailedError(f"{file_name}: import failed and was rolled back: {exc}", failed_id) from exc
    result.import_batch_id = batch_id
    _check_accounting(result)
    if progress:
        progress("done", result.rows_total, result.rows_total)
    return result


def _check_accounting(result: ImportResult) -> None:
    accounted = result.rows_inserted + result.rows_updated + result.rows_rejected + result.rows_skipped
    if result.status != "duplicate" and accounted != result.rows_total:
        raise AssertionError(f"row accounting broken for {result.file}: total {result.rows_total} != {accounted}")


def _record_failure(conn: psycopg.Connection, exc: Exception, *, file_name: str, sha256: str | None,
                    target: Target | None, source: str, rows_total: int) -> uuid.UUID | None:
    """After a rollback: a ``failed`` batch row saying why (best effort: the connection may be gone)."""
    try:
        if conn.closed:
            return None
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.rollback()
        with conn.transaction():
            batch_id = _insert_batch(conn, source=source, file_name=file_name, sha256=sha256, target=target)
            conn.execute(
                """UPDATE wfm.import_batches SET status = 'failed', rows_total = %s, error_message = %s,
                          finished_at = clock_timestamp() WHERE import_batch_id = %s""",
                (rows_total, f"{type(exc).__name__}: {exc}"[:2000], batch_id))
        return batch_id
    except Exception:  # noqa: BLE001 - the original error is what matters
        return None


# ---------------------------------------------------------------- one file, end to end
def import_file(conn: psycopg.Connection, path: str | Path, service_code: str, group_code: str | None = None, *,
                strict: bool = False, validate_only: bool = False, progress: Progress | None = None,
                source: str = "file", encoding: str | None = None) -> ImportResult:
    """Import one Argus file for a service (and group): read, validate, load (module docstring).

    File-level problems (unreadable, too few columns, no data rows, unknown service or group)
    return a ``rejected`` result and are recorded as such; a load failure raises
    ``ImportFailedError`` after recording a ``failed`` batch. ``encoding``: of a CSV file
    (default ``WFM_CSV_ENCODING``, else detected; see ``reader``).
    """
    _require_idle(conn)
    path = Path(path)
    t0 = time.perf_counter()
    sha256: str | None = None
    target: Target | None = None
    try:
        sha256 = file_sha256(path)
        target = resolve_target(conn, service_code, group_code)
        conn.rollback()  # end the read-only lookups' transaction
        if not validate_only:
            original = find_duplicate(conn, sha256, target)
            conn.rollback()
            if original is not None:
                with conn.transaction():
                    return _record_duplicate(conn, original, file=str(path), file_name=path.name, sha256=sha256,
                                             target=target, source=source)
        if progress:
            progress("read", 0, 1)
        raw = read_argus_file(path, encoding=encoding)
    except ArgusFileError as exc:
        conn.rollback()
        return record_rejection(conn, exc.error, file_name=path.name, sha256=sha256, target=target, source=source,
                                file=str(path))
    t_read = time.perf_counter()
    if progress:
        progress("validate", 0, raw.rows_total)
    validation = validate_argus(raw, target.time_zone)
    result = load_validated(conn, validation, target, file_name=path.name, sha256=sha256, file=str(path),
                            strict=strict, validate_only=validate_only, progress=progress, source=source)
    result.timings = {"read": t_read - t0, **result.timings, "total": time.perf_counter() - t0}
    return result
