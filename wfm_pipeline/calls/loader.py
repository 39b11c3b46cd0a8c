"""Loading call-record files: audited, transactional, idempotent, as Argus files are.

``import_call_file(conn, path, service_code, ...) -> ImportResult`` reads, validates and loads one
file; ``load_validated_calls(conn, validation, target, ...)`` loads what ``validate_calls``
accepted. The protocol is the Argus loader's (``wfm_pipeline.argus.loader``), whose pieces this
module uses as they are: a committed ``running`` batch first (swept to ``failed`` if the process
dies), a partition plan without locks, missing months created in a short transaction of their
own, then ONE load transaction retried on lock timeouts/deadlocks (``LoadPolicy``):

1. the duplicate-file check under the file's advisory lock;
2. ROW EXCLUSIVE on ``agent_activity``, ``call_records``, ``contact_statistics``,
   ``contact_statistics_history`` (THE lock order: tables by name, as partition creation takes
   them, so a load and a creation cannot deadlock);
3. ``COPY`` of the accepted calls straight into ``wfm.call_records`` (its monthly partitions);
4. ``wfm.apply_call_records_batch``: versions (a call sent again replaces the current one),
   the intervals of contact_statistics (through its history: latest applied batch wins) and
   agent_activity, all set-based;
5. the ``import_errors`` rows and the batch counters.

Partitions: a call needs its offered_at month in call_records, contact_statistics and the
history, and the months its talk and wrap-up cover in agent_activity; a row whose months lie
outside the on-demand window is ``OUTSIDE_PARTITION_WINDOW``.

Counters: ``rows_inserted`` = new calls, ``rows_updated`` = calls that replaced an earlier
version; ``rows_total = inserted + updated + rejected + skipped`` for every status. The
intervals and agent rows written are in the batch's ``details``.
"""

from __future__ import annotations

import dataclasses
import functools
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg

from wfm_pipeline.argus import errors as E
from wfm_pipeline.argus.errors import RowError
from wfm_pipeline.argus import steps
from wfm_pipeline.argus.loader import (
    ImportResult, LoadKind, Progress, Target, load_rows,
)
from wfm_pipeline.calls import binary_copy
from wfm_pipeline.calls.concurrent import ConcurrentRun, concurrent_files
from wfm_pipeline.calls.files import Prefetcher, RecordFileKind, run_record_file
from wfm_pipeline.calls.reader import parse_call_file
from wfm_pipeline.calls.validate import CallValidation, validate_calls
from wfm_pipeline.db import partitions

# THE lock order: by table name (sql/functions/partitions/ensure_import_partitions.sql).
CALL_TABLES = ("wfm.agent_activity", "wfm.call_records", "wfm.contact_statistics", "wfm.contact_statistics_history")
COPY_BLOCK_BYTES = 4 << 20
_COPY_COLUMNS = ("offered_at", "service_id", "call_id", "answered_at", "ended_at", "outcome", "agent_code",
                 "customer_id", "wrap_up_seconds", "group_id", "import_batch_id", "source_row_number")


def groups_of(conn: psycopg.Connection, service_id: int) -> dict[str, int]:
    """Group code -> group id of a service (the ``group`` column names groups by code)."""
    return dict(conn.execute("SELECT code, group_id FROM wfm.groups WHERE service_id = %s", (service_id,)).fetchall())


# ---------------------------------------------------------------- COPY
def _copy_columns(valid: pd.DataFrame, target: Target, batch_id: uuid.UUID) -> list[binary_copy.Column]:
    n = len(valid)
    wrap = valid["wrap_up_seconds"].astype("Int64")
    group = valid["group_id"].astype("Int64")
    return [
        binary_copy.timestamptz(valid["offered_at"]),
        binary_copy.int4(np.full(n, target.service_id)),
        binary_copy.text(valid["call_id"]),
        binary_copy.timestamptz(valid["answered_at"]),
        binary_copy.timestamptz(valid["ended_at"]),
        binary_copy.text(valid["outcome"]),
        binary_copy.text(valid["agent_code"]),
        binary_copy.text(valid["customer_id"]),
        binary_copy.int4(wrap.fillna(0).to_numpy("int64"), wrap.isna().to_numpy()),
        binary_copy.int4(group.fillna(0).to_numpy("int64"), group.isna().to_numpy()),
        binary_copy.uuid_const(batch_id, n),
        binary_copy.int4(valid["source_row_number"].to_numpy("int64")),
    ]


_BATCH_COLUMN = _COPY_COLUMNS.index("import_batch_id")


