"""Model selection, closures and holidays, missing days, the accuracy benchmark (no database)."""

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from wfm_pipeline.bench import bank_calls, forecast_accuracy
from wfm_pipeline.bench import forecast_data as gen
from wfm_pipeline.forecasting.backtest import BacktestConfig, backtest, series_data_for
from wfm_pipeline.forecasting.candidates import holt_horizon
from wfm_pipeline.forecasting.holidays import DateListError, SpecialDay, parse_dates
from wfm_pipeline.forecasting.model import ModelConfig, SeriesData, forecast_series
from wfm_pipeline.forecasting.run import horizon_end, local_midnight

TZ = "Europe/Berlin"


def _bank(seed: int = 3, daily_calls: float = 3000.0, weeks: int = 30) -> bank_calls.BankSeries:
    return bank_calls.generate(bank_calls.BankSpec(seed=seed, daily_calls=daily_calls, weeks=weeks))


def _local_day(frame: pd.DataFrame) -> np.ndarray:
    return pd.DatetimeIndex(frame["interval_start"]).tz_convert(TZ).date


def test_selection_never_looks_at_the_test_window() -> None:
    series = _bank()
    frame, start = series.frame, series.spec.start
    end = start + timedelta(weeks=30)
    cfg = ModelConfig()
    data = series_data_for(frame, TZ, end, {}, BacktestConfig(), cfg)
    origin = data.index(end - timedelta(days=28))
    selection = data.engine.select(origin)
    h = cfg.selection_horizon_days
    assert len(selection.windows) == cfg.selection_origins
    assert all(o + h <= origin for o in selection.windows)          # every inner window ends before the origin
    # Absurd data from the origin on (the test window and after) changes nothing about the choice...
    absurd = frame.copy()
    later = pd.DatetimeIndex(absurd["interval_start"]) >= pd.Timestamp(local_midnight(data.day(origin), TZ))
    absurd.loc[later, "calls"] = absurd.loc[later, "calls"] * 50 + 1000
    other = series_data_for(absurd, TZ, end, {}, BacktestConfig(), cfg)
    assert other.engine.select(origin).as_dict() == selection.as_dict()
    # ... while the same change one selection window earlier does change it (the check can fail).
    earlier = pd.DatetimeIndex(frame["interval_start"]) >= pd.Timestamp(local_midnight(data.day(origin - h), TZ))
    moved = frame.copy()
    moved.loc[earlier, "calls"] = moved.loc[earlier, "calls"] * 50 + 1000
    assert series_data_for(moved, TZ, end, {}, BacktestConfig(), cfg).engine.select(origin).scores \
        != selection.scores


def test_backtest_origins_choose_from_history_before_them() -> None:
    series = _bank(seed=5)
    end = series.spec.start + timedelta(weeks=30)
    result = backtest(series.frame, TZ, local_midnight(end, TZ))
    assert result["weeks"] == 4 and result["horizon_days"] == 14
    stamps = pd.DatetimeIndex(series.frame["interval_start"])
    for origin in result["origins"]:
        day = date.fromisoformat(origin["origin"])
        cut = pd.Timestamp(local_midnight(day, TZ))
        alone = forecast_series(series.frame[stamps < cut], TZ, cut.to_pydatetime(),
                                horizon_end(cut.to_pydatetime(), TZ, 14))
        assert alone.info["selection"]["weights"] == origin["weights"], origin
    assert set(result["candidates"]) == {"holt_horizon", "dow_median5", "recent_median", "slot_median5",
                                         "seasonal_naive"}
    assert result["interval"]["model"] < result["interval"]["naive"]
    assert result["selection"]["windows"] and result["selection"]["weights"]


def test_missing_days_do_not_shift_weekday_alignment() -> None:
    start = date(2025, 3, 3)
    spec = gen.SyntheticSpec(start=start, days=7 * 16, time_zone=TZ, daily_calls=8000, day_noise=0.02, seed=8)
    hist = gen.generate(spec)
    as_of = start + timedelta(weeks=16)
    days = _local_day(hist)
    # A Monday, a Wednesday and a Friday of the last three weeks are missing from the export.
    lost = [as_of - timedelta(days=7), as_of - timedelta(days=12), as_of - timedelta(days=17)]
    holey = hist[~np.isin(days, lost)]

    def per_weekday(h: pd.DataFrame) -> pd.Series:
        fc = forecast_series(h, TZ, local_midnight(as_of, TZ), horizon_end(local_midnight(as_of, TZ), TZ, 14))
        local = pd.DatetimeIndex(fc.frame["interval_start"]).tz_convert(TZ)
        return fc.frame.groupby(local.dayofweek)["calls"].sum()

    full, partial = per_weekday(hist), per_weekday(holey)
    for dow in range(6):
        assert partial[dow] == pytest.approx(full[dow], rel=0.04), dow       # no weekday took another's volume
    assert partial[0] == partial.max() and partial.get(6, 0.0) == 0.0
    # The backtest's naive baseline takes the last same weekday *present*: the lost Monday is skipped.
    result = backtest(holey, TZ, local_midnight(as_of, TZ))
    assert result["interval"]["naive"] < 0.5


