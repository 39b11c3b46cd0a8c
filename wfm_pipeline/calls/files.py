"""One file of per-call or per-agent records, end to end: the Argus import's steps
(``argus.steps``: inspect - read and hash once, service, duplicate -, reject, file_away) around
a kind's own parse, validation and audited load. Call-record and agent-state files differ only
in those three callables and in their batch kind.

``analyze=True`` (the Dagster file assets) adds the Argus import's ANALYZE step after a load that
wrote rows: the month partitions the kind writes (``ANALYZED``) where autovacuum's rule is met,
and their parents when never analyzed (``warehouse.maintenance.analyze_touched``)."""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import psycopg

from wfm_pipeline.argus import steps
from wfm_pipeline.argus.errors import ArgusFileError, RowError
from wfm_pipeline.argus.landing import Folders
from wfm_pipeline.argus.loader import (
    ImportFailedError, ImportResult, LoadPolicy, Progress, Target, find_duplicate, mark_kind, require_idle,
)
from wfm_pipeline.argus.reader import FileContent
from wfm_pipeline.warehouse import maintenance
from wfm_pipeline.warehouse.maintenance import AnalyzedPartition

# Per batch kind: the column of ``validation.valid`` whose UTC months a load writes, and the
# partitioned tables it writes (agent_activity may also get the month after a call's, for talk
# and wrap-up that run past midnight at a month end: counted with the call's month).
ANALYZED: dict[str, tuple[str, tuple[str, ...]]] = {
    "calls": ("offered_at", ("wfm.call_records", "wfm.contact_statistics", "wfm.contact_statistics_history",
                             "wfm.agent_activity")),
    "agent_states": ("at", ("wfm.agent_state_transitions", "wfm.agent_activity")),
}

# While a prefetch thread runs pure-Python work (parsing, validating), the loading thread needs the
# GIL back after every wait on the server: each ~128 kB block of a COPY (psycopg's chunk; ~60 for a
# service-month file of calls) and each statement. By default it waits up to the switch interval
# (5 ms) each time: an 8 MB COPY of calls took 0.43 s alone and 0.63 s beside a busy Python thread,
# 0.41 s with a 0.2 ms interval (medians of four, back to back). So the loading thread lowers the
# interval while it loads (process-wide: counted, the last one out restores it).
LOADING_SWITCH_INTERVAL = 0.0002
_switch_lock = threading.Lock()
_switch_users = 0
_switch_saved = 0.0


@contextlib.contextmanager
def quick_gil_handoff() -> Any:
    """Lower ``sys.setswitchinterval`` to ``LOADING_SWITCH_INTERVAL`` for the block (see above)."""
    global _switch_users, _switch_saved
    with _switch_lock:
        if _switch_users == 0:
            _switch_saved = sys.getswitchinterval()
            sys.setswitchinterval(min(_switch_saved, LOADING_SWITCH_INTERVAL))
        _switch_users += 1
    try:
        yield
    finally:
        with _switch_lock:
            _switch_users -= 1
            if _switch_users == 0:
                sys.setswitchinterval(_switch_saved)


@dataclasses.dataclass(frozen=True)
class RecordFileKind:
    batch_kind: str                                             # import_batches.kind
    parse: Callable[[FileContent, str, str | None], Any]        # (content, file name, encoding) -> raw rows
    validate: Callable[[psycopg.Connection, Any, Target], Any]  # leaves the connection idle
    load: Callable[..., ImportResult]                           # (conn, validation, target, details=..., **options)
    # Optional: a validation that reads nothing from the database but ``lookups`` (validate ==
    # check(raw, target, lookups(conn, target))). ``Prefetcher`` then validates files of the same
    # service ahead too, and uses a validation made ahead only if the lookups are unchanged.
    lookups: Callable[[psycopg.Connection, Target], Any] | None = None
    check: Callable[[Any, Target, Any], Any] | None = None


