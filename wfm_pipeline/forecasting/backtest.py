"""Rolling-origin backtest: WAPE of the model, its candidates and two baselines.

Origins are local midnights a week apart, the latest ``horizon_days`` before ``end`` (so every
test window lies before ``end``); from each, the model (with its own model selection, which
looks only at history before that origin) forecasts ``horizon_days``. Baselines, computed on the
export as it is: seasonal naive (the same slot on the last same weekday present before the
origin) and the median of the last five same weekdays present (per slot). WAPE = Σ|actual −
forecast| / Σ actual at interval level and on day totals, pooled over the origins, scored on
every interval with an actual (days missing from the export are not scored), outside special
days (which planners handle by hand).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from wfm_pipeline.forecasting.candidates import CANDIDATES, column_nanmedian
from wfm_pipeline.forecasting.model import ModelConfig, SeriesData, SpecialDay, forecast_grid, history_days

SLOTS = 96


@dataclass(frozen=True)
class BacktestConfig:
    weeks: int = 4             # origins, a week apart
    horizon_days: int = 14
    step_days: int = 7


def wape(actual: np.ndarray, forecast: np.ndarray) -> float | None:
    total = float(np.sum(actual))
    return None if total <= 0 else float(np.sum(np.abs(actual - forecast)) / total)


def baselines(grid: np.ndarray, dows: np.ndarray, origin: int, horizon: int) -> dict[str, np.ndarray]:
    """Seasonal naive and median of 5 from the days before ``origin`` that have rows (per slot)."""
    present = ~np.isnan(grid[:origin]).all(1)
    naive = np.zeros((horizon, SLOTS))
    med = np.zeros((horizon, SLOTS))
    for h in range(horizon):
        dow = (dows[0] + origin + h) % 7
        same = np.flatnonzero(present & (dows[:origin] == dow))[::-1]
        if same.size == 0:
            continue
        naive[h] = np.nan_to_num(grid[same[0]])
        med[h] = np.nan_to_num(column_nanmedian(grid[same[:5]]))     # a slot with no row in 5 days: 0
    return {"naive": naive, "median5": med}


def series_data_for(history: pd.DataFrame, tz: str, end_day: date, special: dict[date, SpecialDay] | None,
                    cfg: BacktestConfig, model_cfg: ModelConfig) -> SeriesData:
    """The grid a forecast up to ``end_day`` and its backtest need (one engine, fits shared)."""
    days = history_days(model_cfg, cfg.weeks, cfg.horizon_days, cfg.step_days)
    return SeriesData.build(history, tz, end_day - timedelta(days=days), end_day - timedelta(days=1), special,
                            model_cfg)


def backtest(history: pd.DataFrame | None, tz: str, end: datetime,
             special_days: dict[date, SpecialDay] | None = None,
             cfg: BacktestConfig | None = None, model_cfg: ModelConfig | None = None,
             data: SeriesData | None = None) -> dict:
    """Backtest over the weeks before ``end`` (the local day containing ``end`` is not scored)."""
    cfg = cfg or BacktestConfig()
    model_cfg = model_cfg or ModelConfig()
    end_day = pd.Timestamp(end).tz_convert(ZoneInfo(tz)).date()
    if data is None:
        data = series_data_for(history, tz, end_day, special_days, cfg, model_cfg)
    h = cfg.horizon_days
    dows = data.engine.dows
    end_i = data.index(end_day)
    methods = ("model", "naive", "median5", *CANDIDATES)
    pooled = {m: [] for m in methods}
    actual_all: list[np.ndarray] = []
    per_origin = []
    for k in range(cfg.weeks - 1, -1, -1):
        o = end_i - h - cfg.step_days * k
        if o <= 0 or data.engine.fit(o) is None:
            continue
        actual = data.calls[o:o + h]
        mask = ~np.isnan(actual)
        if not mask.any():
            continue
        model, _, details = forecast_grid(data, o, h)
        forecasts = {"model": model, **baselines(data.calls, dows, o, h), **data.engine.fit(o).grids}
        a = np.where(mask, actual, 0.0)
        actual_all.append(a)
        for m in methods:
            pooled[m].append(np.where(mask, forecasts[m], 0.0))
        sel = details["selection"]
        per_origin.append({"origin": str(data.day(o)), "days": int(mask.any(1).sum()),
                           "wape_model": _round(wape(a, pooled["model"][-1])),
                           "wape_naive": _round(wape(a, pooled["naive"][-1])),
                           "wape_median5": _round(wape(a, pooled["median5"][-1])),
                           "weights": sel["weights"]})
    if not actual_all:
        return {"weeks": 0, "horizon_days": h, "note": "not enough history before the backtest origins"}
    a = np.concatenate(actual_all)
    f = {m: np.concatenate(v) for m, v in pooled.items()}
    da = a.sum(1)
    result = {
        "weeks": len(per_origin), "horizon_days": h, "step_days": cfg.step_days,
        "baseline": "seasonal_naive (last same weekday before the origin)",
        "calls_scored": float(a.sum()), "days_scored": int((da > 0).sum()),
        "interval": {"model": _round(wape(a, f["model"])), "naive": _round(wape(a, f["naive"])),
                     "median5": _round(wape(a, f["median5"]))},
        "day": {"model": _round(wape(da, f["model"].sum(1))), "naive": _round(wape(da, f["naive"].sum(1))),
                "median5": _round(wape(da, f["median5"].sum(1)))},
        "candidates": {c: _round(wape(a, f[c])) for c in CANDIDATES},
        "origins": per_origin,
    }
    result["interval_improvement"] = _improvement(result["interval"])
    result["day_improvement"] = _improvement(result["day"])
    result["interval_improvement_vs_median5"] = _improvement(result["interval"], "median5")
    result["selection"] = data.engine.select(end_i).as_dict(data.first_day)   # what a forecast from `end` uses
    return result


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 5)


def _improvement(pair: dict, baseline: str = "naive") -> float | None:
    """1 − model/baseline: 0.2 means the model's WAPE is 20% lower than the baseline's."""
    if pair["model"] is None or not pair[baseline]:
        return None
    return round(1 - pair["model"] / pair[baseline], 4)