def test_closures_catch_up_days_and_learnt_holiday_effect() -> None:
    start = date(2025, 1, 6)
    holidays = gen.default_holidays(start, 7 * 30)                   # Tue/Thu holidays, +25 % the day after
    spec = gen.SyntheticSpec(start=start, days=7 * 30, time_zone=TZ, daily_calls=6000, day_noise=0.02,
                             holidays=holidays, seed=4)
    hist = gen.generate(spec)
    hist = hist[~np.isin(_local_day(hist), holidays)]                 # closed: missing from the export
    as_of = start + timedelta(weeks=30)
    cfg = ModelConfig()
    data = SeriesData.build(hist, TZ, start, as_of - timedelta(days=1), {}, cfg)
    prep = data.engine.fit(data.index(as_of)).prep
    lo = data.index(as_of) - cfg.train_days
    closed = {data.day(lo + i) for i in np.flatnonzero(prep.closed)}
    catch_up = {data.day(lo + i) for i in np.flatnonzero(prep.catch_up)}
    in_window = {d for d in holidays if data.day(lo) <= d < as_of}
    assert in_window and closed == in_window
    assert catch_up == {d + timedelta(days=1) for d in in_window}        # Wed/Fri after a Tue/Thu holiday
    assert np.isnan(prep.clean[prep.catch_up]).all()                    # not trained on
    # A future holiday entered as closed: the day after gets the effect learnt from the past ones.
    fc_args = (TZ, local_midnight(as_of, TZ), horizon_end(local_midnight(as_of, TZ), TZ, 14))
    future = as_of + timedelta(days=1)                                 # a Tuesday
    plain = forecast_series(hist, *fc_args)
    marked = forecast_series(hist, *fc_args, special_days={future: SpecialDay(True, 0.0)})
    effect = marked.info["holiday_effects"]["after"]
    assert effect["holidays"] == len(in_window) and 1.12 < effect["multiplier"] < 1.3
    day = _local_day(plain.frame)
    after = day == future + timedelta(days=1)
    ratio = marked.frame.loc[after, "calls"].sum() / plain.frame.loc[after, "calls"].sum()
    assert ratio == pytest.approx(effect["multiplier"], abs=1e-4)
    assert marked.frame.loc[day == future, "calls"].sum() == 0.0
    # The planner's own multiplier on the day after wins over the learnt one.
    own = forecast_series(hist, *fc_args, special_days={future: SpecialDay(True, 0.0),
                                                         future + timedelta(days=1): SpecialDay(True, 1.1)})
    assert own.frame.loc[after, "calls"].sum() / plain.frame.loc[after, "calls"].sum() == pytest.approx(1.1)


def test_abnormal_days_the_old_half_double_rule_missed_are_left_out() -> None:
    start = date(2025, 3, 3)
    spec = gen.SyntheticSpec(start=start, days=7 * 16, time_zone=TZ, daily_calls=8000, day_noise=0.02, seed=9)
    hist = gen.generate(spec)
    as_of = start + timedelta(weeks=16)
    busy = as_of - timedelta(days=14)                                  # a Monday with +35 % (not 2x)
    spiked = hist.astype({"calls": float})
    spiked.loc[_local_day(hist) == busy, "calls"] *= 1.35
    data = SeriesData.build(spiked, TZ, start, as_of - timedelta(days=1), {}, ModelConfig())
    prep = data.engine.fit(data.index(as_of)).prep
    lo = data.index(as_of) - ModelConfig().train_days
    assert {data.day(lo + i) for i in np.flatnonzero(prep.abnormal)} >= {busy}


def test_horizon_tuned_level_prefers_a_smooth_level_on_noisy_flat_days() -> None:
    rng = np.random.default_rng(1)
    y = 1000 * np.exp(rng.normal(0, 0.08, 112))
    _, _, choice = holt_horizon(y, (0.05, 0.1, 0.2, 0.35, 0.5), (0.0, 0.1), 0.85, 14)
    assert choice["alpha"] <= 0.1 and choice["beta"] == 0.0


def test_parse_dates_lists_ranges_and_errors() -> None:
    assert parse_dates(["2026-12-24, 2026-12-25  2026-12-31", "2026-12-26..2026-12-27 # Boxing day"]) == [
        date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26), date(2026, 12, 27), date(2026, 12, 31)]
    with pytest.raises(DateListError, match=r"entry 2: '2026-13-01'"):
        parse_dates(["2026-12-24,2026-13-01"])
    with pytest.raises(DateListError, match=r"holidays.txt, line 2: '24.12.2026'"):
        parse_dates(["2026-12-25", "24.12.2026"], source="holidays.txt")
    with pytest.raises(DateListError, match="ends before it starts"):
        parse_dates(["2026-12-27..2026-12-20"])


def test_accuracy_benchmark_protocol_on_one_series() -> None:
    series = _bank(seed=2, daily_calls=300, weeks=30)
    result = forecast_accuracy.evaluate(series, with_statsforecast=False, n_origins=3)
    assert len(result.origins) == 3 and result.origins[1] - result.origins[0] == timedelta(days=21)
    last = series.spec.start + timedelta(weeks=30)
    assert result.origins[-1] == last - timedelta(days=14)
    assert {"model", "model + calendar", "seasonal naive", "median of 5"} <= set(result.scores)
    assert result.scores["model"].wape < result.scores["median of 5"].wape < result.scores["seasonal naive"].wape
    report = forecast_accuracy.format_report([result])
    assert "median of 5" in report and "pooled" in report
