"""Forecast runs end to end: history → forecast → backtest → staffing → stored run."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


STAGES = ("load", "model", "staffing", "store")


@dataclass
class StageTimes:
    """Seconds spent per stage of ``run_many`` (the benchmark prints them)."""

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started


def _empty_history() -> pd.DataFrame:
    empty = pd.DataFrame({c: pd.Series(dtype="float64") for c in store.HISTORY_COLUMNS})
    empty["interval_start"] = pd.to_datetime(empty["interval_start"], utc=True)
    return empty


def run_many(conn: psycopg.Connection, keys: list[SeriesKey], *, as_of: datetime | None = None,
             horizon_days: int = DEFAULT_HORIZON_DAYS, run_backtest: bool = True, with_staff: bool = True,
             save: bool = True, commit_each: bool = True, model_cfg: ModelConfig | None = None,
             bt_cfg: BacktestConfig | None = None, on_result: Callable[[RunResult], None] | None = None,
             times: StageTimes | None = None) -> list[RunResult]:
    """The one forecast loop (CLI, Dagster assets and benchmark): history is read once per service,
    then per series forecast + backtest, staffing, and one write of the staffed run.

    With ``commit_each`` every series is committed on its own, so a failure keeps the runs already
    stored; without it the caller commits.
    """
    if horizon_days < 1 or horizon_days > 92:
        raise ValueError(f"horizon must be 1..92 days, got {horizon_days}")
    model_cfg = model_cfg or ModelConfig()
    bt_cfg = bt_cfg or BacktestConfig()
    times = times or StageTimes()
    results: list[RunResult] = []
    by_service: dict[int, list[SeriesKey]] = {}
    for key in keys:
        by_service.setdefault(key.service_id, []).append(key)
    for service_id, service_keys in by_service.items():
        service_as_of = as_of or default_as_of(service_keys[0].time_zone)
        with times.stage("load"):
            histories = store.load_service_histories(
                conn, service_id, history_start(service_as_of, model_cfg, bt_cfg), service_as_of)
            special = store.load_special_days(conn, service_id)
            targets = store.load_targets(conn, service_id) if with_staff else None
        for key in service_keys:
            with times.stage("model"):
                result = forecast_history(key, histories.get(key.group_id, _empty_history()), service_as_of,
                                          horizon_days, special, model_cfg=model_cfg, bt_cfg=bt_cfg,
                                          run_backtest=run_backtest)
            st = None
            if targets is not None:
                with times.stage("staffing"):
                    st = staff(result.frame, targets)
                    result.frame = with_staffing(result.frame, st)
                    result.staffing_model = st.model
                    result.info["targets"] = targets.__dict__
            if save:
                with times.stage("store"):
                    result.run_id = _save(conn, result, st, model_cfg, horizon_days)
                    if commit_each:
                        conn.commit()
            if on_result is not None:
                on_result(result)
            results.append(result)
    return results


def _save(conn: psycopg.Connection, result: RunResult, st: Staffing | None, model_cfg: ModelConfig,
          horizon_days: int) -> int:
    frame = result.frame
    return store.save_run(
        conn, result.key, as_of=result.as_of,
        horizon_start=frame["interval_start"].iloc[0] if len(frame) else result.as_of,
        horizon_end=result.horizon_end, model=MODEL_NAME,
        parameters={**result.info, "config": model_cfg.as_dict(), "horizon_days": horizon_days},
        backtest=result.backtest, frame=frame, staffing=st)


def run_forecast(conn: psycopg.Connection, key: SeriesKey, **options) -> RunResult:
    """``run_many`` for one series; the caller commits (options as for ``run_many``)."""
    return run_many(conn, [key], commit_each=False, **options)[0]