def call_copy_data(valid: pd.DataFrame, target: Target, batch_id: uuid.UUID) -> bytes:
    """The accepted calls as one binary COPY stream in ``_COPY_COLUMNS`` order (``binary_copy``:
    no text to format here or to parse on the server)."""
    return binary_copy.encode(_copy_columns(valid, target, batch_id), len(valid))


@dataclasses.dataclass(frozen=True, eq=False)
class PreparedLoad:
    """What the load of one validation's accepted calls needs that depends on nothing but them:
    the COPY stream (the batch id, not known yet, patched in at ``batch_at``) and each call's
    months (``_row_months``). Used only for that very frame (a partition plan that drops rows
    makes a new one)."""

    frame: pd.DataFrame
    target: Target
    data: np.ndarray          # the stream (``binary_copy.encode_buffer``), patched in place at load
    batch_at: np.ndarray
    months: pd.DataFrame

    def copy_data(self, valid: pd.DataFrame, target: Target, batch_id: uuid.UUID) -> bytes | memoryview:
        if valid is not self.frame or target != self.target:
            return call_copy_data(valid, target, batch_id)
        # in place: this runs on the loading thread, where two copies of the ~8 MB stream cost
        # ~4 ms a file; a retried load patches the same places again
        binary_copy.patch_in_place(self.data, self.batch_at, batch_id.bytes)
        return memoryview(self.data)

    def row_months(self, valid: pd.DataFrame) -> pd.DataFrame:
        return self.months if valid is self.frame else _row_months(valid)


def prepare_load(validation: CallValidation, target: Target) -> PreparedLoad:
    """``PreparedLoad`` of a validation (no database: the prefetch thread does it with the rest)."""
    valid = validation.valid
    data, at = binary_copy.encode_buffer(_copy_columns(valid, target, uuid.UUID(int=0)), len(valid),
                                         locate=_BATCH_COLUMN)
    return PreparedLoad(valid, target, data, at if at is not None else np.zeros(0, dtype=np.int64),
                        _row_months(valid) if len(valid) else pd.DataFrame({"first": [], "last": []}))


COPY_CALLS_SQL = f"COPY wfm.call_records ({', '.join(_COPY_COLUMNS)}) FROM STDIN WITH (FORMAT binary)"


def copy_calls(conn: psycopg.Connection, data: bytes | memoryview, total: int, progress: Progress | None = None) -> None:
    """Send a ``call_copy_data`` stream (in blocks, reporting progress by the bytes sent)."""
    with conn.cursor() as cur, cur.copy(COPY_CALLS_SQL) as copy:
        view = memoryview(data)
        for start in range(0, len(data), COPY_BLOCK_BYTES):
            copy.write(view[start:start + COPY_BLOCK_BYTES])
            if progress:
                progress("copy", round(total * min(start + COPY_BLOCK_BYTES, len(data)) / len(data)), total)


# ---------------------------------------------------------------- partitions
def _row_months(valid: pd.DataFrame) -> pd.DataFrame:
    """Per accepted call, the UTC months it needs (offered_at; talk and wrap-up for agent
    activity) as year*100+month keys: columns ``first``, ``last``. (numpy on the UTC
    nanoseconds: the ``.dt`` year and month accessors of tz-aware columns cost ~12 ms a file)"""
    offered = _utc_ns(valid["offered_at"])
    first = _month_keys(offered)
    wrap = valid["wrap_up_seconds"].astype("Int64").to_numpy(dtype=np.int64, na_value=0)
    act_end = _utc_ns(valid["ended_at"]) + wrap * 1_000_000_000
    has_agent = ((valid["outcome"] == "answered") & valid["agent_code"].notna()).to_numpy()
    last = _month_keys(np.where(has_agent, act_end, offered))
    return pd.DataFrame({"first": first, "last": np.maximum(first, last)})


def _utc_ns(series: pd.Series) -> np.ndarray:
    """A tz-aware column as int64 nanoseconds since 1970 UTC (NaT: the int64 minimum)."""
    return series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]").view(np.int64)


