"""Caller patience from call records, for Erlang A staffing.

``estimate(conn, service_code, since, until=None) -> PatienceEstimate`` asks
``wfm.estimate_patience`` (the maximum-likelihood mean under exponential patience: the time all
offered calls waited, answered or not, divided by the abandonments); ``store(conn, service_code,
seconds)`` sets ``services.patience_seconds``, which makes forecasts' staffing use Erlang A.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import psycopg

from wfm_pipeline.db import catalog


class NoAbandonmentsError(ValueError):
    """No call was abandoned in the period: patience cannot be estimated (it is unbounded)."""


@dataclass(frozen=True)
class PatienceEstimate:
    service: str
    start: datetime
    end: datetime
    mean_patience_seconds: Decimal | None
    abandoned_calls: int
    offered_calls: int
    total_wait_seconds: Decimal


def _local_midnight(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone))


def estimate(conn: psycopg.Connection, service_code: str, since: date, until: date | None = None) -> PatienceEstimate:
    """Patience from the calls offered from local midnight of ``since`` up to (not including)
    local midnight of ``until`` (default: today + 1 day, i.e. everything so far)."""
    service = catalog.get_service(conn, service_code)
    start = _local_midnight(since, service.time_zone)
    end = _local_midnight(until or (date.today() + timedelta(days=1)), service.time_zone)
    mean, abandoned, offered, total = conn.execute(
        "SELECT * FROM wfm.estimate_patience(%s, %s, %s)", (service.service_id, start, end)).fetchone()
    return PatienceEstimate(service.code, start, end, mean, int(abandoned), int(offered), Decimal(total))


def store(conn: psycopg.Connection, service_code: str, seconds: Decimal | float | None) -> None:
    """Set (or clear, with None) the service's mean patience; the caller commits."""
    service = catalog.get_service(conn, service_code)
    value = None if seconds is None else round(Decimal(str(seconds)), 1)
    conn.execute("UPDATE wfm.services SET patience_seconds = %s WHERE service_id = %s", (value, service.service_id))


def estimate_and_store(conn: psycopg.Connection, service_code: str, since: date,
                       until: date | None = None) -> PatienceEstimate:
    """``estimate`` then ``store`` (raises ``NoAbandonmentsError`` when nobody abandoned)."""
    found = estimate(conn, service_code, since, until)
    if found.mean_patience_seconds is None:
        raise NoAbandonmentsError(
            f"service {found.service}: no abandoned call among {found.offered_calls} offered from {found.start:%Y-%m-%d}; "
            "patience cannot be estimated (keep Erlang C, or set a figure by hand)")
    store(conn, service_code, found.mean_patience_seconds)
    return found
