"""Importing several files in a row (``wfm import``): one file's failure never stops the rest.

``import_files`` yields one ``ImportResult`` per path, in order, each from ``steps.import_file``
(the one import path; this module adds only the loop and the reconnection). Whatever happens to a file -
a lock timeout after the retries, a deadlock, the database connection dropped, an unexpected
exception - gives that file a ``failed`` result with the reason, an audit row when the
database is reachable (the loader's, or one written here after reconnecting), and the next
file is attempted on a fresh connection if the old one is broken.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import psycopg

from wfm_pipeline.argus import errors as E
from wfm_pipeline.argus.errors import RowError
from wfm_pipeline.argus.loader import (ImportFailedError, ImportResult, LoadPolicy, Progress, describe_failure,
                                       mark_failed, record_failure)
from wfm_pipeline.argus.steps import import_file, inspect

Connect = Callable[[], psycopg.Connection]


def import_files(connect: Connect, paths: Iterable[Path], service_code: str | Callable[[Path], str],
                 group_code: str | None = None, *,
                 strict: bool = False, validate_only: bool = False,
                 progress_for: Callable[[Path], Progress | None] | None = None,
                 policy: LoadPolicy | None = None, importer: Callable[..., ImportResult] | None = None,
                 **options: Any) -> Iterator[ImportResult]:
    """Import each path with ``import_file`` (``options`` are passed on); yields the results.

    ``connect`` opens a new connection (called again after a connection broke). ``service_code``
    is the service of every file, or a function giving each path's (``wfm import
    --service-from-folder``). ``importer`` replaces ``import_file`` (same arguments; call
    records: ``calls.loader.import_call_file``).
    """
    importer = importer or import_file
    service_of = service_code if callable(service_code) else (lambda _path, code=service_code: code)
    conn: psycopg.Connection | None = None
    try:
        for path in paths:
            path = Path(path)
            code = service_of(path)
            progress = progress_for(path) if progress_for else None
            try:
                conn = usable_connection(conn, connect)
                result = importer(conn, path, code, group_code, strict=strict,
                                  validate_only=validate_only, progress=progress, policy=policy, **options)
            except ImportFailedError as exc:
                result = exc.result or ImportResult(file=str(path), status="failed", error_message=str(exc))
                result.import_batch_id = exc.import_batch_id
                if conn is None or conn.closed or conn.broken:
                    conn = _audit_after_reconnect(connect, path, code, group_code, result)
            except Exception as exc:  # noqa: BLE001 - reported as this file's failure; the next file goes on
                reason = describe_failure(exc)
                result = ImportResult(file=str(path), status="failed", error_message=reason,
                                      errors=[RowError.of(None, None, E.IMPORT_FAILED, reason=reason)])
                conn = _audit_after_reconnect(connect, path, code, group_code, result, old=conn)
            finally:
                close = getattr(progress, "close", None)
                if callable(close):
                    close()
            yield result
    finally:
        if conn is not None:
            conn.close()


def usable_connection(conn: psycopg.Connection | None, connect: Connect) -> psycopg.Connection:
    """The connection if it still works (with no transaction open), else a new one."""
    if conn is not None and not conn.closed and not conn.broken:
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.rollback()
        return conn
    if conn is not None:
        conn.close()
    return connect()


def _audit_after_reconnect(connect: Connect, path: Path, service_code: str, group_code: str | None,
                           result: ImportResult, old: psycopg.Connection | None = None) -> psycopg.Connection | None:
    """Record the failure on a working connection (the old one if it still works, else a new
    one); returns that connection, or None when the database is unreachable."""
    try:
        conn = usable_connection(old, connect)
    except Exception:  # noqa: BLE001 - the database is gone: the JSON line is all there is
        return None
    try:
        reason = result.error_message or "import failed"
        if result.import_batch_id is not None:
            # The loader's running batch (its session is gone, so the sweep would get it too).
            with conn.transaction():
                mark_failed(conn, result.import_batch_id, reason, result=result)
            return conn
        seen = inspect(conn, path, service_code, group_code, keep=False)  # sha256 and service/group, if known
        result.sha256 = result.sha256 or seen.sha256
        result.import_batch_id = record_failure(conn, reason, batch_id=None, file_name=path.name,
                                                sha256=seen.sha256, target=seen.target, result=result)
    except Exception:  # noqa: BLE001 - best effort: the failure is already reported
        if not conn.closed and not conn.broken:
            conn.rollback()
    return conn


__all__ = ["Connect", "import_files", "usable_connection"]
