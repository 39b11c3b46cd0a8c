"""Database side of forecasting: history, targets, special days in; runs and intervals out."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from wfm_pipeline.db import catalog
from wfm_pipeline.db.catalog import UnknownServiceError
from wfm_pipeline.forecasting.erlang import Staffing, Targets
from wfm_pipeline.forecasting.model import SpecialDay


@dataclass(frozen=True)
class SeriesKey:
    """One forecast series: a service (group_id None) or one of its groups."""

    service_id: int
    service_code: str
    time_zone: str
    group_id: int | None = None
    group_code: str | None = None

    @property
    def label(self) -> str:
        return self.service_code if self.group_code is None else f"{self.service_code}/{self.group_code}"


def series_for(conn: psycopg.Connection, service_code: str, group_code: str | None = None) -> SeriesKey:
    """The series of a service (or one of its groups) by code; UnknownServiceError otherwise."""
    service = catalog.get_service(conn, service_code)
    if group_code is None:
        return SeriesKey(service.service_id, service.code, service.time_zone)
    group = catalog.get_group(conn, service, group_code)
    return SeriesKey(service.service_id, service.code, service.time_zone, group.group_id, group.code)


def all_series(conn: psycopg.Connection, since: datetime) -> list[SeriesKey]:
    """Every service and group with statistics since ``since`` (what the assets forecast)."""
    rows = conn.execute(
        """SELECT s.service_id, s.code, s.time_zone, g.group_id, g.code
           FROM wfm.services s LEFT JOIN wfm.groups g ON g.service_id = s.service_id
           ORDER BY s.code, g.code NULLS FIRST""").fetchall()
    active = {(sid, gid) for sid, gid in conn.execute(
        "SELECT DISTINCT service_id, group_id FROM wfm.contact_statistics WHERE interval_start_time >= %s",
        (since,))}
    active_services = {sid for sid, _ in active}
    out: list[SeriesKey] = []
    seen: set[int] = set()
    for sid, code, tz, gid, gcode in rows:
        if sid in active_services and sid not in seen:
            out.append(SeriesKey(sid, code, tz))
            seen.add(sid)
        if gid is not None and (sid, gid) in active:
            out.append(SeriesKey(sid, code, tz, gid, gcode))
    return out


def load_targets(conn: psycopg.Connection, service_id: int) -> Targets:
    row = conn.execute(
        """SELECT service_level_target, sl_threshold_seconds, max_occupancy, shrinkage, patience_seconds
           FROM wfm.services WHERE service_id = %s""", (service_id,)).fetchone()
    if row is None:
        raise UnknownServiceError(f"unknown service_id {service_id}")
    sl, threshold, occ, shrink, patience = row
    return Targets(float(sl), float(threshold), float(occ), float(shrink),
                   None if patience is None else float(patience))


def load_special_days(conn: psycopg.Connection, service_id: int) -> dict[date, SpecialDay]:
    return {day: SpecialDay(excl, None if mult is None else float(mult)) for day, excl, mult in conn.execute(
        "SELECT day, exclude_from_training, multiplier FROM wfm.special_days WHERE service_id = %s",
        (service_id,))}


def load_history(conn: psycopg.Connection, key: SeriesKey, start: datetime, end: datetime) -> pd.DataFrame:
    """Intervals in [start, end) of one series: calls, unique calls, handle seconds (talk +
    wrap-up totals) and the handled calls they are per. Same rule as load_service_histories, which it reads through."""
    frame = load_service_histories(conn, key.service_id, start, end).get(key.group_id)
    if frame is None:
        frame = pd.DataFrame({"interval_start": pd.Series(dtype="datetime64[ns, UTC]"),
                              **{col: pd.Series(dtype="float64") for col in HISTORY_COLUMNS[1:]}})
    return frame


def last_interval(conn: psycopg.Connection, key: SeriesKey) -> datetime | None:
    """Start of the series' newest interval with statistics (service level: any row of the service)."""
    if key.group_id is None:
        row = conn.execute("SELECT max(interval_start_time) FROM wfm.contact_statistics WHERE service_id = %s",
                           (key.service_id,)).fetchone()
    else:
        row = conn.execute("""SELECT max(interval_start_time) FROM wfm.contact_statistics
                              WHERE service_id = %s AND group_id = %s""", (key.service_id, key.group_id)).fetchone()
    return row[0]


def set_special_days(conn: psycopg.Connection, service_id: int, days: list[date], *, exclude_from_training: bool,
                     multiplier: float | None, descriptions: dict[date, str] | None = None,
                     description: str | None = None) -> int:
    """Insert or update many special days of a service in one statement; the caller commits."""
    descriptions = descriptions or {}
    texts = [description if description is not None else descriptions.get(d) for d in days]
    return conn.execute(
        """INSERT INTO wfm.special_days (service_id, day, exclude_from_training, multiplier, description)
           SELECT %s, d, %s, %s, t FROM unnest(%s::date[], %s::text[]) AS u(d, t)
           ON CONFLICT (service_id, day) DO UPDATE
           SET exclude_from_training = EXCLUDED.exclude_from_training,
               multiplier = EXCLUDED.multiplier, description = EXCLUDED.description""",
        (service_id, exclude_from_training, multiplier, list(days), texts)).rowcount


