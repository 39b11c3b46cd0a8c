"""One file of per-call or per-agent records, end to end: the Argus import's steps
(``argus.steps``: inspect - read and hash once, service, duplicate -, reject, file_away) around
a kind's own parse, validation and audited load. Call-record and agent-state files differ only
in those three callables and in their batch kind.

Several files: ``Prefetcher`` reads, parses and validates the next file in a thread of its own
while the current one is loaded (a kind that splits its validation into database ``lookups``
and a pure ``check``). The database work stays on the caller's connection and in file order;
what the thread prepared is used only when it was made for the same service and the same
lookups the file's own turn finds, so every file gets the verdicts of a file imported alone.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg

from wfm_pipeline.argus import steps
from wfm_pipeline.argus.errors import ArgusFileError
from wfm_pipeline.argus.landing import Folders
from wfm_pipeline.argus.loader import ImportResult, LoadPolicy, Progress, Target, mark_kind, require_idle
from wfm_pipeline.argus.reader import FileContent


@dataclasses.dataclass(frozen=True)
class RecordFileKind:
    batch_kind: str                                             # import_batches.kind
    parse: Callable[[FileContent, str, str | None], Any]        # (content, file name, encoding) -> raw rows
    validate: Callable[[psycopg.Connection, Any, Target], Any]  # leaves the connection idle
    load: Callable[..., ImportResult]                           # (conn, validation, target, details=..., **options)
    # Optional, for ``Prefetcher``: validate == check(raw, target, lookups(conn, target)).
    lookups: Callable[[psycopg.Connection, Target], Any] | None = None  # what validation reads from the database
    check: Callable[[Any, Target, Any], Any] | None = None              # (raw, target, lookups) -> validation


@dataclasses.dataclass
class Prepared:
    """A file read, parsed and validated ahead of its turn (``prepare``), for ``target`` and
    ``lookups``. ``content`` None: reading failed (the file's turn reads it again and reports)."""

    path: Path
    target: Target
    lookups: Any
    content: FileContent | None = None
    raw: Any = None
    parse_error: ArgusFileError | None = None
    validation: Any = None
    parse_seconds: float = 0.0


def prepare(kind: RecordFileKind, path: Path, target: Target, lookups: Any, *, encoding: str | None = None,
            folders: Folders | None = None) -> Prepared:
    """Read, parse and validate a file without the database (any thread). Stops at the first
    problem and leaves it for the file's turn, which meets it again in its place."""
    prepared = Prepared(path, target, lookups)
    try:
        started = time.perf_counter()
        prepared.content = steps.read(path, folders)
        if prepared.content.data is None:  # too large: the turn rejects it
            return prepared
        try:
            prepared.raw = kind.parse(prepared.content, path.name, encoding)
        except ArgusFileError as exc:
            prepared.parse_error = exc
            return prepared
        prepared.parse_seconds = time.perf_counter() - started
        prepared.content = dataclasses.replace(prepared.content, data=None)  # parsed: the bytes are not needed again
        prepared.validation = kind.check(prepared.raw, target, lookups)
    except Exception:  # noqa: BLE001 - the file's turn does it again and reports it there
        return Prepared(path, target, lookups)
    return prepared


def run_record_file(conn: psycopg.Connection, path: str | Path, service_code: str | None, kind: RecordFileKind, *,
                    strict: bool = False, validate_only: bool = False, progress: Progress | None = None,
                    source: str = "file", policy: LoadPolicy | None = None, encoding: str | None = None,
                    content: FileContent | None = None, folders: Folders | None = None,
                    prepared: Prepared | None = None) -> steps.FileRun:
    """Import one file of ``kind``. File-level problems (unreadable, missing columns, no rows,
    unknown service) give a ``rejected`` result, recorded as such; any other failure raises
    ``ImportFailedError`` after recording a ``failed`` batch (when the database is reachable).
    ``prepared``: what ``prepare`` made of this file ahead of its turn (used where it applies)."""
    require_idle(conn)
    path = Path(path)
    started = time.perf_counter()
    insp = steps.Inspection(path)

    def marked(run: steps.FileRun) -> steps.FileRun:  # a rejected or duplicate file's batch carries the kind too
        mark_kind(conn, run.result.import_batch_id, kind.batch_kind)
        return run

    if prepared is not None and (prepared.path != path or prepared.content is None):
        prepared = None
    try:
        if progress:
            progress("read", 0, 1)
        insp = steps.inspect(conn, path, service_code, None, content=prepared.content if prepared else content,
                             folders=folders)
        if insp.error is not None:
            return marked(steps.reject(conn, insp, folders=folders, source=source))
        if insp.duplicate_of is not None and not validate_only:
            return marked(steps._duplicate(conn, insp, folders, source))
        if prepared is not None and prepared.parse_error is not None:
            return marked(steps.reject(conn, insp, prepared.parse_error.error, folders=folders, source=source))
        if prepared is not None and prepared.raw is not None:
            raw, parsed = prepared.raw, started + prepared.parse_seconds
        else:
            try:
                raw = kind.parse(insp.content, insp.file_name, encoding)
            except ArgusFileError as exc:
                return marked(steps.reject(conn, insp, exc.error, folders=folders, source=source))
            parsed = time.perf_counter()
        insp.content = dataclasses.replace(insp.content, data=None)  # parsed: the bytes are not needed again
        if progress:
            progress("validate", 0, raw.rows_total)
        validation = _prepared_validation(conn, kind, prepared, insp.target) if prepared is not None else None
        if validation is None:
            validation = kind.validate(conn, raw, insp.target)
    except Exception as exc:  # noqa: BLE001 - audited, then reported as this file's failure
        failed = steps._failed(conn, insp, exc, source)
        mark_kind(conn, failed.import_batch_id, kind.batch_kind)
        raise failed from exc
    details: dict[str, Any] = {"landing_file": insp.where} if insp.where else {}
    details.update(header_row=raw.header_row, blank_rows=raw.blank_rows, ignored_columns=list(raw.ignored_columns))
    result = kind.load(conn, validation, insp.target, details=details, file_name=insp.file_name, sha256=insp.sha256,
                       file=str(path), strict=strict, validate_only=validate_only, progress=progress, source=source,
                       policy=policy)
    result.timings = {"read": parsed - started, **result.timings, "total": time.perf_counter() - started}
    moved = steps.file_away(conn, insp, result.status, folders, errors=result.errors, batch_id=result.import_batch_id)
    return steps.FileRun(insp, result, validation, moved)


def _prepared_validation(conn: psycopg.Connection, kind: RecordFileKind, prepared: Prepared, target: Target) -> Any:
    """The prepared validation when it was made for this target and the lookups are unchanged
    (read again now, as the file's own validation would), else None. Leaves ``conn`` idle."""
    if prepared.validation is None or prepared.target != target or kind.lookups is None:
        return None
    try:
        same = kind.lookups(conn, target) == prepared.lookups
    finally:
        conn.rollback()
    return prepared.validation if same else None


class Prefetcher:
    """Imports files of one kind in order, preparing the next file (``prepare``: read, parse,
    validate) in a background thread while the current one is loaded on ``conn``.

    ``run(conn, path, service_code, **options)`` is ``run_record_file`` for the next file of
    ``files`` ((path, service code) pairs, the order they will be run in); a path run out of
    that order is simply not prefetched. ``close()`` (or the ``with`` block) stops the thread.
    """

    def __init__(self, kind: RecordFileKind, files: Iterable[tuple[str | Path, str | None]], *,
                 encoding: str | None = None, folders: Folders | None = None) -> None:
        self.kind = kind
        self.files = [(Path(p), code) for p, code in files]
        self.encoding = encoding
        self.folders = folders
        self._next = 0
        self._pending: dict[Path, Future[Prepared]] = {}
        self._targets: dict[str, tuple[Target, Any] | None] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wfm-prefetch") \
            if kind.lookups is not None and kind.check is not None else None

    def __enter__(self) -> Prefetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            for future in self._pending.values():
                future.cancel()
            self._pending.clear()
            self._pool.shutdown(wait=True)
            self._pool = None

    def _target(self, conn: psycopg.Connection, service_code: str | None) -> tuple[Target, Any] | None:
        """The service and validation lookups for prefetching (None: unknown service; its files
        are not prefetched, their turn rejects them). Leaves ``conn`` idle."""
        if service_code is None:
            return None
        if service_code not in self._targets:
            try:
                target = steps.resolve_target(conn, service_code)
                self._targets[service_code] = (target, self.kind.lookups(conn, target))
            except ArgusFileError:
                self._targets[service_code] = None
            finally:
                conn.rollback()
        return self._targets[service_code]

    def _submit_next(self, conn: psycopg.Connection, after: Path) -> None:
        """Start preparing the file that follows ``after`` in the list."""
        index = next((i for i, (p, _) in enumerate(self.files) if p == after and i >= self._next), None)
        if index is None or self._pool is None:
            return
        self._next = index + 1
        if self._next >= len(self.files):
            return
        path, code = self.files[self._next]
        if path in self._pending:
            return
        known = self._target(conn, code)
        if known is not None:
            self._pending[path] = self._pool.submit(prepare, self.kind, path, known[0], known[1],
                                                    encoding=self.encoding, folders=self.folders)

    def run(self, conn: psycopg.Connection, path: str | Path, service_code: str | None, **options: Any) -> steps.FileRun:
        require_idle(conn)
        path = Path(path)
        encoding = options.pop("encoding", self.encoding)
        folders = options.pop("folders", self.folders)
        future = self._pending.pop(path, None)
        self._submit_next(conn, path)
        prepared = future.result() if future is not None else None
        if encoding != self.encoding or folders is not self.folders:  # prepared another way: not this turn's
            prepared = None
        return run_record_file(conn, path, service_code, self.kind, encoding=encoding, folders=folders,
                               prepared=prepared, **options)
