"""Rolling-origin backtest: WAPE of the model against the seasonal-naive baseline.

Origins are local midnights 1..``weeks`` weeks before ``end``; from each, the model forecasts
``horizon_days`` using only history before the origin. The baseline is seasonal naive: the
same local interval one week earlier (with the default 7-day horizon that is always history
before the origin). WAPE = Σ|actual − forecast| / Σ actual, at interval level and on day
totals, scored on the intervals where both the actual and the baseline exist and outside
special days (which planners handle by hand).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from wfm_pipeline.forecasting.model import ModelConfig, SpecialDay, forecast_series, local_grid


@dataclass(frozen=True)
class BacktestConfig:
    weeks: int = 4
    horizon_days: int = 7


def wape(actual: np.ndarray, forecast: np.ndarray) -> float | None:
    total = float(np.sum(actual))
    return None if total <= 0 else float(np.sum(np.abs(actual - forecast)) / total)


def backtest(history: pd.DataFrame, tz: str, end: datetime,
             special_days: dict[date, SpecialDay] | None = None,
             cfg: BacktestConfig | None = None, model_cfg: ModelConfig | None = None) -> dict:
    """Backtest over the weeks before ``end`` (the local day containing ``end`` is not scored)."""
    cfg = cfg or BacktestConfig()
    special_days = special_days or {}
    zone = ZoneInfo(tz)
    end_day = pd.Timestamp(end).tz_convert(zone).date()
    first_origin = end_day - timedelta(days=7 * cfg.weeks)
    grid_start = first_origin - timedelta(days=7)
    grid_end = end_day - timedelta(days=1)
    (actual,) = local_grid(history, tz, grid_start, grid_end, ("calls",))
    a_all, f_all, n_all, day_rows = [], [], [], []
    per_origin = []
    for k in range(cfg.weeks):
        origin_day = first_origin + timedelta(days=7 * k)
        origin = pd.Timestamp(origin_day).tz_localize(zone)
        stop_day = min(origin_day + timedelta(days=cfg.horizon_days), end_day)
        stop = pd.Timestamp(stop_day).tz_localize(zone)
        fc = forecast_series(history, tz, origin.to_pydatetime(), stop.to_pydatetime(), special_days,
                             model_cfg)
        (fc_grid,) = local_grid(fc.frame, tz, origin_day, stop_day - timedelta(days=1), ("calls",))
        i0 = (origin_day - grid_start).days
        n = (stop_day - origin_day).days
        act = actual[i0:i0 + n]
        naive = actual[i0 - 7:i0 - 7 + n]
        special = np.array([origin_day + timedelta(days=i) in special_days for i in range(n)])
        mask = ~np.isnan(act) & ~np.isnan(naive) & ~np.isnan(fc_grid) & ~special[:, None]
        a = np.where(mask, act, 0.0)
        f = np.where(mask, fc_grid, 0.0)
        b = np.where(mask, naive, 0.0)
        a_all.append(a)
        f_all.append(f)
        n_all.append(b)
        per_origin.append({"origin": str(origin_day), "days": n,
                           "wape_model": _round(wape(a[mask], f[mask])),
                           "wape_naive": _round(wape(a[mask], b[mask]))})
        day_rows.append((a.sum(1), f.sum(1), b.sum(1)))
    if not a_all:
        return {"weeks": 0, "note": "no backtest origins"}
    a = np.concatenate(a_all)
    f = np.concatenate(f_all)
    b = np.concatenate(n_all)
    da = np.concatenate([r[0] for r in day_rows])
    df = np.concatenate([r[1] for r in day_rows])
    db = np.concatenate([r[2] for r in day_rows])
    result = {
        "weeks": cfg.weeks, "horizon_days": cfg.horizon_days, "baseline": "seasonal_naive_1w",
        "calls_scored": float(a.sum()), "days_scored": int((da > 0).sum()),
        "interval": {"model": _round(wape(a, f)), "naive": _round(wape(a, b))},
        "day": {"model": _round(wape(da, df)), "naive": _round(wape(da, db))},
        "origins": per_origin,
    }
    result["interval_improvement"] = _improvement(result["interval"])
    result["day_improvement"] = _improvement(result["day"])
    return result


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 5)


def _improvement(pair: dict) -> float | None:
    """1 − model/naive: 0.2 means the model's WAPE is 20% lower than the baseline's."""
    if pair["model"] is None or not pair["naive"]:
        return None
    return round(1 - pair["model"] / pair["naive"], 4)