def run_record_file(conn: psycopg.Connection, path: str | Path, service_code: str | None, kind: RecordFileKind, *,
                    strict: bool = False, validate_only: bool = False, progress: Progress | None = None,
                    source: str = "file", policy: LoadPolicy | None = None, encoding: str | None = None,
                    content: FileContent | None = None, folders: Folders | None = None,
                    analyze: bool = False) -> steps.FileRun:
    """Import one file of ``kind``. File-level problems (unreadable, missing columns, no rows,
    unknown service) give a ``rejected`` result, recorded as such; any other failure raises
    ``ImportFailedError`` after recording a ``failed`` batch (when the database is reachable).
    ``analyze``: refresh the statistics of the months written (module doc)."""
    require_idle(conn)
    prepared = prepare(conn, path, service_code, kind, validate_only=validate_only, progress=progress,
                       encoding=encoding, content=content, folders=folders)
    return finish(conn, prepared, kind, strict=strict, validate_only=validate_only, progress=progress, source=source,
                  policy=policy, folders=folders, analyze=analyze)


@dataclasses.dataclass
class Prepared:
    """What ``prepare`` found out about a file without writing anything: the inspection, the
    parsed rows and (when asked) their validation, or the verdict reached on the way (the
    inspection's error or duplicate, the parser's file error, an unexpected failure)."""

    insp: steps.Inspection
    started: float
    raw: Any = None
    validation: Any = None
    parse_error: RowError | None = None
    failure: Exception | None = None
    parsed: float = 0.0
    lookups: Any = None          # what the validation was made with (kinds with ``lookups``)


def prepare(conn: psycopg.Connection, path: str | Path, service_code: str | None, kind: RecordFileKind, *,
            validate: bool = True, validate_only: bool = False, progress: Progress | None = None,
            encoding: str | None = None, content: FileContent | None = None,
            folders: Folders | None = None) -> Prepared:
    """The read-only half of ``run_record_file``: inspect (read and hash once, service,
    duplicate), parse and, with ``validate``, validate. Leaves ``conn`` idle; never raises for
    the file's sake (``finish`` records what went wrong)."""
    path = Path(path)
    p = Prepared(steps.Inspection(path), time.perf_counter())
    try:
        if progress:
            progress("read", 0, 1)
        p.insp = steps.inspect(conn, path, service_code, None, content=content, folders=folders)
        if p.insp.error is not None or (p.insp.duplicate_of is not None and not validate_only):
            return p
        try:
            p.raw = kind.parse(p.insp.content, p.insp.file_name, encoding)
        except ArgusFileError as exc:
            p.parse_error = exc.error
            return p
        p.parsed = time.perf_counter()
        p.insp.content = dataclasses.replace(p.insp.content, data=None)  # parsed: the bytes are not needed again
        if validate:
            if progress:
                progress("validate", 0, p.raw.rows_total)
            if kind.lookups is not None and kind.check is not None:
                p.lookups = kind.lookups(conn, p.insp.target)
                conn.rollback()
                p.validation = kind.check(p.raw, p.insp.target, p.lookups)
            else:
                p.validation = kind.validate(conn, p.raw, p.insp.target)
    except Exception as exc:  # noqa: BLE001 - recorded by finish as this file's failure
        p.failure = exc
    return p


def record_failure(conn: psycopg.Connection, insp: steps.Inspection, exc: BaseException, kind: RecordFileKind,
                   source: str) -> ImportFailedError:
    """A file's failure, audited: its failed batch (the Argus step's), marked with the kind."""
    failed = steps._failed(conn, insp, exc, source)
    mark_kind(conn, failed.import_batch_id, kind.batch_kind)
    return failed