def remove_special_days(conn: psycopg.Connection, service_id: int, days: list[date]) -> int:
    return conn.execute("DELETE FROM wfm.special_days WHERE service_id = %s AND day = ANY(%s::date[])",
                        (service_id, list(days))).rowcount


# handled_calls: the calls handle_seconds is per (answered where known, else offered; issue 13).
HISTORY_COLUMNS = ["interval_start", "calls", "unique_calls", "handle_seconds", "handled_calls"]


def load_service_histories(conn: psycopg.Connection, service_id: int, start: datetime,
                           end: datetime) -> dict[int | None, pd.DataFrame]:
    """All series of a service in one COPY: {group_id: frame, None: service level}.

    One range scan of the service instead of one per group (the per-service index has no
    group column). Service level = its own rows if any, else the sum of the groups.
    """
    query = sql.SQL(
        """COPY (SELECT coalesce(group_id, -1), extract(epoch FROM interval_start_time)::bigint,
                        non_unique_incoming, unique_incoming, talk_time_total + post_processing_time_total,
                        handled_calls
                 FROM wfm.contact_statistics
                 WHERE service_id = {} AND interval_start_time >= {} AND interval_start_time < {})
           TO STDOUT WITH (FORMAT csv)""").format(sql.Literal(service_id), sql.Literal(start), sql.Literal(end))
    buf = io.BytesIO()
    with conn.cursor() as cur, cur.copy(query) as cp:
        for chunk in cp:
            buf.write(chunk)
    buf.seek(0)
    raw = pd.read_csv(buf, names=["group_id", "epoch", "calls", "unique_calls", "handle_seconds", "handled_calls"],
                      dtype={"group_id": "int64", "epoch": "int64", "calls": "float64",
                             "unique_calls": "float64", "handle_seconds": "float64", "handled_calls": "float64"})
    raw["interval_start"] = pd.to_datetime(raw["epoch"], unit="s", utc=True)
    out: dict[int | None, pd.DataFrame] = {}
    for gid, part in raw.groupby("group_id", sort=False):
        out[None if gid == -1 else int(gid)] = part[HISTORY_COLUMNS].reset_index(drop=True)
    if None not in out:
        groups = raw[raw["group_id"] != -1]
        summed = groups.groupby("interval_start", as_index=False)[HISTORY_COLUMNS[1:]].sum()
        out[None] = summed[HISTORY_COLUMNS]
    return out


def save_run(conn: psycopg.Connection, key: SeriesKey, *, as_of: datetime, horizon_start: datetime,
             horizon_end: datetime, model: str, parameters: dict, backtest: dict, frame: pd.DataFrame,
             staffing: Staffing | None) -> int:
    """Insert a forecast run and its intervals (COPY); the caller commits. Returns the run id."""
    run_id = conn.execute(
        """INSERT INTO wfm.forecast_runs (service_id, group_id, as_of, horizon_start, horizon_end, model,
                                          parameters, backtest, staffing_model)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING forecast_run_id""",
        (key.service_id, key.group_id, as_of, horizon_start, horizon_end, model,
         json.dumps(parameters, default=str), json.dumps(backtest, default=str),
         staffing.model if staffing is not None else "erlang_c")).fetchone()[0]
    cols = ["interval_start_time", "calls", "unique_calls", "aht"]
    extra = ["workload_erlangs", "required_agents", "scheduled_agents", "service_level", "asa",
             "occupancy", "abandon_rate"] if staffing is not None else []
    with conn.cursor() as cur, cur.copy(
            f"COPY wfm.forecasts (forecast_run_id, service_id, group_id, {', '.join(cols + extra)}) FROM STDIN") as cp:
        rows = _rows(frame, staffing)
        for row in rows:
            cp.write_row((run_id, key.service_id, key.group_id, *row))
    return run_id


def _rows(frame: pd.DataFrame, staffing: Staffing | None):
    ts = pd.DatetimeIndex(frame["interval_start"]).to_pydatetime()
    calls = np.round(frame["calls"].to_numpy(float), 3)
    uniq = np.round(np.minimum(frame["unique_calls"].to_numpy(float), calls), 3)
    aht = np.round(frame["aht"].to_numpy(float), 2)
    if staffing is None:
        return zip(ts, calls.tolist(), uniq.tolist(), aht.tolist())
    return zip(ts, calls.tolist(), uniq.tolist(), aht.tolist(),
               np.round(staffing.workload, 3).tolist(), staffing.required_agents.tolist(),
               staffing.scheduled_agents.tolist(), np.round(np.clip(staffing.service_level, 0, 1), 5).tolist(),
               np.round(np.minimum(staffing.asa, 99_999_999), 2).tolist(),
               np.round(np.clip(staffing.occupancy, 0, 1), 5).tolist(),
               np.round(np.clip(staffing.abandon_rate, 0, 1), 5).tolist())
