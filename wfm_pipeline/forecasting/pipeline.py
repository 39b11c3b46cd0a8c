"""Forecast runs end to end: history → forecast → backtest → staffing → stored run."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pandas as pd
import psycopg

from wfm_pipeline.forecasting import store
from wfm_pipeline.forecasting.backtest import BacktestConfig, backtest, series_data_for
from wfm_pipeline.forecasting.erlang import Staffing, Targets, staffing
from wfm_pipeline.forecasting.model import MODEL_NAME, ModelConfig, SpecialDay, forecast_from, history_days
from wfm_pipeline.forecasting.store import SeriesKey

DEFAULT_HORIZON_DAYS = 14


@dataclass
class RunResult:
    key: SeriesKey
    as_of: datetime
    horizon_end: datetime
    frame: pd.DataFrame                  # forecast intervals (+ staffing columns when staffed)
    info: dict
    backtest: dict
    history: pd.DataFrame = field(repr=False)
    staffing_model: str | None = None
    run_id: int | None = None


def local_midnight(day: date, tz: str) -> datetime:
    """Start of a local calendar day as an aware datetime."""
    return pd.Timestamp(day).tz_localize(ZoneInfo(tz)).to_pydatetime()


def default_as_of(tz: str, now: datetime | None = None) -> datetime:
    """Today's local midnight: forecasts start today and use history up to yesterday."""
    now = now or datetime.now(timezone.utc)
    return local_midnight(pd.Timestamp(now).tz_convert(ZoneInfo(tz)).date(), tz)


def horizon_end(as_of: datetime, tz: str, days: int) -> datetime:
    """``days`` local calendar days after ``as_of`` (same wall-clock time across DST)."""
    local = pd.Timestamp(as_of).tz_convert(ZoneInfo(tz))
    return (local + pd.DateOffset(days=days)).to_pydatetime()


def history_start(as_of: datetime, model_cfg: ModelConfig, bt_cfg: BacktestConfig) -> datetime:
    """Earliest history a forecast with its model selection and backtest can use (+1 day for DST)."""
    return as_of - timedelta(days=history_days(model_cfg, bt_cfg.weeks, bt_cfg.horizon_days, bt_cfg.step_days) + 1)


def staff(frame: pd.DataFrame, targets: Targets) -> Staffing:
    return staffing(frame["calls"].to_numpy(float), frame["aht"].to_numpy(float), targets)


def with_staffing(frame: pd.DataFrame, st: Staffing) -> pd.DataFrame:
    return frame.assign(workload_erlangs=st.workload, required_agents=st.required_agents,
                        scheduled_agents=st.scheduled_agents, service_level=st.service_level,
                        asa=st.asa, occupancy=st.occupancy, abandon_rate=st.abandon_rate)


def forecast_history(key: SeriesKey, history: pd.DataFrame, as_of: datetime, horizon_days: int,
                     special_days: dict[date, SpecialDay], *, model_cfg: ModelConfig | None = None,
                     bt_cfg: BacktestConfig | None = None, run_backtest: bool = True) -> RunResult:
    """Forecast (and backtest) one series from an in-memory history frame; no database."""
    model_cfg = model_cfg or ModelConfig()
    bt_cfg = bt_cfg or BacktestConfig()
    end = horizon_end(as_of, key.time_zone, horizon_days)
    as_of_ts = pd.Timestamp(as_of).tz_convert("UTC")
    # One grid and one engine for the forecast and its backtest: the model-selection fits of
    # the backtest origins are the forecast's own inner fits (same weekly lattice).
    data = series_data_for(history, key.time_zone, as_of_ts.tz_convert(ZoneInfo(key.time_zone)).date(),
                           special_days, bt_cfg, model_cfg)
    fc = forecast_from(data, as_of_ts, pd.Timestamp(end))
    bt = backtest(None, key.time_zone, as_of, special_days, bt_cfg, model_cfg, data=data) if run_backtest else {}
    if bt:
        bt["selection"] = fc.info.get("selection")
    return RunResult(key, as_of, end, fc.frame, fc.info, bt, history)