def finish(conn: psycopg.Connection, p: Prepared, kind: RecordFileKind, *, strict: bool = False,
           validate_only: bool = False, progress: Progress | None = None, source: str = "file",
           policy: LoadPolicy | None = None, folders: Folders | None = None,
           analyze: bool = False) -> steps.FileRun:
    """The writing half of ``run_record_file``: record the verdict ``prepare`` reached, or
    validate (unless ``prepare`` did) and load, ANALYZE with ``analyze``, then file the file away."""
    require_idle(conn)
    insp = p.insp

    def marked(run: steps.FileRun) -> steps.FileRun:  # a rejected or duplicate file's batch carries the kind too
        mark_kind(conn, run.result.import_batch_id, kind.batch_kind)
        return run

    try:
        if p.failure is not None:
            raise p.failure
        if insp.error is not None:
            return marked(steps.reject(conn, insp, folders=folders, source=source))
        if insp.duplicate_of is not None and not validate_only:
            return marked(steps._duplicate(conn, insp, folders, source))
        if p.parse_error is not None:
            return marked(steps.reject(conn, insp, p.parse_error, folders=folders, source=source))
        validation = p.validation
        if validation is None:
            if progress:
                progress("validate", 0, p.raw.rows_total)
            validation = kind.validate(conn, p.raw, insp.target)
    except Exception as exc:  # noqa: BLE001 - audited, then reported as this file's failure
        raise record_failure(conn, insp, exc, kind, source) from exc
    raw = p.raw
    details: dict[str, Any] = {"landing_file": insp.where} if insp.where else {}
    details.update(header_row=raw.header_row, blank_rows=raw.blank_rows, ignored_columns=list(raw.ignored_columns))
    result = kind.load(conn, validation, insp.target, details=details, file_name=insp.file_name, sha256=insp.sha256,
                       file=str(insp.path), strict=strict, validate_only=validate_only, progress=progress, source=source,
                       policy=policy)
    analyzed: list[AnalyzedPartition] = []
    analyze_error = None
    if analyze:
        analyzing = time.perf_counter()
        analyzed, analyze_error = analyze_written(conn, kind.batch_kind, validation, result)
        if analyzed:
            result.timings["analyze"] = time.perf_counter() - analyzing
    result.timings = {"read": p.parsed - p.started, **result.timings, "total": time.perf_counter() - p.started}
    moved = steps.file_away(conn, insp, result.status, folders, errors=result.errors, batch_id=result.import_batch_id)
    return steps.FileRun(insp, result, validation, moved, analyzed, analyze_error)


def analyze_written(conn: psycopg.Connection, batch_kind: str, validation: Any, result: ImportResult) -> tuple[
        list[AnalyzedPartition], str | None]:
    """``steps.analyze`` with the kind's column and tables (``ANALYZED``)."""
    if batch_kind not in ANALYZED:
        return [], None
    column, tables = ANALYZED[batch_kind]
    return steps.analyze(conn, validation, result, column=column, tables=tables)


