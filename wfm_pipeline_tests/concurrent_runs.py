"""What the concurrent-load tests (test_agent_concurrent, test_calls_concurrent, and the CLI tests that
spy on which runner a command builds) compare: the
verdicts of a run of files, imported one by one or through a runner on two connections, and the
batches it left - batch ids replaced by file names, so two databases' runs compare equal."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psycopg

from wfm_pipeline.argus.loader import ImportResult
from wfm_pipeline.calls.concurrent import ConcurrentRun

_UUID = re.compile(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}")
Files = Sequence[tuple[Path, str]]


def run_outcomes(conn: psycopg.Connection, files: Files, *, concurrent: bool,
                 runner: Callable[..., Any], import_file: Callable[..., ImportResult]) -> list[dict]:
    """Each file's ``--json`` line without ids and timings: through ``runner(files, connect,
    connections=2)`` (which must pick the concurrent scheduler) or ``import_file`` one by one."""
    if concurrent:
        with runner(files, lambda: psycopg.connect(conn.info.dsn), conninfo=conn.info.dsn, connections=2) as run:
            assert isinstance(run, ConcurrentRun)
            results = [run.run(conn, path, code).result for path, code in files]
    else:
        results = [import_file(conn, path, code) for path, code in files]
    out = []
    for r in results:
        d = r.to_dict()
        for key in ("import_batch_id", "duplicate_of", "timings"):
            d.pop(key, None)
        d["error_message"] = _UUID.sub("<batch>", d["error_message"] or "")
        out.append(d)
    return out


def batches_in_apply_order(conn: psycopg.Connection, *extra: str) -> list[tuple]:
    """Per service, its batches (file, status, counts, ``extra`` columns of ``b``) in apply order:
    "latest batch wins" holds only if this order is the given one."""
    columns = "".join(f", b.{name}" for name in extra)
    return conn.execute(
        f"""SELECT s.code, b.file_name, b.status, b.rows_total, b.rows_inserted, b.rows_updated, b.rows_rejected,
                   b.rows_skipped{columns}, b.apply_seq IS NOT NULL
            FROM wfm.import_batches b LEFT JOIN wfm.services s USING (service_id)
            ORDER BY s.code, b.apply_seq NULLS LAST, b.file_name, b.status""").fetchall()


def spy_on_concurrent_runs(monkeypatch) -> list[int]:
    """The ``workers`` of every ``ConcurrentRun`` the command builds (it still runs)."""
    workers: list[int] = []
    real = ConcurrentRun.__init__

    def init(self, *args, **kwargs) -> None:
        workers.append(kwargs.get("workers", 2))
        real(self, *args, **kwargs)

    monkeypatch.setattr(ConcurrentRun, "__init__", init)
    return workers
