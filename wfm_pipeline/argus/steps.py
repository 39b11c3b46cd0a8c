"""The Argus file import, step by step: the one path every caller takes (plain Python, no Dagster).

::

    inspect    read the file ONCE (sha256 of exactly those bytes), resolve its service/group,
               look for an earlier completed import of the same content (duplicate)
    validate   parse the bytes read (reader) and check every row (pandera)
    load       the audited, transactional load (``loader.load_validated``)
    analyze    planner statistics of the months the load wrote, when it wrote enough of them
               (``warehouse.maintenance.analyze_touched``; the guide's "ANALYZE after large imports")
    file_away  THE place that moves a landing file: imported or duplicate -> archive/,
               rejected -> rejected/ with ``<file>.errors.csv``; anything else stays
    reject     THE place that records a file rejected as a whole (a ``rejected`` batch with its
               error), then files it away

``run_file`` strings them together, in this order, and nothing else does: ``wfm import``
(``runner.import_files``), the Dagster file asset (``defs.ingest``), the benchmark and the tests
call it (or ``import_file``, which returns just its ``ImportResult``). The landing sensor calls
``inspect`` (to name the run) and ``reject``/``file_away`` (unknown service folders, content
already imported): it decides run keys and imports nothing.

Files are moved only when ``folders`` is given and the file lies in its landing folder; ``wfm
import`` of any other path never moves it. ``conn`` must have no open transaction: the steps
commit their own (see ``loader``).
"""

from __future__ import annotations

import dataclasses
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import psycopg

from wfm_pipeline.argus import batches, landing
from wfm_pipeline.argus import errors as E
from wfm_pipeline.argus.errors import ArgusFileError, RowError
from wfm_pipeline.argus.landing import Folders
from wfm_pipeline.argus.loader import (IMPORT_TABLES, ImportFailedError, ImportResult, LoadPolicy, Progress, Target,
                                       describe_failure, find_duplicate, load_validated, record_duplicate,
                                       record_failure, record_rejection, require_idle, resolve_target)
from wfm_pipeline.argus.reader import FileContent, parse_argus, read_file
from wfm_pipeline.argus.validate import ValidationResult, validate_argus
from wfm_pipeline.warehouse import maintenance
from wfm_pipeline.warehouse.maintenance import AnalyzedPartition

KEPT_STATUSES = ("completed", "completed_with_errors", "duplicate")  # the content is in the database: archive
MISPLACED = ("files must be dropped into <landing>/<service_code>/ or "
             "<landing>/<service_code>/<group_code>/")


@dataclass
class Inspection:
    """What ``inspect`` learned about one file before anything is parsed."""

    path: Path
    sha256: str | None = None
    target: Target | None = None
    duplicate_of: uuid.UUID | None = None   # an earlier completed batch of the same content
    error: RowError | None = None           # rejected as a whole (unreadable, unknown service/group)
    content: FileContent | None = None      # the bytes read (dropped once parsed)
    where: str | None = None                # path relative to the landing folder, if it lies there

    @property
    def file_name(self) -> str:
        return self.path.name


@dataclass
class Moved:
    """Where ``file_away`` put a landing file (``to``), or why it could not (``error``)."""

    to: Path | None = None
    error: str | None = None


@dataclass
class FileRun:
    """Everything one run of ``run_file`` produced: the Dagster asset reports all of it."""

    inspection: Inspection
    result: ImportResult
    validation: ValidationResult | None = None
    moved: Moved = field(default_factory=Moved)
    analyzed: list[AnalyzedPartition] = field(default_factory=list)  # the months written, after ``analyze``
    analyze_error: str | None = None                                  # statistics not refreshed (import done)


# ---------------------------------------------------------------- the steps
def read(path: Path, folders: Folders | None = None, *, keep: bool = True) -> FileContent:
    """Read and hash a file once; a landing file only through ``landing.open_within``.

    A path named inside the landing folder is a landing file even when its folder no longer
    resolves there (swapped for a symlink out since the sensor's scan): ``open_within`` then
    refuses it (``NotALandingFile``) instead of a plain read following the link."""
    if folders is not None and (folders.holds(path) or landing.is_named_within(path, folders.landing)):
        return landing.read_within(path, folders.landing, keep=keep)
    return read_file(path, keep=keep)


def inspect(conn: psycopg.Connection, path: str | Path, service_code: str | None, group_code: str | None = None, *,
            content: FileContent | None = None, folders: Folders | None = None,
            keep: bool = True) -> Inspection:
    """Read (unless ``content`` was read already) and hash the file, resolve the service/group
    and look for a completed import of the same content. File-level problems land in
    ``error``; ``landing.NotALandingFile`` propagates (never read). Leaves ``conn`` idle."""
    path = Path(path)
    insp = Inspection(path, where=folders.rel(path) if folders is not None and folders.holds(path) else None)
    try:
        insp.content = content or read(path, folders, keep=keep)
        insp.sha256 = insp.content.sha256
        insp.target = _target(conn, service_code, group_code, insp.where)
        insp.duplicate_of = find_duplicate(conn, insp.sha256, insp.target)
    except ArgusFileError as exc:
        insp.error = exc.error
    finally:
        if not conn.closed and not conn.broken and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.rollback()  # read-only lookups
    return insp


