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
from wfm_pipeline.forecasting.backtest import BacktestConfig, backtest

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
    as_of_day = datetime.now(timezone.utc).date()
    codes = [f"G{i:04d}" for i in range(groups)]
    with connection.connect(url) as conn:
        service_id, ids = _ensure_history(conn, service_code, codes, history_weeks, as_of_day, echo)
        timings = {"load": 0.0, "forecast": 0.0, "backtest": 0.0, "staffing": 0.0, "store": 0.0}
        as_of = pipeline.local_midnight(as_of_day, TIME_ZONE)
        model_cfg, bt_cfg = pipeline.ModelConfig(), BacktestConfig()
        targets = store.load_targets(conn, service_id)
        special = store.load_special_days(conn, service_id)
        intervals = 0
        improvements = []
        t_all = time.perf_counter()
        histories = store.load_service_histories(conn, service_id,
                                                 pipeline.history_start(as_of, model_cfg, bt_cfg), as_of)
        timings["load"] += time.perf_counter() - t_all
        for code in codes:
            key = store.SeriesKey(service_id, service_code, TIME_ZONE, ids[code], code)
            history = histories[ids[code]]
            t = time.perf_counter()
            res = pipeline.forecast_history(key, history, as_of, horizon_days, special, run_backtest=False)
            timings["forecast"] += time.perf_counter() - t
            t = time.perf_counter()
            res.backtest = backtest(history, TIME_ZONE, as_of, special, bt_cfg, model_cfg)
            improvements.append(res.backtest.get("interval_improvement"))
            timings["backtest"] += time.perf_counter() - t
            t = time.perf_counter()
            st = pipeline.staff(res.frame, targets)
            timings["staffing"] += time.perf_counter() - t
            t = time.perf_counter()
            store.save_run(conn, key, as_of=as_of, horizon_start=as_of, horizon_end=res.horizon_end,
                           model=pipeline.MODEL_NAME, parameters=res.info, backtest=res.backtest,
                           frame=res.frame, staffing=st)
            timings["store"] += time.perf_counter() - t
            intervals += len(res.frame)
        conn.commit()
        total = time.perf_counter() - t_all
    imp = [i for i in improvements if i is not None]
    echo(f"forecast + backtest + staffing + store: {groups} groups x {horizon_days} days "
         f"({intervals} intervals) in {total:.1f} s")
    echo("  " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    if imp:
        echo(f"  backtest interval-WAPE improvement over seasonal naive: median {np.median(imp):.1%}, "
             f"min {min(imp):.1%}")
