"""Realistic synthetic call-centre history with known structure (tests, demo, benchmark).

Per local day: a slowly trending level with day-to-day random effects (call volumes are
over-dispersed relative to Poisson at the day level, Aldor-Noiman et al. 2009), weekday
factors (Sunday closed), an intraday profile with a morning and an afternoon peak and
weekday-specific opening hours, public holidays (closed) with a catch-up the day after, then
Poisson counts per 15-minute interval. Unique calls are a binomial share of all calls; talk
and wrap-up times vary by hour. Everything is built on local wall-clock time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from wfm_pipeline.forecasting.model import SLOTS, SpecialDay

WEEKDAY_FACTORS = np.array([1.25, 1.10, 1.00, 1.00, 0.95, 0.55, 0.0])   # Mon..Sun (Sunday closed)
OPEN_HOURS = {0: (7, 21), 1: (7, 21), 2: (7, 21), 3: (7, 21), 4: (7, 20), 5: (9, 17), 6: (0, 0)}


@dataclass(frozen=True)
class SyntheticSpec:
    start: date
    days: int
    time_zone: str = "Europe/Berlin"
    daily_calls: float = 3000.0       # volume of a weekday with factor 1.0 (Wednesday)
    trend_per_day: float = 0.0015     # multiplicative growth per day
    day_noise: float = 0.05           # sd of the log day-level random effect (AR(1))
    unique_share: float = 0.85
    talk_seconds: float = 200.0
    wrap_seconds: float = 40.0
    holidays: tuple[date, ...] = ()
    missing_share: float = 0.003      # intervals randomly absent from the export
    seed: int = 1


def intraday_shape(dow: int) -> np.ndarray:
    """Share of the day's calls per local slot for a weekday (zero outside opening hours)."""
    open_h, close_h = OPEN_HOURS[dow]
    hours = (np.arange(SLOTS) + 0.5) / 4
    shape = (np.exp(-0.5 * ((hours - 10.5) / 1.6) ** 2) + 0.8 * np.exp(-0.5 * ((hours - 15.0) / 2.0) ** 2)
             + 0.15)
    if dow == 4:                       # Friday: earlier afternoon peak
        shape += 0.3 * np.exp(-0.5 * ((hours - 13.0) / 1.0) ** 2)
    shape = np.where((hours >= open_h) & (hours < close_h), shape, 0.0)
    total = shape.sum()
    return shape / total if total > 0 else shape


def expected_day_totals(spec: SyntheticSpec) -> tuple[list[date], np.ndarray]:
    """Expected (noise-free) daily volume per local date, holidays and catch-ups included."""
    days = [spec.start + timedelta(days=i) for i in range(spec.days)]
    dows = np.array([d.weekday() for d in days])
    base = spec.daily_calls * (1 + spec.trend_per_day) ** np.arange(spec.days) * WEEKDAY_FACTORS[dows]
    hol = set(spec.holidays)
    for i, d in enumerate(days):
        if d in hol:
            base[i] = 0.0
        elif d - timedelta(days=1) in hol and WEEKDAY_FACTORS[dows[i]] > 0:
            base[i] *= 1.25          # catch-up after a holiday (not announced to the model)
    return days, base


def generate(spec: SyntheticSpec) -> pd.DataFrame:
    """Interval rows in UTC: interval_start, calls, unique_calls, avg_talk_time, avg_post_processing_time,
    handle_seconds. Closed intervals are present with 0 calls; ``missing_share`` are absent."""
    rng = np.random.default_rng(spec.seed)
    days, base = expected_day_totals(spec)
    effect = np.zeros(spec.days)
    for i in range(1, spec.days):                      # AR(1) day-level random effect
        effect[i] = 0.5 * effect[i - 1] + rng.normal(0, spec.day_noise)
    totals = base * np.exp(effect - spec.day_noise ** 2 / 2)
    start_local = pd.Timestamp(spec.start).tz_localize(spec.time_zone)
    end_local = pd.Timestamp(spec.start + timedelta(days=spec.days)).tz_localize(spec.time_zone)
    idx = pd.date_range(start_local.tz_convert("UTC"), end_local.tz_convert("UTC"), freq="15min",
                        inclusive="left")
    local = idx.tz_convert(spec.time_zone)
    day_i = (local.tz_localize(None).normalize() - pd.Timestamp(spec.start)).days.to_numpy()
    slot = (local.hour * 4 + local.minute // 15).to_numpy()
    shapes = np.stack([intraday_shape(d) for d in range(7)])
    dows = np.array([d.weekday() for d in days])
    rate = totals[day_i] * shapes[dows[day_i], slot]
    calls = rng.poisson(rate)
    unique = rng.binomial(calls, spec.unique_share)
    hour = local.hour.to_numpy()
    talk_mean = spec.talk_seconds * (1 + 0.1 * np.sin((hour - 8) / 24 * 2 * np.pi))
    # Per-interval averages of gamma-distributed call times (cv 0.8): sd shrinks with sqrt(calls).
    safe = np.maximum(calls, 1)
    talk = np.where(calls > 0, np.round(rng.normal(talk_mean, 0.8 * talk_mean / np.sqrt(safe))), 0)
    wrap_sd = 0.8 * spec.wrap_seconds / np.sqrt(safe)
    wrap = np.where(calls > 0, np.round(rng.normal(spec.wrap_seconds, wrap_sd)), 0)
    talk = np.clip(talk, 1, 86400).astype(int)
    wrap = np.clip(wrap, 0, 86400).astype(int)
    frame = pd.DataFrame({
        "interval_start": idx, "calls": calls, "unique_calls": unique,
        "avg_talk_time": np.where(calls > 0, talk, 0),
        "avg_post_processing_time": np.where(calls > 0, wrap, 0),
    })
    frame["handle_seconds"] = (frame["avg_talk_time"] + frame["avg_post_processing_time"]) * frame["calls"]
    keep = rng.random(len(frame)) >= spec.missing_share
    return frame[keep].reset_index(drop=True)


def default_holidays(start: date, days: int) -> tuple[date, ...]:
    """A few fixed weekday holidays spread over the range (every ~5 weeks, on a Tuesday/Thursday)."""
    out = []
    day = start + timedelta(days=17)
    while day < start + timedelta(days=days):
        while day.weekday() not in (1, 3):
            day += timedelta(days=1)
        out.append(day)
        day += timedelta(days=36)
    return tuple(out)


def special_days_for(spec: SyntheticSpec) -> dict[date, SpecialDay]:
    """What a planner would enter: the holidays, excluded from training, closed (multiplier 0)."""
    return {d: SpecialDay(True, 0.0) for d in spec.holidays}
