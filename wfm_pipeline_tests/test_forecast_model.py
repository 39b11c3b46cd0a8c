"""The forecasting core on generated data with known structure (no database)."""

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from wfm_pipeline.bench import forecast_data as gen
from wfm_pipeline.forecasting.backtest import backtest
from wfm_pipeline.forecasting.model import SpecialDay, forecast_series
from wfm_pipeline.forecasting.run import horizon_end, local_midnight

TZ = "Europe/Berlin"


def _history(start: date, weeks: int, **kw) -> tuple[gen.SyntheticSpec, pd.DataFrame]:
    spec = gen.SyntheticSpec(start=start, days=7 * weeks, time_zone=TZ, **kw)
    return spec, gen.generate(spec)


def _forecast(history, as_of_day: date, days: int = 14, special=None, tz: str = TZ):
    as_of = local_midnight(as_of_day, tz)
    return forecast_series(history, tz, as_of, horizon_end(as_of, tz, days), special).frame


def _local(frame: pd.DataFrame) -> pd.DataFrame:
    local = pd.DatetimeIndex(frame["interval_start"]).tz_convert(TZ)
    return frame.assign(day=local.date, dow=local.dayofweek, slot=local.hour * 4 + local.minute // 15)


def test_recovers_weekday_and_intraday_seasonality() -> None:
    start = date(2025, 5, 5)
    spec, hist = _history(start, 16, daily_calls=20000, trend_per_day=0.0, day_noise=0.01, seed=11)
    fc = _local(_forecast(hist, start + timedelta(weeks=16)))
    daily = fc.groupby("dow")["calls"].sum() / 2            # two weeks of each weekday
    truth = gen.WEEKDAY_FACTORS * 20000
    assert daily.get(6, 0.0) == 0.0                          # Sunday: closed in all history
    for dow in range(6):
        assert daily[dow] == pytest.approx(truth[dow], rel=0.04), dow
    for dow in (0, 2, 4, 5):                                 # weekday-specific intraday shapes
        day = fc[fc["dow"] == dow].groupby("slot")["calls"].sum()
        share = (day / day.sum()).reindex(range(96), fill_value=0).to_numpy()
        assert np.abs(share - gen.intraday_shape(dow)).sum() < 0.06, dow
        closed = gen.intraday_shape(dow) == 0
        assert share[closed].sum() == 0.0                    # closed hours forecast exactly zero


def test_trend_and_level_track_the_expected_volume() -> None:
    start = date(2025, 1, 6)
    spec = gen.SyntheticSpec(start=start, days=7 * 18, time_zone=TZ, daily_calls=5000, trend_per_day=0.002,
                             day_noise=0.02, seed=5)
    hist = gen.generate(spec)
    cut = start + timedelta(weeks=16)
    days, expected = gen.expected_day_totals(spec)
    fc = _local(_forecast(hist[hist["interval_start"] < pd.Timestamp(local_midnight(cut, TZ))], cut))
    future = sum(e for d, e in zip(days, expected) if d >= cut)
    assert fc["calls"].sum() == pytest.approx(future, rel=0.05)


def test_daylight_saving_change_keeps_local_opening_hours() -> None:
    # History and horizon cross the end of March 2025 change (02:00 → 03:00 on Sunday 30 March).
    start = date(2025, 1, 6)
    _, hist = _history(start, 10, daily_calls=4000, seed=2)
    fc = _local(_forecast(hist, date(2025, 3, 17), days=21))
    open_slots = fc[(fc["calls"] > 0) & (fc["dow"] < 4)].groupby("day")["slot"].agg(["min", "max"])
    assert set(open_slots["min"]) == {7 * 4} and set(open_slots["max"]) == {21 * 4 - 1}
    utc_open = fc[(fc["calls"] > 0) & (fc["dow"] == 0)].groupby("day")["interval_start"].min()
    assert {t.hour for t in utc_open} == {5, 6}          # 07:00 local is 06:00 UTC in winter, 05:00 in summer


def test_missing_intervals_are_unknown_not_zero() -> None:
    start = date(2025, 5, 5)
    _, hist = _history(start, 12, daily_calls=6000, seed=3)
    rng = np.random.default_rng(0)
    holey = hist[rng.random(len(hist)) > 0.15]                # 15% of intervals lost
    as_of = start + timedelta(weeks=12)
    full, partial = _forecast(hist, as_of), _forecast(holey, as_of)
    assert partial["calls"].sum() == pytest.approx(full["calls"].sum(), rel=0.03)
    # A whole afternoon missing on the last day does not pull the level down.
    last_day = pd.Timestamp(local_midnight(as_of - timedelta(days=1), TZ))
    no_afternoon = hist[~((hist["interval_start"] >= last_day + pd.Timedelta(hours=11)))]
    assert _forecast(no_afternoon, as_of)["calls"].sum() == pytest.approx(full["calls"].sum(), rel=0.02)


def test_special_days_excluded_from_training_and_multiplied_ahead() -> None:
    start = date(2025, 5, 5)
    _, hist = _history(start, 12, daily_calls=5000, seed=4)
    as_of = start + timedelta(weeks=12)
    campaign = as_of - timedelta(days=3)                      # a Friday with 5x calls
    local_day = pd.DatetimeIndex(hist["interval_start"]).tz_convert(TZ).date
    spiked = hist.copy()
    spiked.loc[local_day == campaign, "calls"] *= 5
    spiked.loc[local_day == campaign, "handle_seconds"] *= 5
    excluded = _forecast(spiked, as_of, special={campaign: SpecialDay(True, None)})
    dropped = _forecast(hist[local_day != campaign], as_of)
    pd.testing.assert_frame_equal(excluded, dropped)
    future = as_of + timedelta(days=2)                        # Wednesday: closed holiday, Thursday busy
    special = {future: SpecialDay(True, 0.0), future + timedelta(days=1): SpecialDay(True, 1.5)}
    base = _local(_forecast(hist, as_of))
    marked = _local(_forecast(hist, as_of, special=special))
    assert marked.loc[marked["day"] == future, "calls"].sum() == 0.0
    thursday = marked["day"] == future + timedelta(days=1)
    assert marked.loc[thursday, "calls"].sum() == pytest.approx(1.5 * base.loc[thursday, "calls"].sum())
    other = ~marked["day"].isin(list(special))
    assert np.allclose(marked.loc[other, "calls"], base.loc[other, "calls"])


def test_as_of_never_sees_later_data() -> None:
    start = date(2025, 5, 5)
    _, hist = _history(start, 12, daily_calls=3000, seed=6)
    as_of_day = start + timedelta(weeks=10)
    cut = pd.Timestamp(local_midnight(as_of_day, TZ))
    absurd = hist.copy()
    later = absurd["interval_start"] >= cut
    absurd.loc[later, "calls"] = 10_000_000
    absurd.loc[later, "unique_calls"] = 1
    absurd.loc[later, "handle_seconds"] = 1e12
    pd.testing.assert_frame_equal(_forecast(absurd, as_of_day), _forecast(hist[~later], as_of_day))


def test_no_history_gives_a_zero_forecast() -> None:
    empty = pd.DataFrame({"interval_start": pd.to_datetime([], utc=True), "calls": [], "unique_calls": [],
                          "handle_seconds": []})
    fc = _forecast(empty, date(2025, 6, 2), days=2)
    assert len(fc) == 192 and fc["calls"].sum() == 0 and fc["unique_calls"].sum() == 0


@pytest.mark.parametrize("daily_calls,seed", [(3000, 1), (600, 2)])
def test_backtest_beats_seasonal_naive_by_at_least_15_percent(daily_calls, seed) -> None:
    start = date(2025, 1, 6)
    weeks = 22
    spec = gen.SyntheticSpec(start=start, days=7 * weeks, time_zone=TZ, daily_calls=daily_calls, seed=seed,
                             holidays=gen.default_holidays(start, 7 * weeks))
    hist = gen.generate(spec)
    result = backtest(hist, TZ, local_midnight(start + timedelta(weeks=weeks), TZ), gen.special_days_for(spec))
    assert result["weeks"] == 4 and result["days_scored"] >= 20
    assert result["interval"]["model"] < result["interval"]["naive"]
    assert result["interval_improvement"] >= 0.15, result
    assert result["day"]["model"] < result["day"]["naive"]
