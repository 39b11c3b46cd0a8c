"""`wfm bench forecast`: forecast + backtest + staffing + store for N groups, timed per stage."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import numpy as np

from wfm_pipeline.bench import demo
from wfm_pipeline.bench import forecast_data as generator
from wfm_pipeline.db import connection
from wfm_pipeline.forecasting import run as pipeline
from wfm_pipeline.forecasting import store

TIME_ZONE = "Europe/Berlin"


def _ensure_history(conn, service_code: str, codes: list[str], history_weeks: int, as_of_day,
                    echo: Callable[[str], None]) -> tuple[int, dict[str, int]]:
    """Create the service and its groups and load generated history for groups that lack it."""
    t0 = time.perf_counter()
    service_id, ids = demo.ensure_service(conn, service_code, TIME_ZONE, codes)
    have = {gid for (gid,) in conn.execute(
        """SELECT DISTINCT group_id FROM wfm.contact_statistics
           WHERE service_id = %s AND interval_start_time >= %s""",
        (service_id, as_of_day - timedelta(days=7 * history_weeks - 1)))}
    rng = np.random.default_rng(7)
    start = as_of_day - timedelta(days=7 * history_weeks)
    loaded = 0
    for code in codes:
        volume = float(rng.uniform(200, 4000))
        if ids[code] in have:
            continue
        spec = generator.SyntheticSpec(start=start, days=7 * history_weeks, time_zone=TIME_ZONE,
                                       daily_calls=volume,
                                       holidays=generator.default_holidays(start, 7 * history_weeks),
                                       seed=int(ids[code]))
        loaded += len(frame := generator.generate(spec))
        demo.insert_history(conn, service_id, ids[code], frame, source="bench")
    conn.commit()
    echo(f"setup: {len(codes)} groups of {service_code}, {loaded} history rows generated and loaded "
         f"in {time.perf_counter() - t0:.1f} s")
    return service_id, ids


def run(url: str, *, groups: int, horizon_days: int, history_weeks: int, service_code: str,
        echo: Callable[[str], None]) -> None:
    """Time ``forecasting.run.run_many`` (the loop production runs) over ``groups`` series of one service."""
    as_of_day = datetime.now(timezone.utc).date()
    codes = [f"G{i:04d}" for i in range(groups)]
    with connection.connect(url) as conn:
        service_id, ids = _ensure_history(conn, service_code, codes, history_weeks, as_of_day, echo)
        keys = [store.SeriesKey(service_id, service_code, TIME_ZONE, ids[code], code) for code in codes]
        times = pipeline.StageTimes()
        started = time.perf_counter()
        results = pipeline.run_many(conn, keys, as_of=pipeline.local_midnight(as_of_day, TIME_ZONE),
                                    horizon_days=horizon_days, commit_each=False, times=times)
        conn.commit()
        total = time.perf_counter() - started
    intervals = sum(len(r.frame) for r in results)
    improvements = [i for r in results if (i := r.backtest.get("interval_improvement")) is not None]
    echo(f"forecast + backtest + staffing + store: {groups} groups x {horizon_days} days "
         f"({intervals} intervals) in {total:.1f} s")
    echo("  " + ", ".join(f"{k} {v:.1f} s" for k, v in times.seconds.items()))
    if improvements:
        echo(f"  backtest interval-WAPE improvement over seasonal naive: median {np.median(improvements):.1%}, "
             f"min {min(improvements):.1%}")
