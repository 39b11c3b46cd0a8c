"""Forecast accuracy benchmark: the acceptance protocol on generated bank-like series.

Protocol (issue 11): six rolling origins three weeks apart, the last one 14 days before the end
of the data; at each, history = every interval before the origin (the same window ``wfm
forecast`` reads); a 14-day forecast; every interval with an actual in those 14 days is scored
(days missing from the export are not); pooled interval WAPE = Σ|actual − forecast| / Σ actual
over all origins. Methods side by side:

* ``model``: what ``wfm forecast`` stores (the same function, history before the origin only);
* ``model + calendar``: the same, with the series' public holidays entered as special days
  (closed, multiplier 0), as a planner loading a holiday list in bulk would;
* ``seasonal naive``: the same slot on the last same weekday present in the export;
* ``median of 5``: per slot, the median of the last five same weekdays present in the export;
* ``statsforecast MSTL`` (daily + weekly seasonality, AutoETS trend, on the 15-minute series)
  and ``statsforecast AutoETS`` (daily totals, weekly season, × the median-of-5 intraday
  shape) when the optional ``[bench]`` extra is installed.

Plain Python: the CLI wraps :func:`run` and :func:`format_report`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from wfm_pipeline.bench import bank_calls
from wfm_pipeline.forecasting.backtest import BacktestConfig, baselines
from wfm_pipeline.forecasting.model import (ModelConfig, SpecialDay, forecast_series, history_days, local_grid,
                                            weekdays)

HORIZON_DAYS = 14
ORIGINS = 6
ORIGIN_STEP_DAYS = 21


@dataclass
class MethodScore:
    abs_err: np.ndarray          # per origin Σ|a − f|
    actual: np.ndarray           # per origin Σa
    day_abs_err: float = 0.0     # Σ over days of |day total error| (day-level WAPE)

    @property
    def wape(self) -> float:
        return float(self.abs_err.sum() / self.actual.sum())

    def origin_wape(self) -> np.ndarray:
        return self.abs_err / self.actual


@dataclass
class SeriesResult:
    label: str
    shape: str
    daily_calls: float
    seed: int
    origins: list[date]
    scores: dict[str, MethodScore] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def statsforecast_available() -> bool:
    try:
        import statsforecast  # noqa: F401
    except ImportError:
        return False
    return True


def origins_for(last_day: date, n: int = ORIGINS, step: int = ORIGIN_STEP_DAYS,
                horizon: int = HORIZON_DAYS) -> list[date]:
    """``n`` origins ``step`` days apart, the latest one ``horizon`` days before the data ends."""
    final = last_day + timedelta(days=1) - timedelta(days=horizon)
    return [final - timedelta(days=step * k) for k in range(n - 1, -1, -1)]


def _day_grid(frame: pd.DataFrame, tz: str, first: date, last: date) -> np.ndarray:
    (grid,) = local_grid(frame, tz, first, last, ("calls",))
    return grid


def _statsforecast_methods(history_grid: np.ndarray, history_first: date, origin: date,
                           horizon: int, med5: np.ndarray) -> dict[str, np.ndarray]:
    """MSTL (96 and 672 slots, AutoETS trend) on the last 8 weeks; AutoETS on daily totals.

    The 15-minute series must be regular: a missing interval takes the value of the same slot
    a week before (0 when there is none), which is how one would feed an export with gaps.
    """
    from statsforecast import StatsForecast
    from statsforecast.models import MSTL, AutoETS

    weeks = 8
    grid = history_grid[-7 * weeks:].copy()
    for i in range(grid.shape[0]):
        gap = np.isnan(grid[i])
        if gap.any():
            grid[i, gap] = grid[i - 7, gap] if i >= 7 else 0.0
    grid = np.nan_to_num(grid)
    y = grid.reshape(-1)
    start = pd.Timestamp(origin - timedelta(days=grid.shape[0]))
    df = pd.DataFrame({"unique_id": "s", "ds": pd.date_range(start, periods=y.size, freq="15min"), "y": y})
    out: dict[str, np.ndarray] = {}
    sf = StatsForecast(models=[MSTL(season_length=[96, 672], trend_forecaster=AutoETS(model="ZZN"))],
                       freq="15min", n_jobs=1)
    fc = sf.forecast(df=df, h=horizon * 96)
    out["statsforecast MSTL"] = np.clip(fc["MSTL"].to_numpy(), 0, None).reshape(horizon, 96)
    daily = grid.sum(1)
    ddf = pd.DataFrame({"unique_id": "s", "ds": pd.date_range(start, periods=daily.size, freq="D"), "y": daily})
    sfd = StatsForecast(models=[AutoETS(season_length=7)], freq="D", n_jobs=1)
    dfc = np.clip(sfd.forecast(df=ddf, h=horizon)["AutoETS"].to_numpy(), 0, None)
    shares = med5 / np.maximum(med5.sum(1, keepdims=True), 1e-9)
    out["statsforecast AutoETS"] = dfc[:, None] * shares
    return out


def evaluate(series: bank_calls.BankSeries, *, with_statsforecast: bool, model_cfg: ModelConfig | None = None,
             n_origins: int = ORIGINS) -> SeriesResult:
    spec = series.spec
    tz = spec.time_zone
    zone = ZoneInfo(tz)
    last_day = spec.start + timedelta(days=7 * spec.weeks - 1)
    origins = origins_for(last_day, n_origins)
    full = _day_grid(series.frame, tz, spec.start, last_day)
    dows = weekdays(spec.start, full.shape[0])
    calendar = {d: SpecialDay(True, 0.0) for d in bank_calls.public_holidays(range(spec.start.year, last_day.year + 2))}
    result = SeriesResult(f"seed {spec.seed}, {spec.daily_calls:.0f}/day, {series.shape}", series.shape,
                          spec.daily_calls, spec.seed, origins)
    stamps = pd.DatetimeIndex(series.frame["interval_start"])
    bt = BacktestConfig()       # the window `wfm forecast` reads (pipeline.history_start)
    read_days = history_days(model_cfg or ModelConfig(), bt.weeks, bt.horizon_days, bt.step_days) + 1
    for k, origin in enumerate(origins):
        o = (origin - spec.start).days
        actual = full[o:o + HORIZON_DAYS]
        mask = ~np.isnan(actual)
        a = np.where(mask, actual, 0.0)
        as_of = pd.Timestamp(origin).tz_localize(zone)
        start = as_of - pd.Timedelta(days=read_days)
        history = series.frame[(stamps >= start) & (stamps < as_of)]
        end = (as_of + pd.DateOffset(days=HORIZON_DAYS)).to_pydatetime()
        methods: dict[str, np.ndarray] = {}
        for name, special in (("model", {}), ("model + calendar", calendar)):
            t = time.perf_counter()
            fc = forecast_series(history, tz, as_of.to_pydatetime(), end, special, model_cfg)
            result.seconds[name] = result.seconds.get(name, 0.0) + time.perf_counter() - t
            methods[name] = np.nan_to_num(_day_grid(fc.frame, tz, origin, origin + timedelta(days=HORIZON_DAYS - 1)))
        base = baselines(full, dows, o, HORIZON_DAYS)
        methods.update({"seasonal naive": base["naive"], "median of 5": base["median5"]})
        if with_statsforecast:
            t = time.perf_counter()
            methods.update(_statsforecast_methods(full[:o], spec.start, origin, HORIZON_DAYS,
                                                  methods["median of 5"]))
            result.seconds["statsforecast"] = result.seconds.get("statsforecast", 0.0) + time.perf_counter() - t
        for name, f in methods.items():
            score = result.scores.setdefault(name, MethodScore(np.zeros(len(origins)), np.zeros(len(origins))))
            f = np.where(mask, f, 0.0)
            score.abs_err[k] = np.abs(a - f).sum()
            score.actual[k] = a.sum()
            days = mask.any(1)
            score.day_abs_err += float(np.abs(a.sum(1) - f.sum(1))[days].sum())
    return result


DEFAULT_SEEDS = (1, 2, 3, 4)
DEFAULT_VOLUMES = (300.0, 3000.0)


def run(seeds: tuple[int, ...] = DEFAULT_SEEDS, volumes: tuple[float, ...] = DEFAULT_VOLUMES, *,
        with_statsforecast: bool | None = None, weeks: int = 40, model_cfg: ModelConfig | None = None,
        on_series=None) -> list[SeriesResult]:
    """Every (seed, volume) series through the protocol; statsforecast when importable."""
    use_sf = statsforecast_available() if with_statsforecast is None else with_statsforecast
    results = []
    for seed in seeds:
        for volume in volumes:
            series = bank_calls.generate(bank_calls.BankSpec(seed=seed, daily_calls=volume, weeks=weeks))
            res = evaluate(series, with_statsforecast=use_sf, model_cfg=model_cfg)
            results.append(res)
            if on_series is not None:
                on_series(res)
    return results


def pooled(results: list[SeriesResult], method: str) -> float:
    err = sum(r.scores[method].abs_err.sum() for r in results if method in r.scores)
    act = sum(r.scores[method].actual.sum() for r in results if method in r.scores)
    return float(err / act) if act else float("nan")


def summary(results: list[SeriesResult]) -> dict:
    methods = list(results[0].scores) if results else []
    table = {}
    for m in methods:
        table[m] = {
            "pooled_interval_wape": pooled(results, m),
            "per_series": {r.label: r.scores[m].wape for r in results},
            "day_wape": float(sum(r.scores[m].day_abs_err for r in results)
                              / sum(r.scores[m].actual.sum() for r in results)),
        }
    worse_than_naive = [(r.label, str(r.origins[k])) for r in results
                        for k in range(len(r.origins))
                        if r.scores["model"].origin_wape()[k] > r.scores["seasonal naive"].origin_wape()[k]]
    med = pooled(results, "median of 5")
    return {"methods": table, "model_vs_median5": 1 - pooled(results, "model") / med if med else None,
            "origins_model_worse_than_naive": worse_than_naive}


def format_report(results: list[SeriesResult]) -> str:
    """Methods × (pooled, day WAPE, pooled per volume); then one line per series; then the checks."""
    if not results:
        return "no series"
    s = summary(results)
    methods = list(s["methods"])
    volumes = sorted({r.daily_calls for r in results})
    lines = [f"forecast accuracy: {len(results)} series x {len(results[0].origins)} origins "
             f"({ORIGIN_STEP_DAYS} days apart), {HORIZON_DAYS}-day horizon; pooled interval WAPE "
             f"(sum |actual - forecast| / sum actual); missing days not scored",
             f"{'method':<24}{'pooled':>9}{'day WAPE':>10}"
             + "".join(f"{f'{v:.0f}/day':>12}" for v in volumes)]
    for m in methods:
        row = s["methods"][m]
        per_volume = [pooled([r for r in results if r.daily_calls == v], m) for v in volumes]
        lines.append(f"{m:<24}{row['pooled_interval_wape']:>9.2%}{row['day_wape']:>10.2%}"
                     + "".join(f"{w:>12.2%}" for w in per_volume))
    lines.append("")
    lines.append(f"{'series':<34}" + "".join(f"{m[:18]:>20}" for m in methods) + f"{'model vs median5':>18}")
    for r in results:
        gain = 1 - r.scores["model"].wape / r.scores["median of 5"].wape
        lines.append(f"{r.label:<34}" + "".join(f"{r.scores[m].wape:>20.2%}" for m in methods) + f"{gain:>+18.1%}")
    lines.append("")
    med = s["model_vs_median5"]
    lines.append(f"model vs median of 5, pooled: {med:+.1%} (positive = model lower)")
    for v in volumes:
        part = [r for r in results if r.daily_calls == v]
        lines.append(f"  {v:.0f}/day: {1 - pooled(part, 'model') / pooled(part, 'median of 5'):+.1%}")
    worse = s["origins_model_worse_than_naive"]
    lines.append(f"origins where the model is worse than seasonal naive: {len(worse)} of "
                 f"{sum(len(r.origins) for r in results)}"
                 + (" (" + "; ".join(f"{label} @ {o}" for label, o in worse) + ")" if worse else ""))
    return "\n".join(lines)
