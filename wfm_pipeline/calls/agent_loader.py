"""Loading agent state files: audited, transactional, idempotent, as Argus and call-record files are.

``run_agent_file(conn, path, service_code, ...) -> steps.FileRun`` imports one file;
``import_agent_file`` returns just its ``ImportResult``. The steps:

1. ``argus.steps.inspect`` (read and hash the file once, resolve the service, look for the same
   content imported before), then ``agent_reader.parse_agent_file`` (header row, columns);
2. validation: ``agent_validate.validate_events`` (the rules of ``api_batch_insert_agent_events``'s
   ``wfm.stage_agent_events``; a conformance test holds them to the same verdicts), the session
   rules against the agents' stored events read beforehand (read-only, a transaction of its own);
3. the Argus loader's protocol: a committed ``running`` batch, a partition plan without locks
   (every UTC month from the first to the last accepted event, in ``agent_activity`` and
   ``agent_state_transitions``; a row of a month outside the on-demand window is
   ``OUTSIDE_PARTITION_WINDOW``), missing months created in a short transaction of their own,
   then ONE load transaction retried on lock timeouts/deadlocks: the duplicate-file check under
   the file's advisory lock, ROW EXCLUSIVE on ``agent_activity`` and ``agent_state_transitions``
   (THE lock order: tables by name), ``COPY`` of the accepted events into
   ``wfm.agent_state_transitions``, ``wfm.apply_agent_states_batch`` (versions, state intervals,
   agent_activity, set-based), the ``import_errors`` rows and the batch counters.

Counters: ``rows_inserted`` = new events, ``rows_updated`` = events that replaced an earlier
version (same service, agent and time); ``rows_total = inserted + updated + rejected + skipped``.
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
from wfm_pipeline.argus import steps
from wfm_pipeline.argus.errors import RowError
from wfm_pipeline.argus.loader import (
    ImportResult, LoadKind, Progress, Target, load_rows,
)
from wfm_pipeline.calls import binary_copy
from wfm_pipeline.calls.agent_reader import RawEvents, parse_agent_file
from wfm_pipeline.calls.agent_validate import EventValidation, stored_events, validate_events
from wfm_pipeline.calls.concurrent import ConcurrentRun, LoadFirstPrefetcher, concurrent_files
from wfm_pipeline.calls.files import Prefetcher, RecordFileKind, run_record_file
from wfm_pipeline.calls.loader import groups_of
from wfm_pipeline.calls.agent_times import parse_times
from wfm_pipeline.calls.validate import _text, _Time
from wfm_pipeline.db import partitions

# THE lock order: by table name (sql/functions/partitions/ensure_import_partitions.sql).
AGENT_TABLES = ("wfm.agent_activity", "wfm.agent_state_transitions")
KIND = "agent_states"
# import_batch_id last: a file's COPY stream is built before its batch exists (copy_stream), the
# batch id is patched in at load time
_COPY_COLUMNS = ("started_at", "ended_at", "service_id", "agent_code", "state", "reason", "group_id",
                 "source_row_number", "import_batch_id")


def validate_file(conn: psycopg.Connection, raw: RawEvents, target: Target) -> EventValidation:
    """``agent_validate.validate_events`` with what it needs from the database (the service's
    groups, the agents' stored events around the file); read-only, leaves ``conn`` idle."""
    parsed = parse_times(raw.frame["at"], target.time_zone) if "at" in raw.frame else None
    try:
        groups = groups_of(conn, target.service_id)
        agents = sorted({a for a in _text(raw.frame["agent"]).dropna() if len(a) <= 100}) if "agent" in raw.frame else []
        stored = None
        span = _time_span(parsed) if agents and parsed is not None else None
        if span is not None:
            stored = stored_events(conn, target.service_id, agents, *span)
    finally:
        conn.rollback()
    validation = validate_events(raw, target, groups, stored, parsed=parsed)
    validation.copy_stream = copy_stream(validation.valid)   # here: off the load's path when prepared ahead
    return validation


def _time_span(parsed: _Time) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The first and last valid time of the file (both candidates of an ambiguous one): the
    stored events to read lie around them."""
    times = pd.concat([parsed.early, parsed.late]).dropna()
    if not len(times):
        return None
    return times.min().floor("s"), times.max().ceil("s")


# ---------------------------------------------------------------- partitions
def _month_range(first: pd.Timestamp, last: pd.Timestamp) -> list[date]:
    """Every UTC month from ``first``'s to ``last``'s (a state may span a month without events)."""
    # plain month arithmetic (a pandas period range cost ~0.4 ms, twice per file on the load's path)
    start = pd.Timestamp(first).tz_convert("UTC")
    end = pd.Timestamp(last).tz_convert("UTC")
    return [date(start.year + k // 12, k % 12 + 1, 1)
            for k in range(start.month - 1, (end.year - start.year) * 12 + end.month)]


def _plan_partitions(conn: psycopg.Connection, valid: pd.DataFrame, result: ImportResult) -> tuple[
        pd.DataFrame, list[date], RowError | None]:
    """The partition plan (no locks); events of a month outside the on-demand window become
    ``OUTSIDE_PARTITION_WINDOW`` errors. Returns (rows kept, months to create, file error or None)."""
    if not len(valid):
        return valid, [], None
    with conn.transaction():
        plan = partitions.import_partitions(conn, AGENT_TABLES, _month_range(valid["at"].min(), valid["at"].max()),
                                            create=False)
        # the windows only word an error or bound the months to create: read only then (most
        # files fall in months that exist: two round trips fewer)
        windows = ({t: partitions.window(conn, t) for t in AGENT_TABLES}
                   if any(a.action != "exists" for a in plan) else {})
    outside = {a.month for a in plan if a.action == "outside_window"}
    if outside:
        first_ok = max(w[0] for w in windows.values())
        last_ok = min(w[1] for w in windows.values())
        month_of = valid["at"].dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("M").dt.start_time.dt.date
        bad = month_of.isin(outside).to_numpy()
        errors = [RowError.of(int(row), "at", E.OUTSIDE_PARTITION_WINDOW, ts.isoformat(),
                              interval=f"{ts.floor('15min'):%Y-%m-%d %H:%M}", month=f"{ts:%Y-%m}",
                              first=f"{first_ok:%Y-%m}", last=f"{last_ok:%Y-%m}")
                  for row, ts in zip(valid["source_row_number"][bad], valid["at"][bad].dt.tz_convert("UTC"))]
        result.errors = sorted(result.errors + errors, key=lambda e: (e.row is None, e.row or 0))
        result.rows_rejected += len(errors)
        valid = valid[~bad].reset_index(drop=True)
        _set_range(result, valid)
        if not len(valid):
            return valid, [], None
    needed = set(_month_range(valid["at"].min(), valid["at"].max()))
    missing = sorted({a.month for a in plan if a.action == "missing"} & needed)
    if not missing:
        return valid, [], None
    limit = min(w[2] for w in windows.values())
    if len(missing) > limit:
        return valid, missing, RowError.of(None, None, E.TOO_MANY_NEW_MONTHS, None, count=len(missing),
                                           first=f"{missing[0]:%Y-%m}", last=f"{missing[-1]:%Y-%m}", limit=limit)
    return valid, missing, None


def _set_range(result: ImportResult, valid: pd.DataFrame) -> None:
    if len(valid):
        result.first_interval = valid["at"].min().floor("15min")
        result.last_interval = valid["at"].max().floor("15min")
        result.months = [str(m) for m in np.unique(
            valid["at"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[M]"))]
    else:
        result.first_interval = result.last_interval = None
        result.months = []


# ---------------------------------------------------------------- load
_BATCH_AT = _COPY_COLUMNS.index("import_batch_id")
COPY_EVENTS_SQL = f"COPY wfm.agent_state_transitions ({', '.join(_COPY_COLUMNS)}) FROM STDIN WITH (FORMAT binary)"


def _copy_columns(valid: pd.DataFrame, batch_id: uuid.UUID) -> list[binary_copy.Column]:
    group = valid["group_id"]
    return [binary_copy.timestamptz(valid["at"]), binary_copy.timestamptz(valid["ended_at"]),
            binary_copy.int4(valid["service_id"].to_numpy("int64")), binary_copy.text(valid["agent_code"]),
            binary_copy.text(valid["state"]), binary_copy.text(valid["reason"]),
            binary_copy.int4(group.to_numpy("int64", na_value=0), group.isna().to_numpy()),
            binary_copy.int4(valid["source_row_number"].to_numpy("int64")),
            binary_copy.uuid_const(batch_id, len(valid))]


@dataclasses.dataclass(frozen=True, eq=False)
class CopyStream:
    """The binary COPY stream of one frame of accepted events, built before its batch exists
    (with the validation: in the prefetch worker, off the load's path); the batch id is patched
    in at ``batch_at`` when the load knows it. Used only for that very frame."""

    frame: pd.DataFrame
    data: bytes
    batch_at: np.ndarray


def copy_stream(valid: pd.DataFrame) -> CopyStream:
    """``CopyStream`` of the accepted events ``valid`` (``binary_copy``: no text to format here,
    no timestamps to parse on the server; text needs no escaping)."""
    data, at = binary_copy.encode_locating(_copy_columns(valid, uuid.UUID(int=0)), len(valid), locate=_BATCH_AT)
    return CopyStream(valid, data, at if at is not None else np.zeros(0, dtype=np.int64))


def copy_data(valid: pd.DataFrame, batch_id: uuid.UUID, stream: CopyStream | None = None) -> bytes:
    """The binary COPY stream of the accepted events of batch ``batch_id`` (``stream``: built
    before for exactly this frame; otherwise built now)."""
    if stream is None or stream.frame is not valid:
        return binary_copy.encode(_copy_columns(valid, batch_id), len(valid))
    return binary_copy.patch(stream.data, stream.batch_at, batch_id.bytes)


def _copy_events(conn: psycopg.Connection, valid: pd.DataFrame, batch_id: uuid.UUID,
                 stream: CopyStream | None = None) -> None:
    data = copy_data(valid, batch_id, stream)
    with conn.cursor() as cur, cur.copy(COPY_EVENTS_SQL) as copy:
        copy.write(data)


def _write_events(conn: psycopg.Connection, result: ImportResult, valid: pd.DataFrame, target: Target,
                  batch_id: uuid.UUID, details: dict[str, Any], progress: Progress | None, *,
                  stream: CopyStream | None = None) -> None:
    """COPY the events (``stream``: their ``copy_stream``, built with the validation), then link
    transitions and derive agent activity (apply_agent_states_batch)."""
    if progress:
        progress("copy", 0, len(valid))
    t = time.perf_counter()
    _copy_events(conn, valid, batch_id, stream)
    result.timings["copy_events"] = time.perf_counter() - t
    if progress:
        progress("copy", len(valid), len(valid))
        progress("apply", 0, len(valid))
    t = time.perf_counter()
    # the span and number of the events written: apply reads them from those months only
    span = (valid["at"].min().to_pydatetime(), valid["at"].max().to_pydatetime(), len(valid)) if len(valid) else (
        None, None, None)
    applied = conn.execute("SELECT * FROM wfm.apply_agent_states_batch(%s, %s, %s, %s)", (batch_id, *span)).fetchone()
    result.timings["apply"] = time.perf_counter() - t
    result.rows_inserted, result.rows_updated, linked, written, deleted = applied
    details.update({"transitions_linked": linked, "agent_rows_written": written, "agent_rows_deleted": deleted})


def load_validated_events(conn: psycopg.Connection, validation: EventValidation, target: Target, *,
                          details: dict[str, Any] | None = None, **options: Any) -> ImportResult:
    """Write one validated agent state file through the audited load (``loader.load_rows``);
    raises ``ImportFailedError`` (after recording the ``failed`` batch) when the load fails."""
    kind = AGENT_STATES
    if validation.copy_stream is not None:
        kind = dataclasses.replace(kind, write=functools.partial(_write_events, stream=validation.copy_stream))
    return load_rows(conn, validation, target, kind,
                     details={**(details or {}), "time_zone": target.time_zone}, **options)


def _predict(conn: psycopg.Connection, valid: pd.DataFrame, target: Target) -> int:
    """How many accepted events would replace a current version (validate-only)."""
    if not len(valid):
        return 0
    return conn.execute(
        """SELECT count(*) FROM unnest(%s::integer[], %s::text[], %s::timestamptz[]) AS n(s, a, t)
           WHERE EXISTS (SELECT 1 FROM wfm.agent_state_transitions e
                         WHERE e.service_id = n.s AND e.agent_code = n.a AND e.started_at = n.t AND e.is_current)""",
        (valid["service_id"].astype("int64").tolist(), valid["agent_code"].tolist(),
         [t.to_pydatetime() for t in valid["at"]])).fetchone()[0]


# ---------------------------------------------------------------- one file, end to end
def run_agent_file(conn: psycopg.Connection, path: str | Path, service_code: str | None,
                   **options: Any) -> steps.FileRun:
    """Import one agent state file (``files.run_record_file``: read once, reject, load, file away)."""
    return run_record_file(conn, path, service_code, AGENT_FILES, **options)


def agent_prefetcher(files: Sequence[tuple[str | Path, str | None]], connect: Callable[[], psycopg.Connection], *,
                     validate_only: bool = False, encoding: str | None = None) -> Prefetcher:
    """A ``files.Prefetcher`` for agent state files: ``wfm import --kind agent-states FILE...``
    and the benchmark import a sequence of files with it (each file its own audited batch, in
    order; the next file read, parsed and, for another service, validated meanwhile - from the
    current file's COPY on: ``concurrent.LoadFirstPrefetcher``)."""
    return LoadFirstPrefetcher(AGENT_FILES, files, connect, validate_only=validate_only, encoding=encoding)


def agent_runner(files: Sequence[tuple[str | Path, str | None]], connect: Callable[[], psycopg.Connection], *,
                 conninfo: str | None = None, connections: int = 1, validate_only: bool = False,
                 encoding: str | None = None, **options: Any) -> Prefetcher | ConcurrentRun:
    """How a sequence of agent state files is imported fastest with the outcome of importing
    them one by one: files of two or more services on ``connections`` connections at once
    (``concurrent.ConcurrentRun``: loading processes connecting with ``conninfo``; a file waits
    for the earlier files of its service); files of one service, or ``connections=1``, one after
    the other with the next prepared ahead on ``connect()`` (``agent_prefetcher``). Either way
    ``run(conn, path, service_code)``; ``options`` (strict, source, policy, analyze) are given
    here for a concurrent run, to ``run`` for a prefetcher."""
    if concurrent_files(files, connections, conninfo):
        return ConcurrentRun(AGENT_FILES, files, conninfo, workers=connections, validate_only=validate_only,
                             encoding=encoding, **options)
    return agent_prefetcher(files, connect, validate_only=validate_only, encoding=encoding)


def import_agent_file(conn: psycopg.Connection, path: str | Path, service_code: str, *_: Any,
                      **options: Any) -> ImportResult:
    """``run_agent_file(...).result``: the ``wfm import --kind agent-states --json`` line of one file
    (extra positional arguments - the group of ``runner.import_files`` - are ignored)."""
    return run_agent_file(conn, path, service_code, **options).result



AGENT_STATES = LoadKind(name=KIND, tables=AGENT_TABLES, plan=_plan_partitions, write=_write_events,
                        predict=_predict)


def _parse(content: Any, name: str, encoding: str | None) -> Any:
    return parse_agent_file(content, name, encoding=encoding)


# (module-level functions only: a kind is pickled by reference into ConcurrentRun's loading processes)
AGENT_FILES = RecordFileKind(KIND, _parse, validate_file, load_validated_events)


__all__ = ["AGENT_TABLES", "EventValidation", "agent_prefetcher", "agent_runner", "import_agent_file", "load_validated_events", "run_agent_file",
           "validate_file"]
