"""``agent_times.parse_times`` is ``calls.validate._parse_time``, field for field: on the usual
``YYYY-MM-DDTHH:MM:SS`` column (its own shorter way), on columns with daylight-saving gaps and
repeated hours, and on every column the shorter way must leave to the general parser."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pandas as pd
import pytest

from wfm_pipeline.calls import agent_times
from wfm_pipeline.calls.agent_times import parse_times
from wfm_pipeline.calls.validate import _parse_time


def _same(column: pd.Series, zone: str) -> None:
    want = _parse_time(column, zone)
    got = parse_times(column, zone)
    np.testing.assert_array_equal(got.blank, want.blank)
    assert got.code.tolist() == want.code.tolist()
    np.testing.assert_array_equal(got.ok(), want.ok())
    for name in ("early", "late"):
        pd.testing.assert_series_equal(getattr(got, name), getattr(want, name))
    for name in ("invalid", "gap"):
        mine, theirs = getattr(got, name), getattr(want, name)
        np.testing.assert_array_equal(np.asarray(mine, dtype=bool), np.asarray(theirs, dtype=bool))


def _iso(rng: random.Random, start: dt.datetime, span_days: int) -> str:
    return (start + dt.timedelta(seconds=rng.randrange(span_days * 86400))).strftime("%Y-%m-%dT%H:%M:%S")


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC"])
def test_usual_columns_take_the_short_way_and_agree(zone: str) -> None:
    rng = random.Random(zone)
    # a spring and an autumn change inside: gaps (INVALID_LOCAL_TIME) and repeated hours
    cells = [_iso(rng, dt.datetime(2026, 3, 1), 300) for _ in range(3000)]
    cells += ["2026-03-29T02:30:00", "2026-10-25T02:30:00", "2026-03-08T02:15:00", "2026-11-01T01:30:00",
              "2028-02-29T23:59:59", "1678-01-01T00:00:00", "2261-12-31T23:59:59"]
    column = pd.Series(cells, dtype=object, index=pd.RangeIndex(5, 5 + len(cells)))
    assert agent_times._plain_iso(column) is not None
    _same(column, zone)


@pytest.mark.parametrize("cell", [
    None, "", "2026-02-30T08:00:00", "2026-04-31T08:00:00", "2027-02-29T08:00:00", "2026-13-01T08:00:00",
    "2026-00-10T08:00:00", "2026-11-00T08:00:00", "2026-11-01T24:00:00", "2026-11-01T23:60:00",
    "2026-11-01T23:59:60", "1677-12-31T23:59:59", "2262-01-01T00:00:00", "0000-01-01T00:00:00",
    "2026-11-01 08:00:00", "2026-11-01T08:00:00Z", "2026-11-01T08:00:00+01:00", "01.11.2026 08:00:00",
    "2026-11-01T08:00", "2026-11-01T08:00:00.5", "２026-11-01T08:00:00", "2026-11-01t08:00:00", 5,
    dt.datetime(2026, 11, 1, 8), pd.Timestamp("2026-11-01 08:00"),
])
def test_any_other_cell_goes_the_general_way_and_agrees(cell: object) -> None:
    column = pd.Series(["2026-11-01T07:00:00", cell, "2026-11-01T09:00:00"], dtype=object)
    assert agent_times._plain_iso(column) is None
    _same(column, "Europe/Berlin")


def test_an_empty_column_agrees() -> None:
    column = pd.Series([], dtype=object)
    assert agent_times._plain_iso(column) is None
    _same(column, "Europe/Berlin")


def test_the_months_a_file_writes() -> None:
    """``agent_loader._month_range``: every UTC month from the first to the last event, as a
    pandas period range gives them (over a year's end; a local time of January that is still
    December in UTC)."""
    from wfm_pipeline.calls.agent_loader import _month_range

    def by_periods(first: pd.Timestamp, last: pd.Timestamp) -> list[dt.date]:
        start, end = first.tz_convert("UTC").tz_localize(None), last.tz_convert("UTC").tz_localize(None)
        return [p.start_time.date() for p in pd.period_range(start.to_period("M"), end.to_period("M"), freq="M")]

    rng = random.Random(3)
    cases = [(pd.Timestamp("2026-01-01 00:30", tz="Europe/Berlin"), pd.Timestamp("2026-01-01 00:40", tz="Europe/Berlin")),
             (pd.Timestamp("2025-12-31 23:59:59", tz="UTC"), pd.Timestamp("2026-01-01 00:00", tz="UTC"))]
    for _ in range(2000):
        first = pd.Timestamp("2024-01-01", tz="Europe/Berlin") + pd.Timedelta(seconds=rng.randrange(3 * 365 * 86400))
        cases.append((first, first + pd.Timedelta(seconds=rng.randrange(500 * 86400) if rng.random() < 0.5 else 0)))
    for first, last in cases:
        assert _month_range(first, last) == by_periods(first, last), (first, last)
    assert _month_range(*cases[0]) == [dt.date(2025, 12, 1)]   # 23:30-23:40 UTC on 31 December
    assert _month_range(*cases[1]) == [dt.date(2025, 12, 1), dt.date(2026, 1, 1)]
