"""Interval call forecasts: a small set of candidates per series, chosen by backtest.

The structure follows what the call-centre literature finds strong at horizons of days to
weeks (Taylor 2008; Ibrahim, Ye, L'Ecuyer & Shen 2016): model the *daily volume* and spread
it over the day with a *weekday-specific intraday profile* shrunk toward the all-days profile.
Which daily volume is right differs by series, so several candidates compete
(``candidates.py``) and a rolling-origin backtest on history before the origin picks and
combines the best ones (``selection.py``):

* ``holt_horizon``: damped Holt on weekday-adjusted day totals, its constants chosen by the
  error 1..14 days ahead (not one step ahead, which makes the level chase last week);
* ``dow_median5``: per weekday, the median of its last 5 clean day totals;
* ``recent_median``: weekday-adjusted median of the last 10 clean days;
  (these three × the weekday intraday profile)
* ``slot_median5``: per slot, the median of the last 5 clean same weekdays;
* ``seasonal_naive``: the last clean same weekday.

* Everything runs on a local-calendar grid (local date × 96 wall-clock slots), so profiles
  follow local hours across daylight-saving changes, and a day missing from the export is a
  missing row of the grid: it never shifts weekday alignment.
* Missing intervals are unknown, not zero: a day's total is scaled up by the profile share it
  covers; days covering < 50% of the usual volume are left out.
* Closed days and hours are zero where history is always zero.
* Special days with ``exclude_from_training`` are ignored; closures (a normally open weekday
  without data), the open days around them and robust outlier days are left out of training
  too. Future special days scale the forecast by their multiplier; the days next to a known
  closure get a multiplier learnt from earlier holidays (``holidays.py``).
* Unique-call ratio and AHT (call-weighted: Σ handle seconds / Σ handled calls) per weekday and
  slot, shrunk toward the slot's all-days value and the overall value by pseudo-counts.

Plain numpy/pandas; no Dagster, no database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from wfm_pipeline.forecasting.holidays import SpecialDay, day_multipliers, learn_adjacent_effects
from wfm_pipeline.forecasting.selection import Engine

MODEL_NAME = "profile_select/2"
SLOTS = 96
INTERVAL = pd.Timedelta(minutes=15)

__all__ = ["MODEL_NAME", "SLOTS", "ModelConfig", "SpecialDay", "Forecast", "SeriesData", "forecast_series",
           "history_days", "local_grid", "horizon_intervals"]


@dataclass(frozen=True)
class ModelConfig:
    train_days: int = 112            # history one fit uses (16 weeks)
    profile_weeks: int = 16          # weeks behind profiles, weekday factors (decayed), AHT
    week_decay: float = 0.85         # weight of a week relative to the next newer one (weekday factors)
    min_coverage: float = 0.5        # a day must cover this share of usual volume to count
    min_train_days: int = 21         # days with data a fit needs
    abnormal_z: float = 3.0          # robust z of a day against its neighbours: left out of training
    aht_pseudo_calls: float = 200.0  # shrinkage strength of AHT / unique ratio
    alphas: tuple[float, ...] = (0.03, 0.06, 0.1, 0.2, 0.35, 0.5)
    betas: tuple[float, ...] = (0.0, 0.03, 0.1)
    phi: float = 0.85                # trend damping
    level_horizon_days: int = 14     # Holt constants chosen on the error 1..14 days ahead
    selection_horizon_days: int = 14  # inner backtest windows of the model selection
    selection_origins: int = 4       # inner windows (a week apart, all before the origin)
    combine_top: int = 3             # candidates combined (inverse-WAPE weights)

    def as_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def history_days(cfg: ModelConfig, backtest_origins: int = 0, backtest_horizon: int = 0, step: int = 7) -> int:
    """Days of history before an origin that a forecast (and its backtest) can use."""
    selection = cfg.selection_horizon_days + 7 * (cfg.selection_origins - 1)
    backtest = backtest_horizon + step * (backtest_origins - 1) if backtest_origins else 0
    return cfg.train_days + selection + backtest


@dataclass
class Forecast:
    """Forecast of one series: one row per 15-minute interval of the horizon."""

    frame: pd.DataFrame          # interval_start (UTC), calls, unique_calls, aht
    info: dict = field(default_factory=dict)


# ---------------------------------------------------------------- local grid
def local_grid(history: pd.DataFrame, tz: str, first_day: date, last_day: date,
               columns: tuple[str, ...] = ("calls", "unique_calls", "handle_seconds")) -> list[np.ndarray]:
    """Local-day × slot matrices of ``columns`` (NaN = no row for that interval)."""
    n_days = max((last_day - first_day).days + 1, 0)
    grids = [np.full((n_days, SLOTS), np.nan) for _ in columns]
    if history.empty or n_days == 0:
        return grids
    local = pd.DatetimeIndex(history["interval_start"]).tz_convert(tz)
    day_idx = (local.tz_localize(None).normalize() - pd.Timestamp(first_day)).days.to_numpy()
    slot = (local.hour * 4 + local.minute // 15).to_numpy()
    keep = (day_idx >= 0) & (day_idx < n_days)
    d, s = day_idx[keep], slot[keep]
    for target, column in zip(grids, columns):
        values = history[column].to_numpy(float)[keep]
        target[d, s] = 0.0                     # observed cells start at 0 ...
        np.add.at(target, (d, s), values)      # ... and sum (the repeated hour when DST ends)
    return grids


def weekdays(first_day: date, n_days: int) -> np.ndarray:
    return (first_day.weekday() + np.arange(n_days)) % 7


def ratio_table(num: np.ndarray, den: np.ndarray, dows: np.ndarray, rows: np.ndarray, k: float,
                default: float) -> np.ndarray:
    """7 × 96 call-weighted ratios Σnum/Σden, shrunk weekday → slot → overall by k pseudo-calls.

    The slot level pools a centred hour (5 slots): handling times drift slowly over the day,
    while a single weekday-slot cell holds too few calls for a stable average.
    """
    both = rows[:, None] & ~np.isnan(num) & ~np.isnan(den)
    n = np.where(both, num, 0.0)
    d = np.where(both, den, 0.0)
    overall = n.sum() / d.sum() if d.sum() > 0 else default
    kernel = np.ones(5)
    n_slot = np.convolve(n.sum(0), kernel, mode="same")
    d_slot = np.convolve(d.sum(0), kernel, mode="same")
    slot = (n_slot + k * overall) / (d_slot + k)
    table = np.empty((7, SLOTS))
    for dow in range(7):
        r = dows == dow
        table[dow] = (n[r].sum(0) + k * slot) / (d[r].sum(0) + k)
    return table


# ---------------------------------------------------------------- forecast
def horizon_intervals(start: datetime, end: datetime) -> pd.DatetimeIndex:
    return pd.date_range(pd.Timestamp(start).tz_convert("UTC").ceil("15min"),
                         pd.Timestamp(end).tz_convert("UTC"), freq="15min", inclusive="left")




# ---------------------------------------------------------------- series data
@dataclass
class SeriesData:
    """A series on its local grid (days × 96) from ``first_day``, special days applied."""

    tz: str
    first_day: date
    calls: np.ndarray
    uniq: np.ndarray
    handle: np.ndarray
    special: dict[date, SpecialDay]
    cfg: ModelConfig
    # the calls ``handle`` is per: answered where known, else offered (issue 13); None = ``calls``
    handled: np.ndarray | None = None
    engine: Engine = field(init=False)

    def __post_init__(self) -> None:
        self.engine = Engine(self.calls, weekdays(self.first_day, self.calls.shape[0]), self.cfg)

    @classmethod
    def build(cls, history: pd.DataFrame, tz: str, first_day: date, last_day: date,
              special: dict[date, SpecialDay] | None, cfg: ModelConfig) -> "SeriesData":
        special = special or {}
        # AHT is per handled call; a history without handled_calls (synthetic data) has every call handled
        columns = ("calls", "unique_calls", "handle_seconds") + (("handled_calls",) if "handled_calls" in history else ())
        calls, uniq, handle, *rest = local_grid(history, tz, first_day, last_day, columns)
        handled = rest[0] if rest else None
        for day, sd in special.items():
            i = (day - first_day).days
            if sd.exclude_from_training and 0 <= i < calls.shape[0]:
                calls[i] = uniq[i] = handle[i] = np.nan
                if handled is not None:
                    handled[i] = np.nan
        return cls(tz, first_day, calls, uniq, handle, special, cfg, handled)

    def index(self, day: date) -> int:
        return (day - self.first_day).days

    def day(self, index: int) -> date:
        return self.first_day + timedelta(days=int(index))


def forecast_series(history: pd.DataFrame, tz: str, as_of: datetime, horizon_end: datetime,
                    special_days: dict[date, SpecialDay] | None = None,
                    cfg: ModelConfig | None = None, default_aht: float = 180.0) -> Forecast:
    """Forecast [as_of, horizon_end) from history of the local days before ``as_of``'s day.

    ``history``: interval_start (tz-aware), calls, unique_calls, handle_seconds (talk + wrap-up
    totals) and optionally handled_calls (the calls handle_seconds is per; default: calls).
    Rows at or after ``as_of`` are dropped here as well, so no caller can leak them.
    """
    cfg = cfg or ModelConfig()
    as_of_ts = pd.Timestamp(as_of).tz_convert("UTC")
    history = history[pd.DatetimeIndex(history["interval_start"]) < as_of_ts] if len(history) else history
    first_fc = as_of_ts.tz_convert(ZoneInfo(tz)).date()
    data = SeriesData.build(history, tz, first_fc - timedelta(days=history_days(cfg)),
                            first_fc - timedelta(days=1), special_days, cfg)
    return forecast_from(data, as_of_ts, pd.Timestamp(horizon_end), default_aht)


def forecast_from(data: SeriesData, as_of: pd.Timestamp, horizon_end: pd.Timestamp,
                  default_aht: float = 180.0) -> Forecast:
    """Forecast from a prepared series: training = the grid days before ``as_of``'s local day."""
    zone = ZoneInfo(data.tz)
    first_fc = as_of.tz_convert(zone).date()
    origin = data.index(first_fc)
    cfg = data.cfg
    lo = max(0, origin - cfg.train_days)
    calls = data.calls[lo:origin]
    observed = ~np.isnan(calls)
    total0 = float(np.where(observed, calls, 0.0).sum())
    intervals = horizon_intervals(as_of, horizon_end)
    excluded = sum(1 for d, sd in data.special.items()
                   if sd.exclude_from_training and data.day(lo) <= d < first_fc)
    info: dict = {"model": MODEL_NAME, "history_intervals": int(observed.sum()), "history_calls": total0,
                  "excluded_special_days": excluded}
    if total0 <= 0 or len(intervals) == 0:
        zeros = np.zeros(len(intervals))
        frame = pd.DataFrame({"interval_start": intervals, "calls": zeros, "unique_calls": zeros,
                              "aht": np.full(len(intervals), default_aht)})
        info["note"] = "no calls in the training window: zero forecast"
        return Forecast(frame, info)

    local = intervals.tz_convert(zone)
    f_day = (local.tz_localize(None).normalize() - pd.Timestamp(first_fc)).days.to_numpy()
    f_slot = (local.hour * 4 + local.minute // 15).to_numpy()
    grid, prep, details = forecast_grid(data, origin, int(f_day.max()) + 1)
    info.update(details)
    fc_calls = grid[f_day, f_slot]

    # Unique ratio and AHT from the recent, usable days (call-weighted).
    dows = weekdays(data.day(lo), origin - lo)
    rows = np.arange(origin - lo) >= origin - lo - 7 * cfg.profile_weeks
    if prep is not None:
        rows &= ~prep.excluded
    uniq_ratio = np.clip(ratio_table(data.uniq[lo:origin], calls, dows, rows, cfg.aht_pseudo_calls, 1.0), 0.0, 1.0)
    handled = calls if data.handled is None else data.handled[lo:origin]
    aht = ratio_table(data.handle[lo:origin], handled, dows, rows, cfg.aht_pseudo_calls, default_aht)
    f_dow = local.dayofweek.to_numpy()
    frame = pd.DataFrame({
        "interval_start": intervals,
        "calls": fc_calls,
        "unique_calls": fc_calls * uniq_ratio[f_dow, f_slot],
        "aht": aht[f_dow, f_slot],
    })
    return Forecast(frame, info)


def forecast_grid(data: SeriesData, origin: int, n_days: int) -> tuple[np.ndarray, object, dict]:
    """The model's forecast of ``n_days`` local days from grid day ``origin`` (days × 96), with
    special-day and holiday multipliers; also its fit and what to record about it."""
    grid, prep, sel = data.engine.forecast(origin, n_days)
    details: dict = {}
    if prep is not None:
        lo = max(0, origin - data.cfg.train_days)
        train_first = data.day(lo)
        effects = learn_adjacent_effects(prep, train_first, data.special)
        closures = {train_first + timedelta(days=int(i)) for i in np.flatnonzero(prep.closed)}
        closures |= {d for d, sd in data.special.items() if sd.closed}
        days = [data.day(origin + i) for i in range(n_days)]
        grid = grid * day_multipliers(days, prep.open_dow, closures, data.special, effects)[:, None]

        def dates(mask: np.ndarray) -> list[str]:
            return [str(train_first + timedelta(days=int(i))) for i in np.flatnonzero(mask)]

        details.update({
            "weekday_factors": [round(float(f), 4) for f in prep.factors], "level": round(prep.level, 3),
            "trend": round(prep.trend, 4), **prep.holt, "closures": dates(prep.closed),
            "catch_up_days": dates(prep.catch_up), "outlier_days": dates(prep.abnormal),
            "holiday_effects": {k: v.as_dict() for k, v in effects.items()},
        })
    details["selection"] = sel.as_dict(data.first_day)
    return grid, prep, details