def _target(conn: psycopg.Connection, service_code: str | None, group_code: str | None,
            where: str | None) -> Target:
    if service_code is None:  # a landing file outside any service folder
        raise ArgusFileError(E.UNKNOWN_SERVICE, f"{where}: {MISPLACED}")
    try:
        return resolve_target(conn, service_code, group_code)
    except ArgusFileError as exc:
        if where is None:
            raise
        raise ArgusFileError(exc.code, f"{where}: {exc}", exc.error.value) from exc


def validate(insp: Inspection, *, encoding: str | None = None, progress: Progress | None = None) -> ValidationResult:
    """Parse the bytes ``inspect`` read and validate every row in the service's time zone.

    ``ArgusFileError`` for a file rejected as a whole (too few columns, no data rows, ...)."""
    started = time.perf_counter()
    raw = parse_argus(insp.content, insp.file_name, encoding=encoding)
    parsed = time.perf_counter() - started
    if progress:
        progress("validate", 0, raw.rows_total)
    validation = validate_argus(raw, insp.target.time_zone)
    validation.timings["parse"] = parsed
    return validation


def load(conn: psycopg.Connection, insp: Inspection, validation: ValidationResult, *, strict: bool = False,
         validate_only: bool = False, progress: Progress | None = None, source: str = "file",
         policy: LoadPolicy | None = None) -> ImportResult:
    """The audited load of the valid rows (``loader.load_validated``; ``ImportFailedError``)."""
    return load_validated(conn, validation, insp.target, file_name=insp.file_name, sha256=insp.sha256,
                          file=str(insp.path), strict=strict, validate_only=validate_only, progress=progress,
                          source=source, policy=policy)


def analyze(conn: psycopg.Connection, validation: Any, result: ImportResult, *,
            column: str = "interval_start_time", tables: tuple[str, ...] = IMPORT_TABLES) -> tuple[
        list[AnalyzedPartition], str | None]:
    """After a load that wrote rows: ANALYZE the month partitions of ``tables`` it wrote (the UTC
    months of ``validation.valid[column]``) where the rows written meet autovacuum's rule (see
    sql/functions/maintenance/analyze_touched_partitions.sql), and return every written month's
    row estimate. A failure is reported, not raised: the import is committed, autovacuum will
    catch up. Argus files by default; the record kinds pass their column and tables."""
    if result.status not in ("completed", "completed_with_errors") or not result.rows_inserted + result.rows_updated:
        return [], None
    loaded = set(result.months)
    per_month = validation.valid[column].dt.tz_convert("UTC").dt.strftime("%Y-%m").value_counts()
    rows = {date.fromisoformat(f"{m}-01"): int(n) for m, n in per_month.items() if m in loaded}
    try:
        return [a for table in tables for a in maintenance.analyze_touched(conn, table, rows)], None
    except psycopg.Error as exc:
        if not conn.closed and not conn.broken:
            conn.rollback()
        return [], f"ANALYZE after the import failed: {str(exc).strip()}"


def file_away(conn: psycopg.Connection, insp: Inspection, status: str, folders: Folders | None, *,
              errors: list[RowError] | tuple = (), batch_id: uuid.UUID | None = None) -> Moved:
    """Move a landing file where its outcome says: content kept (``KEPT_STATUSES``) ->
    ``archive/<service>/<yyyy>/<mm>/``; ``rejected`` -> ``rejected/<same path>`` with its
    ``.errors.csv``; anything else (failed: re-execute it; validated) stays. The batch notes
    where the file went (``details.moved_to``). A move that fails is reported, not raised: the
    import itself is done."""
    if folders is None or insp.where is None or not os.path.lexists(insp.path):
        return Moved()
    if status not in KEPT_STATUSES and status != "rejected":
        return Moved()
    try:
        # A file still being written (a copy that paused past the settle time) must not go with
        # content that was never read: it stays, and the sensor takes it again once it settles.
        # (Its size, not a second read: the file is read once.)
        landing.require_within(insp.path, folders.landing)  # never stat (or move) through a swapped folder
        if insp.content is not None and os.stat(insp.path).st_size != insp.content.size:
            return Moved(error=f"{insp.where} changed since it was read (still being written?): left in the "
                               "landing folder; the landing sensor takes it again once it settles")
        if status in KEPT_STATUSES:
            to = landing.archive(insp.path, insp.target.service_code, insp.sha256, folders.archive,
                                 landing_dir=folders.landing)
        else:
            to = landing.reject(insp.path, list(errors), folders.rejected, folders.landing)
    except (OSError, landing.NotALandingFile) as exc:
        return Moved(error=f"moving {insp.where} failed: {exc}")
    if batch_id is not None:
        batches.note_moved(conn, batch_id, str(to))
    return Moved(to=to)