def _month_keys(ns: np.ndarray) -> np.ndarray:
    """year*100+month of UTC nanoseconds."""
    months = ns.view("datetime64[ns]").astype("datetime64[M]").astype(np.int64)   # months since 1970-01
    return (months // 12 + 1970) * 100 + months % 12 + 1


def _month_list(keys: set[int]) -> list[date]:
    return [date(k // 100, k % 100, 1) for k in sorted(keys)]


def _months_between(first: int, last: int) -> list[int]:
    out, y, m = [], first // 100, first % 100
    while y * 100 + m <= last:
        out.append(y * 100 + m)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _plan_partitions(conn: psycopg.Connection, valid: pd.DataFrame, result: ImportResult,
                     prepared: PreparedLoad | None = None) -> tuple[pd.DataFrame, list[date], RowError | None]:
    """The partition plan (no locks); rows needing a month outside the on-demand window become
    ``OUTSIDE_PARTITION_WINDOW`` errors. Returns (rows kept, months to create, file error or None)."""
    if not len(valid):
        return valid, [], None
    spans = prepared.row_months(valid) if prepared is not None else _row_months(valid)
    pairs = spans.drop_duplicates()
    needed = {m for f, t in zip(pairs["first"], pairs["last"]) for m in _months_between(int(f), int(t))}
    with conn.transaction():
        plan = partitions.import_partitions(conn, CALL_TABLES, _month_list(needed), create=False)
        windows = {t: partitions.window(conn, t) for t in CALL_TABLES}
    outside = {a.month.year * 100 + a.month.month for a in plan if a.action == "outside_window"}
    missing = sorted({a.month for a in plan if a.action == "missing"} - set(_month_list(outside)))
    if outside:
        first_ok = max(w[0] for w in windows.values())
        last_ok = min(w[1] for w in windows.values())
        bad = np.array([any(m in outside for m in _months_between(int(f), int(t)))
                        for f, t in zip(spans["first"], spans["last"])], dtype=bool)
        dropped = valid[bad]
        errors = [
            RowError.of(int(row), "offered_at", E.OUTSIDE_PARTITION_WINDOW, ts.isoformat(),
                        interval=f"{ts.floor('15min'):%Y-%m-%d %H:%M}", month=f"{ts:%Y-%m}",
                        first=f"{first_ok:%Y-%m}", last=f"{last_ok:%Y-%m}")
            for row, ts in zip(dropped["source_row_number"], dropped["offered_at"].dt.tz_convert("UTC"))]
        result.errors = sorted(result.errors + errors, key=lambda e: (e.row is None, e.row or 0))
        result.rows_rejected += len(errors)
        valid = valid[~bad].reset_index(drop=True)
        kept = _row_months(valid)
        needed = {m for f, t in zip(kept["first"], kept["last"]) for m in _months_between(int(f), int(t))}
        missing = [m for m in missing if m.year * 100 + m.month in needed]
        _set_range(result, valid)
    limit = min(w[2] for w in windows.values())
    if len(missing) > limit:
        return valid, missing, RowError.of(None, None, E.TOO_MANY_NEW_MONTHS, None, count=len(missing),
                                           first=f"{missing[0]:%Y-%m}", last=f"{missing[-1]:%Y-%m}", limit=limit)
    return valid, missing, None


def _set_range(result: ImportResult, valid: pd.DataFrame) -> None:
    if len(valid):
        result.first_interval = valid["offered_at"].min().floor("15min")
        result.last_interval = valid["offered_at"].max().floor("15min")
        utc = valid["offered_at"].dt.tz_convert("UTC")
        result.months = sorted({f"{y:04d}-{m:02d}" for y, m in zip(utc.dt.year, utc.dt.month)})
    else:
        result.first_interval = result.last_interval = None
        result.months = []


# ---------------------------------------------------------------- load
def _write_calls(conn: psycopg.Connection, result: ImportResult, valid: pd.DataFrame, target: Target,
                 batch_id: uuid.UUID, details: dict[str, Any], progress: Progress | None,
                 prepared: PreparedLoad | None = None) -> None:
    """COPY the calls, then derive intervals and agent activity (apply_call_records_batch)."""
    t = time.perf_counter()
    data = prepared.copy_data(valid, target, batch_id) if prepared is not None else call_copy_data(valid, target, batch_id)
    copy_calls(conn, data, len(valid), progress)
    result.timings["copy_calls"] = time.perf_counter() - t
    if progress:
        progress("apply", 0, len(valid))
    t = time.perf_counter()
    applied = conn.execute("SELECT * FROM wfm.apply_call_records_batch(%s)", (batch_id,)).fetchone()
    result.timings["apply"] = time.perf_counter() - t
    (result.rows_inserted, result.rows_updated, iv_ins, iv_upd, iv_del, ag_w, ag_d) = applied
    details.update({"intervals_inserted": iv_ins, "intervals_updated": iv_upd, "intervals_deleted": iv_del,
                    "agent_rows_written": ag_w, "agent_rows_deleted": ag_d})


def load_validated_calls(conn: psycopg.Connection, validation: CallValidation, target: Target, *,
                         details: dict[str, Any] | None = None, **options: Any) -> ImportResult:
    """Write one validated call-record file through the audited load (``loader.load_rows``);
    raises ``ImportFailedError`` (after recording the ``failed`` batch) when the load fails."""
    kind = CALLS
    if isinstance(validation.prepared, PreparedLoad):  # the COPY stream and months worked out ahead
        prepared = validation.prepared
        kind = dataclasses.replace(CALLS, plan=functools.partial(_plan_partitions, prepared=prepared),
                                   write=functools.partial(_write_calls, prepared=prepared))
    return load_rows(conn, validation, target, kind,
                     details={**(details or {}), "time_zone": validation.time_zone}, **options)


def _predict(conn: psycopg.Connection, valid: pd.DataFrame, target: Target) -> int:
    """How many accepted calls would replace a current version (validate-only)."""
    if not len(valid):
        return 0
    offered = valid["offered_at"].dt.tz_convert("UTC")
    return conn.execute(
        """SELECT count(*) FROM unnest(%s::text[], %s::timestamptz[]) AS n(call_id, offered_at)
           WHERE EXISTS (SELECT 1 FROM wfm.call_records c
                         WHERE c.service_id = %s AND c.call_id = n.call_id AND c.is_current
                           AND c.offered_at >= date_trunc('month', n.offered_at, 'UTC')
                           AND c.offered_at < date_trunc('month', n.offered_at, 'UTC') + interval '1 month'
                           AND date_trunc('month', c.offered_at, 'UTC') = date_trunc('month', n.offered_at, 'UTC'))""",
        (valid["call_id"].tolist(), [t.to_pydatetime() for t in offered], target.service_id)).fetchone()[0]


# ---------------------------------------------------------------- one file, end to end
def _lookups(conn: psycopg.Connection, target: Target) -> dict[str, int]:
    return groups_of(conn, target.service_id)


def _check(raw: Any, target: Target, groups: dict[str, int]) -> CallValidation:
    validation = validate_calls(raw, target.time_zone, groups, service=target.service_code)
    validation.prepared = prepare_load(validation, target)
    return validation


def _validate(conn: psycopg.Connection, raw: Any, target: Target) -> CallValidation:
    groups = _lookups(conn, target)
    conn.rollback()
    return _check(raw, target, groups)


def run_call_file(conn: psycopg.Connection, path: str | Path, service_code: str | None, **options: Any) -> steps.FileRun:
    """Import one call-record file (``files.run_record_file``: read once, reject, load, file away)."""
    return run_record_file(conn, path, service_code, CALL_FILES, **options)


def import_call_file(conn: psycopg.Connection, path: str | Path, service_code: str, **options: Any) -> ImportResult:
    """``run_call_file(...).result``: the ``wfm import --kind calls --json`` line of one file."""
    return run_call_file(conn, path, service_code, **options).result



CALLS = LoadKind(name="calls", tables=CALL_TABLES, plan=_plan_partitions, write=_write_calls, predict=_predict)
def _parse(content: Any, name: str, encoding: str | None) -> Any:
    return parse_call_file(content, name, encoding=encoding)


# (module-level functions only: a kind is pickled by reference into ConcurrentRun's loading processes)
CALL_FILES = RecordFileKind("calls", _parse, _validate, load_validated_calls, lookups=_lookups, check=_check)


def call_prefetcher(files: Sequence[tuple[str | Path, str | None]], connect: Callable[[], psycopg.Connection], *,
                    validate_only: bool = False, encoding: str | None = None) -> Prefetcher:
    """A ``files.Prefetcher`` for call-record files: ``wfm import --kind calls FILE...`` and the
    benchmark import a sequence of files with it (each file its own audited batch, in order; the
    next file read, parsed, validated and its COPY stream built meanwhile, on a second connection)."""
    return Prefetcher(CALL_FILES, files, connect, validate_only=validate_only, encoding=encoding)


def call_runner(files: Sequence[tuple[str | Path, str | None]], connect: Callable[[], psycopg.Connection], *,
                conninfo: str | None = None, connections: int = 1, validate_only: bool = False,
                encoding: str | None = None, **options: Any) -> Prefetcher | ConcurrentRun:
    """How a sequence of call-record files is imported: files of two or more services on
    ``connections`` loading processes at once, each connecting with ``conninfo``
    (``concurrent.ConcurrentRun``: a file waits for the earlier files of its service), else one
    after the other with the next prepared ahead on ``connect()`` (``call_prefetcher``). Either
    way ``run(conn, path, service_code)``."""
    if concurrent_files(files, connections, conninfo):
        return ConcurrentRun(CALL_FILES, files, conninfo, workers=connections, validate_only=validate_only,
                             encoding=encoding, **options)
    return call_prefetcher(files, connect, validate_only=validate_only, encoding=encoding)