def run_forecast(conn: psycopg.Connection, key: SeriesKey, *, as_of: datetime | None = None,
                 horizon_days: int = DEFAULT_HORIZON_DAYS, run_backtest: bool = True,
                 with_staff: bool = True, save: bool = True,
                 model_cfg: ModelConfig | None = None, bt_cfg: BacktestConfig | None = None) -> RunResult:
    """Forecast one series as of ``as_of`` (history strictly before it), staff it, store the run.

    The caller commits (the run and its intervals are written in the caller's transaction).
    """
    if horizon_days < 1 or horizon_days > 92:
        raise ValueError(f"horizon must be 1..92 days, got {horizon_days}")
    model_cfg = model_cfg or ModelConfig()
    bt_cfg = bt_cfg or BacktestConfig()
    as_of = as_of or default_as_of(key.time_zone)
    history = store.load_history(conn, key, history_start(as_of, model_cfg, bt_cfg), as_of)
    special = store.load_special_days(conn, key.service_id)
    result = forecast_history(key, history, as_of, horizon_days, special, model_cfg=model_cfg, bt_cfg=bt_cfg,
                              run_backtest=run_backtest)
    st = None
    if with_staff:
        targets = store.load_targets(conn, key.service_id)
        st = staff(result.frame, targets)
        result.frame = with_staffing(result.frame, st)
        result.staffing_model = st.model
        result.info["targets"] = targets.__dict__
    if save:
        result.run_id = store.save_run(
            conn, key, as_of=as_of,
            horizon_start=result.frame["interval_start"].iloc[0] if len(result.frame) else as_of,
            horizon_end=result.horizon_end, model=MODEL_NAME,
            parameters={**result.info, "config": model_cfg.as_dict(), "horizon_days": horizon_days},
            backtest=result.backtest, frame=result.frame, staffing=st)
    return result


def run_many(conn: psycopg.Connection, keys: list[SeriesKey], *, as_of: datetime | None = None,
             horizon_days: int = DEFAULT_HORIZON_DAYS, with_staff: bool = True,
             on_result=None) -> list[RunResult]:
    """Forecast, backtest, (staff) and store many series; history is read once per service.

    Each series is committed on its own so a failure keeps the runs already stored.
    """
    model_cfg, bt_cfg = ModelConfig(), BacktestConfig()
    results: list[RunResult] = []
    by_service: dict[int, list[SeriesKey]] = {}
    for key in keys:
        by_service.setdefault(key.service_id, []).append(key)
    for service_id, service_keys in by_service.items():
        tz = service_keys[0].time_zone
        service_as_of = as_of or default_as_of(tz)
        histories = store.load_service_histories(
            conn, service_id, history_start(service_as_of, model_cfg, bt_cfg), service_as_of)
        special = store.load_special_days(conn, service_id)
        targets = store.load_targets(conn, service_id)
        empty = pd.DataFrame({c: pd.Series(dtype="float64") for c in store.HISTORY_COLUMNS})
        empty["interval_start"] = pd.to_datetime(empty["interval_start"], utc=True)
        for key in service_keys:
            history = histories.get(key.group_id, empty)
            result = forecast_history(key, history, service_as_of, horizon_days, special,
                                      model_cfg=model_cfg, bt_cfg=bt_cfg)
            st = None
            if with_staff:
                st = staff(result.frame, targets)
                result.frame = with_staffing(result.frame, st)
                result.staffing_model = st.model
            result.run_id = store.save_run(
                conn, key, as_of=service_as_of, horizon_start=service_as_of, horizon_end=result.horizon_end,
                model=MODEL_NAME, parameters={**result.info, "config": model_cfg.as_dict(),
                                              "horizon_days": horizon_days},
                backtest=result.backtest, frame=result.frame, staffing=st)
            conn.commit()
            if on_result is not None:
                on_result(result)
            results.append(result)
    return results


def staff_run(conn: psycopg.Connection, run_id: int, service_id: int) -> tuple[int, Staffing, pd.DataFrame]:
    """(Re)compute the staffing of a stored run from its calls and AHT with the service's targets."""
    targets = store.load_targets(conn, service_id)
    frame = store.run_intervals(conn, run_id)
    st = staff(frame, targets)
    updated = store.update_staffing(conn, run_id, frame, st)
    return updated, st, frame
