"""Thin adapter between the Dagster assets and the plain-Python Argus core (``wfm_pipeline.argus``).

It keeps the assets independent of the core's exact signatures and adds the two read-only
month queries the monthly asset reports. No Dagster imports.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import psycopg

from wfm_pipeline.argus import loader
from wfm_pipeline.argus.errors import ArgusFileError, RowError
from wfm_pipeline.argus.reader import read_argus_file
from wfm_pipeline.argus.validate import ValidationResult, validate_argus


@dataclass(frozen=True)
class ArgusFile:
    """One landed file, as registered by ``argus_raw_file`` (pickled between steps)."""

    partition_key: str
    path: str
    file_name: str
    sha256: str
    bytes: int
    service_code: str
    group_code: str | None
    location: str  # landing | archive


@dataclass
class Validation:
    """What ``argus_validated`` reports; ``payload`` is the core's object the load consumes."""

    rows_total: int
    rows_valid: int
    rows_rejected: int
    errors: list[RowError]
    first_interval: datetime | None
    last_interval: datetime | None
    months: list[date]
    payload: Any = None
    file_error: RowError | None = None
    rows_skipped: int = 0
    rejected_batch_id: str | None = None  # the ``rejected`` batch recorded for a file_error

    @property
    def errors_by_code(self) -> dict[str, int]:
        return dict(sorted(Counter(e.code for e in self.errors).items()))


def _target(conn: psycopg.Connection, raw: ArgusFile) -> loader.Target:
    """The file's service/group (ArgusFileError UNKNOWN_SERVICE/UNKNOWN_GROUP), connection left idle."""
    try:
        return loader.resolve_target(conn, raw.service_code, raw.group_code)
    finally:
        conn.rollback()


def validate(conn: psycopg.Connection, raw: ArgusFile) -> Validation:
    """Read and validate a file for its service.

    A whole-file problem (unknown service/group, unreadable, too few columns, no data rows)
    comes back as ``file_error`` and is recorded as a ``rejected`` batch, like ``wfm import``.
    """
    target = None
    try:
        target = _target(conn, raw)
        data = read_argus_file(raw.path)
    except ArgusFileError as exc:
        recorded = loader.record_rejection(conn, exc.error, file_name=raw.file_name, sha256=raw.sha256,
                                           target=target, file=raw.path)
        return Validation(0, 0, 0, [exc.error], None, None, [], file_error=exc.error,
                          rejected_batch_id=str(recorded.import_batch_id))
    result = validate_argus(data, target.time_zone)
    return Validation(
        rows_total=result.rows_total,
        rows_valid=len(result.valid),
        rows_rejected=result.rejected,
        rows_skipped=result.skipped,
        errors=list(result.errors),
        first_interval=_py(result.first_interval),
        last_interval=_py(result.last_interval),
        months=month_dates(result.months),
        payload=result,
    )


def load(conn: psycopg.Connection, validation: ValidationResult, raw: ArgusFile, *,
         strict: bool) -> loader.ImportResult:
    """Load a validated file (history + upsert + audit, one transaction; see argus.loader)."""
    return loader.load_validated(conn, validation, _target(conn, raw), file_name=raw.file_name,
                                 sha256=raw.sha256, file=raw.path, strict=strict)


def month_dates(months: list[str]) -> list[date]:
    """``["2024-01", ...]`` (the core's month labels) as first-of-month dates."""
    return [date.fromisoformat(f"{m}-01") for m in months]


def _py(ts) -> datetime | None:
    return None if ts is None else ts.to_pydatetime()


def month_row_counts(conn: psycopg.Connection, months: list[date]) -> dict[str, int]:
    """Current contact_statistics rows per touched UTC month, keyed ``YYYY-MM-01``."""
    rows = conn.execute(
        # month arithmetic on timestamp (not timestamptz): independent of the session time zone
        """SELECT to_char(u.m, 'YYYY-MM-DD'),
                  (SELECT count(*) FROM wfm.contact_statistics cs
                   WHERE cs.interval_start_time >= (u.m AT TIME ZONE 'UTC')
                     AND cs.interval_start_time < ((u.m + interval '1 month') AT TIME ZONE 'UTC'))
           FROM unnest(%s::timestamp[]) AS u(m)""",
        ([datetime(m.year, m.month, 1) for m in months],),
    ).fetchall()
    return {k: int(n) for k, n in rows}
