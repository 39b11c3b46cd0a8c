"""One file of per-call or per-agent records, end to end: the Argus import's steps
(``argus.steps``: inspect - read and hash once, service, duplicate -, reject, file_away) around
a kind's own parse, validation and audited load. Call-record and agent-state files differ only
in those three callables and in their batch kind."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
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


def run_record_file(conn: psycopg.Connection, path: str | Path, service_code: str | None, kind: RecordFileKind, *,
                    strict: bool = False, validate_only: bool = False, progress: Progress | None = None,
                    source: str = "file", policy: LoadPolicy | None = None, encoding: str | None = None,
                    content: FileContent | None = None, folders: Folders | None = None) -> steps.FileRun:
    """Import one file of ``kind``. File-level problems (unreadable, missing columns, no rows,
    unknown service) give a ``rejected`` result, recorded as such; any other failure raises
    ``ImportFailedError`` after recording a ``failed`` batch (when the database is reachable)."""
    require_idle(conn)
    path = Path(path)
    started = time.perf_counter()
    insp = steps.Inspection(path)

    def marked(run: steps.FileRun) -> steps.FileRun:  # a rejected or duplicate file's batch carries the kind too
        mark_kind(conn, run.result.import_batch_id, kind.batch_kind)
        return run

    try:
        if progress:
            progress("read", 0, 1)
        insp = steps.inspect(conn, path, service_code, None, content=content, folders=folders)
        if insp.error is not None:
            return marked(steps.reject(conn, insp, folders=folders, source=source))
        if insp.duplicate_of is not None and not validate_only:
            return marked(steps._duplicate(conn, insp, folders, source))
        try:
            raw = kind.parse(insp.content, insp.file_name, encoding)
        except ArgusFileError as exc:
            return marked(steps.reject(conn, insp, exc.error, folders=folders, source=source))
        parsed = time.perf_counter()
        insp.content = dataclasses.replace(insp.content, data=None)  # parsed: the bytes are not needed again
        if progress:
            progress("validate", 0, raw.rows_total)
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