def analyze_months(conn: psycopg.Connection, batch_kind: str, results: Sequence[ImportResult]) -> list[AnalyzedPartition]:
    """One ANALYZE step after a run of files of ``batch_kind`` imported without ``analyze``
    (``wfm import FILE...``): the kind's tables (``ANALYZED``), months the completed results wrote
    (``ImportResult.months``; a file's rows written spread evenly over its months), by
    ``maintenance.analyze_touched`` (autovacuum's rule, never-analyzed months and parents)."""
    if batch_kind not in ANALYZED:
        return []
    rows: dict[date, int] = {}
    for result in results:
        written = result.rows_inserted + result.rows_updated
        if result.status not in ("completed", "completed_with_errors") or not written or not result.months:
            continue
        for month in result.months:
            key = date.fromisoformat(f"{month}-01")
            rows[key] = rows.get(key, 0) + -(-written // len(result.months))
    if not rows:
        return []
    return [a for table in ANALYZED[batch_kind][1] for a in maintenance.analyze_touched(conn, table, rows)]


class Prefetcher:
    """``run_record_file`` for a known sequence of files, with the next file prepared while the
    current one loads: a worker thread, on a connection of its own (``connect``), reads and
    parses the next file and - when it belongs to another service than the file being loaded -
    validates it too (validation may read what earlier files of its own service stored, e.g. the
    agent sessions around a file, so a file of the same service is validated only once the
    file before it is committed). Everything that writes (batches, rows, audit, filing away)
    stays on the caller's connection, file by file in the given order: every file keeps its own
    audited batch, transaction and verdict, exactly as one ``run_record_file`` after another.

    ``run(conn, path, service_code, **options)`` is ``run_record_file`` for the next file of the
    sequence (a file out of sequence is simply prepared on the spot). ``close()`` ends the worker.
    """

    def __init__(self, kind: RecordFileKind, files: Sequence[tuple[str | Path, str | None]],
                 connect: Callable[[], psycopg.Connection], *, validate_only: bool = False,
                 encoding: str | None = None) -> None:
        self.kind = kind
        self.files = [(Path(path), service) for path, service in files]
        self.connect = connect
        self.validate_only = validate_only
        self.encoding = encoding
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="wfm-prefetch")
        self._conn: psycopg.Connection | None = None   # the worker's; used by the worker thread only
        self._pending: tuple[int, concurrent.futures.Future[Prepared]] | None = None
        self._position = 0

    def __enter__(self) -> Prefetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pending is not None:
            self._pending[1].cancel()
            self._pending = None
        self._pool.submit(self._close_conn).result()
        self._pool.shutdown(wait=True)

    def _close_conn(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _prepare_ahead(self, index: int, validate: bool) -> Prepared:
        path, service = self.files[index]
        try:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._close_conn()
                self._conn = self.connect()
            return prepare(self._conn, path, service, self.kind, validate=validate, validate_only=self.validate_only,
                           encoding=self.encoding)
        except Exception as exc:  # noqa: BLE001 - no worker connection: prepared again on the caller's
            return Prepared(steps.Inspection(path), time.perf_counter(), failure=exc)

    def _take(self, path: Path, service_code: str | None) -> tuple[int | None, Prepared | None]:
        """The prepared file for ``path`` when it is the one prefetched."""
        pending, self._pending = self._pending, None
        index = self._position if self._position < len(self.files) else None
        if index is None or self.files[index] != (path, service_code):
            if pending is not None:
                pending[1].cancel()
            matches = [i for i, f in enumerate(self.files) if f == (path, service_code)]
            return (matches[0] if matches else None), None
        if pending is not None and pending[0] == index:
            return index, pending[1].result()
        return index, None

    def run(self, conn: psycopg.Connection, path: str | Path, service_code: str | None, *, strict: bool = False,
            progress: Progress | None = None, source: str = "file", policy: LoadPolicy | None = None,
            analyze: bool = False, **_: Any) -> steps.FileRun:
        """``run_record_file`` of the next file (``validate_only`` and ``encoding`` are the
        prefetcher's; other options of ``run_record_file`` are not taken)."""
        # the worker prepares files in pure Python meanwhile: take the GIL back fast after each wait
        with quick_gil_handoff():
            return self._run(conn, path, service_code, strict=strict, progress=progress, source=source,
                             policy=policy, analyze=analyze)

    def _run(self, conn: psycopg.Connection, path: str | Path, service_code: str | None, *, strict: bool,
             progress: Progress | None, source: str, policy: LoadPolicy | None, analyze: bool) -> steps.FileRun:
        require_idle(conn)
        path = Path(path)
        started = time.perf_counter()
        index, p = self._take(path, service_code)
        if p is not None and p.failure is None and p.insp.error is None:
            # an earlier file of this run may have had the same content: look again, here
            p.insp.duplicate_of = find_duplicate(conn, p.insp.sha256, p.insp.target)
            conn.rollback()
            if p.raw is None and p.parse_error is None and (p.insp.duplicate_of is None or self.validate_only):
                p = None   # prepared as a duplicate that no longer is one: prepare it again
            elif p.validation is not None and self.kind.lookups is not None:
                # validated ahead: only as good as what it looked up (a group added meanwhile)
                if self.kind.lookups(conn, p.insp.target) != p.lookups:
                    p.validation = None   # finish validates it again, now
                conn.rollback()
        if p is None or p.failure is not None:  # not prefetched, or the worker failed: on the caller's connection
            p = prepare(conn, path, service_code, self.kind, validate=False, validate_only=self.validate_only,
                        encoding=self.encoding)
        if progress:
            progress("read", 0, 1)
        if index is not None:
            self._position = index + 1
            if self._position < len(self.files):
                following = self.files[self._position][1]
                ahead = following != service_code or self.kind.lookups is not None
                self._pending = (self._position, self._pool.submit(self._prepare_ahead, self._position, ahead))
        run = finish(conn, p, self.kind, strict=strict, validate_only=self.validate_only, progress=progress,
                     source=source, policy=policy, analyze=analyze)
        run.result.timings["total"] = time.perf_counter() - started
        return run
