"""Generated bank-like call history: what real Argus exports of a retail bank's hotline have.

Each series is drawn from a seed; the seed also draws its *shape*, so that varying seeds varies
the structure and not only the noise (an accuracy benchmark tuned to one set of parameters
would say little about held-back data):

* weekday volumes (Monday highest, Friday lower), opening hours 07/08:00 to 18/20:00, either a
  Monday-Friday service whose export has no weekend rows at all, or a Monday-Saturday service
  with a short Saturday whose export carries every interval (zeros when closed);
* an intraday shape with a morning and an afternoon peak whose times and heights vary by
  series and a little by weekday;
* public holidays (the German nationwide ones plus Christmas Eve and New Year's Eve): the
  centre is closed and the day is *missing from the export*; the next open day is a catch-up
  day (+15 to +35 %), the day before may be lower or higher;
* one to three unannounced level shifts (a campaign or a product change: -15 % to +20 %),
  a slow drift, paydays at the turn of the month, an outage day now and then (x1.4-1.8);
* an AR(1) day-level random effect (call volumes are over-dispersed at the day level,
  Aldor-Noiman et al. 2009), then Poisson counts per 15-minute interval;
* export gaps: a few weekdays missing whole, a few blocks of intervals missing.

The truth (expected calls per interval) is kept for tests; nothing here is seen by a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from dateutil.easter import easter

SLOTS = 96


@dataclass(frozen=True)
class BankSpec:
    seed: int = 1
    daily_calls: float = 3000.0        # mean calls of an open weekday
    start: date = date(2025, 1, 6)
    weeks: int = 40                    # ~9 months: spring holidays, summer, October
    time_zone: str = "Europe/Berlin"
    shape: str | None = None           # "weekdays" | "saturday"; None: drawn from the seed


@dataclass
class BankSeries:
    spec: BankSpec
    frame: pd.DataFrame                # interval_start (UTC), calls, unique_calls, handle_seconds, ...
    holidays: tuple[date, ...]         # closed public holidays inside the range
    shape: str
    events: dict                       # what was drawn (level shifts, outages, missing days)


def public_holidays(years: range | list[int]) -> list[date]:
    """Nationwide German public holidays plus Dec 24 and Dec 31 (banks' hotlines close)."""
    out: list[date] = []
    for y in years:
        e = easter(y)
        out += [date(y, 1, 1), e - timedelta(days=2), e + timedelta(days=1), date(y, 5, 1),
                e + timedelta(days=39), e + timedelta(days=50), date(y, 10, 3), date(y, 12, 24),
                date(y, 12, 25), date(y, 12, 26), date(y, 12, 31)]
    return sorted(out)


def _intraday(rng: np.random.Generator, open_h: float, close_h: float) -> np.ndarray:
    hours = (np.arange(SLOTS) + 0.5) / 4
    am, pm = rng.uniform(9.5, 11.0), rng.uniform(13.5, 15.5)
    shape = (np.exp(-0.5 * ((hours - am) / rng.uniform(1.0, 1.8)) ** 2)
             + rng.uniform(0.5, 0.9) * np.exp(-0.5 * ((hours - pm) / rng.uniform(1.5, 2.5)) ** 2) + 0.12)
    shape = np.where((hours >= open_h) & (hours < close_h), shape, 0.0)
    return shape / shape.sum()


def generate(spec: BankSpec) -> BankSeries:
    rng = np.random.default_rng(spec.seed)
    shape = spec.shape or ("weekdays" if rng.random() < 0.5 else "saturday")
    n = 7 * spec.weeks
    days = [spec.start + timedelta(days=i) for i in range(n)]
    dows = np.array([d.weekday() for d in days])
    holidays = {d for d in public_holidays(range(spec.start.year, days[-1].year + 1)) if days[0] <= d <= days[-1]}

    # Weekday volumes and opening hours.
    factors = np.array([rng.uniform(1.18, 1.40), rng.uniform(1.00, 1.12), rng.uniform(0.92, 1.02),
                        rng.uniform(0.90, 1.00), rng.uniform(0.80, 0.95), 0.0, 0.0])
    open_h, close_h = rng.choice([7.0, 8.0]), rng.choice([18.0, 19.0, 20.0])
    if shape == "saturday":
        factors[5] = rng.uniform(0.25, 0.45)
    factors[:5] /= factors[:5].mean()
    base_profile = _intraday(rng, open_h, close_h)
    profiles = np.empty((7, SLOTS))
    for dow in range(7):
        if dow == 5:
            profiles[dow] = _intraday(rng, 9.0, 14.0)
        else:   # weekdays share the service's shape, each a little different (Monday starts harder)
            tilt = 1 + (0.15 if dow == 0 else 0.0) * np.exp(-0.5 * ((np.arange(SLOTS) / 4 - 9.5) / 1.5) ** 2)
            wiggle = np.exp(rng.normal(0, 0.03, SLOTS))
            p = base_profile * tilt * wiggle
            profiles[dow] = p / p.sum()

    # Day-level multiplicative structure.
    t = np.arange(n)
    level = spec.daily_calls * np.exp(rng.uniform(-0.0006, 0.0012) * t
                                      + rng.uniform(0.0, 0.08) * np.sin(2 * np.pi * (t / 365.25 - rng.random())))
    shifts = []
    for _ in range(rng.integers(1, 4)):
        at = int(rng.integers(28, n - 14))
        size = float(rng.choice([-1, 1]) * rng.uniform(0.06, 0.20))
        level[at:] *= 1 + size
        shifts.append((str(days[at]), round(size, 3)))
    mult = np.ones(n)
    for i, d in enumerate(days):
        if d.day <= 2 or d.day >= 28:                           # turn of the month: paydays, statements
            mult[i] *= 1 + rng.uniform(0.03, 0.10)
    outages = []
    for _ in range(rng.integers(0, 3)):
        i = int(rng.integers(0, n))
        mult[i] *= rng.uniform(1.4, 1.8)
        outages.append(str(days[i]))
    open_day = factors[dows] > 0
    closed = np.array([d in holidays for d in days]) & open_day
    for i in np.flatnonzero(closed):
        nxt = next((j for j in range(i + 1, n) if open_day[j] and not closed[j]), None)
        if nxt is not None:
            mult[nxt] *= 1 + rng.uniform(0.15, 0.35)          # catch-up: calls that could not be made
        prv = next((j for j in range(i - 1, -1, -1) if open_day[j] and not closed[j]), None)
        if prv is not None:
            mult[prv] *= 1 + rng.uniform(-0.10, 0.10)
    effect = np.zeros(n)
    sd = rng.uniform(0.03, 0.06)
    for i in range(1, n):
        effect[i] = 0.4 * effect[i - 1] + rng.normal(0, sd)
    totals = level * factors[dows] * mult * np.exp(effect - sd ** 2 / 2)
    totals[closed] = 0.0

    # Intervals on local wall-clock time.
    zone = spec.time_zone
    idx = pd.date_range(pd.Timestamp(days[0]).tz_localize(zone).tz_convert("UTC"),
                        pd.Timestamp(days[-1] + timedelta(days=1)).tz_localize(zone).tz_convert("UTC"),
                        freq="15min", inclusive="left")
    local = idx.tz_convert(zone)
    day_i = (local.tz_localize(None).normalize() - pd.Timestamp(days[0])).days.to_numpy()
    slot = (local.hour * 4 + local.minute // 15).to_numpy()
    rate = totals[day_i] * profiles[dows[day_i], slot]
    calls = rng.poisson(rate)
    unique = rng.binomial(calls, rng.uniform(0.8, 0.9))
    handle_avg = rng.uniform(200, 320)
    frame = pd.DataFrame({"interval_start": idx, "calls": calls, "unique_calls": unique,
                          "avg_talk_time": np.where(calls > 0, int(handle_avg * 0.8), 0),
                          "avg_post_processing_time": np.where(calls > 0, int(handle_avg * 0.2), 0),
                          "expected": rate})
    frame["handle_seconds"] = (frame["avg_talk_time"] + frame["avg_post_processing_time"]) * frame["calls"]

    # What the export leaves out.
    keep = ~closed[day_i]
    if shape == "weekdays":
        keep &= open_day[dows[day_i]]
        keep &= (slot >= int(open_h * 4) - 4) & (slot < int(close_h * 4) + 4)   # export covers the open hours
    workdays = np.flatnonzero(open_day & ~closed)
    lost_days = [int(i) for i in rng.choice(workdays, size=int(rng.integers(1, 4)), replace=False)]
    keep &= ~np.isin(day_i, lost_days)
    for _ in range(rng.integers(2, 6)):                       # blocks of a few hours lost
        i = int(rng.choice(workdays))
        s0 = int(rng.integers(int(open_h * 4), int(close_h * 4) - 8))
        keep &= ~((day_i == i) & (slot >= s0) & (slot < s0 + int(rng.integers(4, 17))))
    frame = frame[keep].reset_index(drop=True)
    events = {"level_shifts": shifts, "outages": outages, "lost_days": sorted(str(days[i]) for i in lost_days),
              "weekday_factors": [round(float(f), 3) for f in factors], "open_hours": [open_h, close_h]}
    return BankSeries(spec, frame, tuple(sorted(holidays)), shape, events)
