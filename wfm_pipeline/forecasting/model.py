"""Interval call forecasts: daily totals × weekday intraday profiles, in the service's local time.

The structure follows what the call-centre literature finds strong at horizons of days to
weeks (Taylor 2008; Ibrahim, Ye, L'Ecuyer & Shen 2016): model the *daily volume* with a
level/trend and a day-of-week effect, and spread it over the day with a *weekday-specific
intraday profile* that is shrunk toward the all-days profile (profiles are noisy, and the
literature's fixed-effects models owe much of their accuracy to pooling).

* Everything runs on a local-calendar grid (local date × 96 wall-clock slots), so profiles
  follow local hours across daylight-saving changes.
* Missing intervals are unknown, not zero: a day's total is scaled up by the profile share it
  covers; days covering < 50% of the usual volume are left out.
* Closed days and hours are zero where history is always zero.
* Days listed as special with ``exclude_from_training`` are ignored; unlisted outlier days
  (total < 1/2 or > 2× the same weekday's neighbours) are ignored too. Future special days
  scale the forecast by their multiplier.
* Daily level: damped-trend Holt exponential smoothing of the weekday-adjusted totals, its
  smoothing constants chosen per series by one-step-ahead squared error on a small grid.
* Weekday factors: a weighted alternating least-squares fit of weeks × weekdays (recent
  weeks weigh more), which copes with missing days.
* Unique-call ratio and AHT (call-weighted: Σ handle seconds / Σ calls) per weekday and
  slot, shrunk toward the slot's all-days value and the overall value by pseudo-counts.

Plain numpy/pandas; no Dagster, no database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

MODEL_NAME = "holt_dow_profile/1"
SLOTS = 96
INTERVAL = pd.Timedelta(minutes=15)


@dataclass(frozen=True)
class SpecialDay:
    exclude_from_training: bool = True
    multiplier: float | None = None


@dataclass(frozen=True)
class ModelConfig:
    train_days: int = 112            # daily-level history used (16 weeks)
    profile_weeks: int = 8           # weeks behind profiles, weekday factors, AHT
    week_decay: float = 0.85         # weight of a week relative to the next newer one (weekday factors)
    outlier_low: float = 0.5         # day total below this × neighbours' median: outlier
    outlier_high: float = 2.0
    min_coverage: float = 0.5        # a day must cover this share of usual volume to count
    aht_pseudo_calls: float = 200.0   # shrinkage strength of AHT / unique ratio
    alphas: tuple[float, ...] = (0.05, 0.1, 0.2, 0.35, 0.5)
    betas: tuple[float, ...] = (0.0, 0.03, 0.1)
    phi: float = 0.85                # trend damping

    def as_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


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


# ---------------------------------------------------------------- daily level
def holt_damped(y: np.ndarray, alpha: float, beta: float, phi: float) -> tuple[float, float, float]:
    """Damped Holt over a series with NaNs (missing days only propagate). Returns level, trend, SSE."""
    valid = np.flatnonzero(~np.isnan(y))
    level = float(np.mean(y[valid[:7]]))
    trend = 0.0
    sse = 0.0
    for t in range(int(valid[0]) if valid.size else 0, y.size):
        pred = level + phi * trend
        if np.isnan(y[t]):
            level, trend = pred, phi * trend
            continue
        err = y[t] - pred
        sse += err * err
        new_level = pred + alpha * err
        trend = beta * (new_level - level) + (1 - beta) * phi * trend
        level = new_level
    return level, trend, sse


def fit_level(y: np.ndarray, cfg: ModelConfig) -> tuple[float, float, dict]:
    """Best (alpha, beta) on one-step squared error; returns level, trend and the choice."""
    best = None
    for alpha in cfg.alphas:
        for beta in cfg.betas:
            level, trend, sse = holt_damped(y, alpha, beta, cfg.phi)
            if best is None or sse < best[2] - 1e-9:
                best = (level, trend, sse, alpha, beta)
    level, trend, _, alpha, beta = best
    return max(level, 0.0), trend, {"alpha": alpha, "beta": beta, "phi": cfg.phi}


def weekday_factors(totals: np.ndarray, dows: np.ndarray, cfg: ModelConfig) -> np.ndarray:
    """Multiplicative weekday effects (mean 1 over the 7 days) from weeks × weekdays, NaN-aware."""
    n = totals.size
    weeks = min(cfg.profile_weeks, n // 7)
    if weeks == 0:
        return np.ones(7)
    block = totals[n - 7 * weeks:].reshape(weeks, 7)        # rows: weeks ending at the last day
    block_dow = dows[n - 7 * weeks:].reshape(weeks, 7)[0]
    obs = ~np.isnan(block)
    d = np.where(obs, block, 0.0)
    w = (cfg.week_decay ** np.arange(weeks - 1, -1, -1))[:, None] * obs
    f = np.ones(7)
    lvl = np.ones(weeks)
    for _ in range(25):
        lvl = (w * d * f).sum(1) / np.maximum((w * f * f).sum(1), 1e-12)
        f = (w * d * lvl[:, None]).sum(0) / np.maximum((w * lvl[:, None] ** 2).sum(0), 1e-12)
        f = np.where(obs.any(0), f, 0.0)
        mean = f.mean()
        if mean <= 0:
            return np.zeros(7)
        f = f / mean
    out = np.zeros(7)
    out[block_dow] = f
    return out


def flag_outliers(totals: np.ndarray, dows: np.ndarray, cfg: ModelConfig) -> np.ndarray:
    """Days whose total is far from the median of the same weekday in the 4 surrounding weeks."""
    out = np.zeros(totals.size, bool)
    for dow in range(7):
        idx = np.flatnonzero(dows == dow)
        vals = totals[idx]
        for i, day in enumerate(idx):
            if np.isnan(vals[i]):
                continue
            neigh = np.concatenate([vals[max(0, i - 2):i], vals[i + 1:i + 3]])
            neigh = neigh[~np.isnan(neigh)]
            if neigh.size < 2:
                continue
            med = float(np.median(neigh))
            if med <= 0:
                continue
            ratio = vals[i] / med
            out[day] = ratio < cfg.outlier_low or ratio > cfg.outlier_high
    return out


# ---------------------------------------------------------------- profiles
def shrunk_profiles(calls: np.ndarray, totals: np.ndarray, dows: np.ndarray,
                    usable: np.ndarray) -> np.ndarray:
    """7 × 96 intraday shares: each weekday's pooled profile shrunk toward the all-days profile.

    A slot's share is Σ calls / Σ day totals over the days where that slot was observed, so a
    missing interval lowers neither its own slot nor the others. The shrinkage weight is
    empirical Bayes: the Poisson variance of a weekday profile (Σ_s p/N = 1/N) against its
    observed squared distance from the all-days profile. Slots where a weekday's history is
    always zero stay zero.
    """
    obs = ~np.isnan(calls) & usable[:, None] & ~np.isnan(totals)[:, None]
    x = np.where(obs, calls, 0.0)
    t = np.where(obs, np.nan_to_num(totals)[:, None], 0.0)
    profiles = np.zeros((7, SLOTS))
    p_all = _share(x.sum(0), t.sum(0))
    if p_all.sum() <= 0:
        return profiles
    for dow in range(7):
        rows = usable & (dows == dow) & ~np.isnan(totals)
        n_w = float(np.nansum(totals[rows]))
        if n_w <= 0:
            profiles[dow] = 0.0 if rows.any() else p_all
            continue
        p_w = _share(x[rows].sum(0), t[rows].sum(0))
        dist = float(((p_w - p_all) ** 2).sum())
        weight_all = min(1.0, (1.0 / n_w) / max(dist, 1e-12))
        p = (1 - weight_all) * p_w + weight_all * p_all
        if rows.sum() >= 2:
            p = np.where(x[rows].sum(0) > 0, p, 0.0)     # always zero on this weekday: closed
        profiles[dow] = p / p.sum() if p.sum() > 0 else p_all
    return profiles


def _share(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(den > 0, num / den, 0.0)
    total = rate.sum()
    return rate / total if total > 0 else rate


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


def forecast_series(history: pd.DataFrame, tz: str, as_of: datetime, horizon_end: datetime,
                    special_days: dict[date, SpecialDay] | None = None,
                    cfg: ModelConfig | None = None, default_aht: float = 180.0) -> Forecast:
    """Forecast [as_of, horizon_end) from history strictly before ``as_of``.

    ``history``: interval_start (tz-aware), calls, unique_calls, handle_seconds (talk + wrap-up
    totals) and optionally handled_calls (the calls handle_seconds is per; default: calls).
    Rows at or after ``as_of`` are dropped here as well, so no caller can leak them.
    """
    cfg = cfg or ModelConfig()
    special_days = special_days or {}
    zone = ZoneInfo(tz)
    as_of_ts = pd.Timestamp(as_of).tz_convert("UTC")
    history = history[pd.DatetimeIndex(history["interval_start"]) < as_of_ts] if len(history) else history
    as_of_local = as_of_ts.tz_convert(zone)
    # The day containing as_of is partly observed at most: it is the last training day only if
    # as_of is exactly local midnight's successor day; otherwise its partial data is imputed.
    last_day = (as_of_local - pd.Timedelta(microseconds=1)).date()
    first_day = last_day - timedelta(days=cfg.train_days - 1)
    # AHT is per handled call (answered where known, else offered: issue 13); a history without
    # handled_calls (older callers, synthetic data) has every call handled.
    columns = ("calls", "unique_calls", "handle_seconds") + (("handled_calls",) if "handled_calls" in history else ())
    calls, uniq, handle, *rest = local_grid(history, tz, first_day, last_day, columns)
    handled = rest[0] if rest else calls.copy()
    n_days = calls.shape[0]
    dows = weekdays(first_day, n_days)
    day_dates = [first_day + timedelta(days=i) for i in range(n_days)]
    excluded = np.array([special_days.get(d, SpecialDay(False)).exclude_from_training for d in day_dates],
                        bool)
    calls[excluded] = np.nan

    observed = ~np.isnan(calls)
    x0 = np.where(observed, calls, 0.0)
    total0 = x0.sum()
    intervals = horizon_intervals(as_of_ts, pd.Timestamp(horizon_end))
    info: dict = {"model": MODEL_NAME, "history_intervals": int(observed.sum()),
                  "history_calls": float(total0), "excluded_special_days": int(excluded.sum())}
    if total0 <= 0:
        zeros = np.zeros(len(intervals))
        frame = pd.DataFrame({"interval_start": intervals, "calls": zeros, "unique_calls": zeros,
                              "aht": np.full(len(intervals), default_aht)})
        info["note"] = "no calls in the training window: zero forecast"
        return Forecast(frame, info)

    # Day totals, scaled up by the covered share of the usual profile (missing intervals);
    # the first-pass profile is each slot's mean over the days it was observed.
    p_all0 = _share(x0.sum(0), observed.sum(0).astype(float))
    coverage = (observed * p_all0).sum(1)
    totals = np.where(coverage >= cfg.min_coverage, x0.sum(1) / np.maximum(coverage, 1e-12), np.nan)
    outliers = flag_outliers(totals, dows, cfg)
    totals[outliers] = np.nan
    info["outlier_days"] = [str(day_dates[i]) for i in np.flatnonzero(outliers)]

    recent = np.arange(n_days) >= n_days - 7 * cfg.profile_weeks
    usable = ~outliers & ~np.isnan(totals) & recent
    profiles = shrunk_profiles(calls, totals, dows, usable)
    # Second pass: weekday-specific coverage is exact where a weekday has its own opening hours.
    coverage = (observed * profiles[dows]).sum(1)
    totals = np.where((coverage >= cfg.min_coverage) & ~outliers & ~excluded,
                      x0.sum(1) / np.maximum(coverage, 1e-12), np.nan)

    factors = weekday_factors(totals, dows, cfg)
    with np.errstate(invalid="ignore", divide="ignore"):
        deseason = np.where(factors[dows] > 0, totals / factors[dows], np.nan)
    if np.isnan(deseason).all():
        level, trend, choice = 0.0, 0.0, {}
    else:
        level, trend, choice = fit_level(deseason, cfg)
    info.update({"weekday_factors": [round(float(f), 4) for f in factors], "level": round(level, 3),
                 "trend": round(trend, 4), **choice})

    # Unique ratio and AHT from the recent, usable days (call-weighted).
    rows = recent & ~excluded & ~outliers
    uniq_ratio = np.clip(ratio_table(uniq, calls, dows, rows, cfg.aht_pseudo_calls, 1.0), 0.0, 1.0)
    aht = ratio_table(handle, handled, dows, rows, cfg.aht_pseudo_calls, default_aht)

    local = intervals.tz_convert(zone)
    f_day = (local.tz_localize(None).normalize() - pd.Timestamp(last_day)).days.to_numpy()   # 1 = next day
    f_dow = local.dayofweek.to_numpy()
    f_slot = (local.hour * 4 + local.minute // 15).to_numpy()
    steps = np.maximum(f_day, 1)
    damp = cfg.phi * (1 - cfg.phi ** steps) / (1 - cfg.phi)
    daily = np.maximum(level + damp * trend, 0.0) * factors[f_dow]
    mult = np.array([_multiplier(special_days, d) for d in local.date], float) if special_days else 1.0
    fc_calls = daily * profiles[f_dow, f_slot] * mult
    frame = pd.DataFrame({
        "interval_start": intervals,
        "calls": fc_calls,
        "unique_calls": fc_calls * uniq_ratio[f_dow, f_slot],
        "aht": aht[f_dow, f_slot],
    })
    return Forecast(frame, info)


def _multiplier(special_days: dict[date, SpecialDay], day: date) -> float:
    sd = special_days.get(day)
    return 1.0 if sd is None or sd.multiplier is None else float(sd.multiplier)