def reject(conn: psycopg.Connection, insp: Inspection, error: RowError | None = None, *,
           folders: Folders | None = None, source: str = "file") -> FileRun:
    """Record a file rejected as a whole (a ``rejected`` batch and its error) and file it away.

    A landing file seen again before its move completed (the move failed, a cursor reset) reuses
    its batch: one rejection, one batch (``batches.unmoved_rejection``)."""
    error = error or insp.error
    batch_id = None
    if folders is not None and insp.where is not None:
        batch_id = batches.unmoved_rejection(conn, insp.sha256, insp.where, error.code)
        conn.rollback()
    if batch_id is None:
        result = record_rejection(conn, error, file_name=insp.file_name, sha256=insp.sha256, target=insp.target,
                                  source=source, file=str(insp.path),
                                  details={"landing_file": insp.where} if insp.where else None)
    else:
        result = ImportResult(file=str(insp.path), status="rejected", import_batch_id=batch_id, errors=[error],
                              sha256=insp.sha256, service=insp.target.service_code if insp.target else None,
                              group=insp.target.group_code if insp.target else None, error_message=error.message)
    moved = file_away(conn, insp, "rejected", folders, errors=result.errors, batch_id=result.import_batch_id)
    return FileRun(insp, result, moved=moved)


# ---------------------------------------------------------------- the one orchestration
def run_file(conn: psycopg.Connection, path: str | Path, service_code: str | None, group_code: str | None = None, *,
             strict: bool = False, validate_only: bool = False, progress: Progress | None = None,
             source: str = "file", policy: LoadPolicy | None = None, encoding: str | None = None,
             content: FileContent | None = None, folders: Folders | None = None) -> FileRun:
    """Import one Argus file: inspect -> (reject | duplicate | validate -> load -> analyze) -> file_away.

    File-level problems (unreadable, too few columns, no data rows, unknown service or group)
    give a ``rejected`` result, recorded as such; any other failure raises ``ImportFailedError``
    after recording a ``failed`` batch (when the database is reachable), and the file stays.
    ``content``: the file already read (the Dagster asset's ``landing.locate_file``), so it is
    not read again. ``encoding``: of a CSV file (default ``WFM_CSV_ENCODING``, else detected).
    """
    require_idle(conn)
    path = Path(path)
    started = time.perf_counter()
    insp = Inspection(path)
    try:
        if progress:
            progress("read", 0, 1)
        insp = inspect(conn, path, service_code, group_code, content=content, folders=folders)
        inspected = time.perf_counter()
        if insp.error is not None:
            return reject(conn, insp, folders=folders, source=source)
        if insp.duplicate_of is not None and not validate_only:
            return _duplicate(conn, insp, folders, source)
        try:
            validation = validate(insp, encoding=encoding, progress=progress)
        except ArgusFileError as exc:
            return reject(conn, insp, exc.error, folders=folders, source=source)
        insp.content = dataclasses.replace(insp.content, data=None)  # parsed: the bytes are not needed again
    except Exception as exc:  # noqa: BLE001 - audited, then reported as this file's failure
        raise _failed(conn, insp, exc, source) from exc
    result = load(conn, insp, validation, strict=strict, validate_only=validate_only, progress=progress,
                  source=source, policy=policy)
    analyzing = time.perf_counter()
    analyzed, analyze_error = analyze(conn, validation, result)
    if analyzed:
        result.timings["analyze"] = time.perf_counter() - analyzing
    result.timings = {"read": inspected - started + validation.timings.get("parse", 0.0), **result.timings,
                      "total": time.perf_counter() - started}
    moved = file_away(conn, insp, result.status, folders, errors=result.errors, batch_id=result.import_batch_id)
    return FileRun(insp, result, validation, moved, analyzed, analyze_error)


def import_file(conn: psycopg.Connection, path: str | Path, service_code: str, group_code: str | None = None,
                **options) -> ImportResult:
    """``run_file(...).result``: the ``wfm import --json`` line of one file (options: see ``run_file``)."""
    return run_file(conn, path, service_code, group_code, **options).result


def _duplicate(conn: psycopg.Connection, insp: Inspection, folders: Folders | None, source: str) -> FileRun:
    with conn.transaction():
        result = record_duplicate(conn, insp.duplicate_of, file=str(insp.path), file_name=insp.file_name,
                                  sha256=insp.sha256, target=insp.target, source=source)
    moved = file_away(conn, insp, "duplicate", folders, batch_id=result.import_batch_id)
    return FileRun(insp, result, moved=moved)


def _failed(conn: psycopg.Connection, insp: Inspection, exc: BaseException, source: str) -> ImportFailedError:
    reason = describe_failure(exc)
    target = insp.target
    failed = ImportResult(file=str(insp.path), status="failed", sha256=insp.sha256,
                          service=target.service_code if target else None, group=target.group_code if target else None,
                          error_message=reason, errors=[RowError.of(None, None, E.IMPORT_FAILED, reason=reason)])
    failed.import_batch_id = record_failure(conn, reason, batch_id=None, file_name=insp.file_name,
                                            sha256=insp.sha256, target=target, source=source, result=failed)
    return ImportFailedError(f"{insp.file_name}: import failed: {reason}", failed.import_batch_id, failed)


__all__ = ["FileRun", "Inspection", "Moved", "file_away", "import_file", "inspect", "load", "read", "reject",
           "run_file", "validate"]
