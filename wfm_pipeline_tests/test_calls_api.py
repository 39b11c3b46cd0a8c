"""The read side of call records: caller patience (maximum likelihood on a synthetic exponential
sample), api_get_agent_stats (buckets, unknown states), and averages per handled call in the
read API and the forecasts' AHT."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from wfm_pipeline.calls import patience
from wfm_pipeline.calls.loader import import_call_file
from wfm_pipeline.forecasting.model import forecast_series
from wfm_pipeline_tests.call_data import current_calls, expected_agents, expected_intervals, generate, write_csv

ZONE = "Europe/Berlin"
UTC = dt.timezone.utc
DAY = dt.date(2026, 1, 5)


@pytest.fixture
def bank(conn: psycopg.Connection) -> dict:
    sid = conn.execute("INSERT INTO wfm.services (code, name, time_zone) VALUES ('BANK', 'Bank', %s) "
                       "RETURNING service_id", (ZONE,)).fetchone()[0]
    groups = {code: conn.execute("INSERT INTO wfm.groups (service_id, code, name) VALUES (%s, %s, %s) "
                                 "RETURNING group_id", (sid, code, code)).fetchone()[0] for code in ("G1", "G2")}
    conn.commit()
    return {"service_id": sid, "groups": groups}


def test_patience_is_the_maximum_likelihood_mean_of_an_exponential_sample(conn, bank) -> None:
    rng = random.Random(7)
    true_mean, start = 90.0, dt.datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    rows, waits, abandoned = [], [], 0
    for n in range(4000):
        offered = start + dt.timedelta(seconds=7 * n)
        give_up = int(rng.expovariate(1 / true_mean))
        answer = int(rng.expovariate(1 / 60))
        row = {"service_id": bank["service_id"], "call_id": f"p{n}", "offered_at": offered.isoformat(),
               "agent": "", "customer_id": ""}
        if give_up < answer:
            row.update(outcome="abandoned", ended_at=(offered + dt.timedelta(seconds=give_up)).isoformat())
            waits.append(give_up)
            abandoned += 1
        else:
            answered = offered + dt.timedelta(seconds=answer)
            row.update(outcome="answered", answered_at=answered.isoformat(),
                       ended_at=(answered + dt.timedelta(seconds=100)).isoformat())
            waits.append(answer)
        rows.append(row)
    rows.append({"service_id": bank["service_id"], "call_id": "other", "offered_at": start.isoformat(),
                 "outcome": "other", "agent": ""})   # not an offer: no wait counted
    conn.execute("SELECT wfm.ensure_monthly_partitions(t, '2026-01-01', '2026-01-31') FROM unnest(ARRAY["
                 "'wfm.call_records', 'wfm.contact_statistics', 'wfm.contact_statistics_history', "
                 "'wfm.agent_activity']::regclass[]) t")
    out = conn.execute("SELECT status FROM wfm.api_batch_insert_call_records(%s)", (Jsonb(rows),)).fetchone()
    conn.commit()
    assert out == ("completed",)
    found = patience.estimate(conn, "BANK", dt.date(2026, 1, 1), dt.date(2026, 2, 1))
    assert (found.abandoned_calls, found.offered_calls) == (abandoned, 4000)
    assert found.mean_patience_seconds == round(Decimal(sum(waits)) / abandoned, 2)
    assert abs(float(found.mean_patience_seconds) - true_mean) < 0.1 * true_mean
    # a period with no call: nothing to estimate
    empty = patience.estimate(conn, "BANK", dt.date(2025, 1, 1), dt.date(2025, 2, 1))
    assert empty.mean_patience_seconds is None and empty.offered_calls == 0
    with pytest.raises(patience.NoAbandonmentsError):
        patience.estimate_and_store(conn, "BANK", dt.date(2025, 1, 1), dt.date(2025, 2, 1))
    stored = patience.estimate_and_store(conn, "BANK", dt.date(2026, 1, 1), dt.date(2026, 2, 1))
    conn.commit()
    assert conn.execute("SELECT patience_seconds FROM wfm.services WHERE code = 'BANK'").fetchone()[0] == \
        round(stored.mean_patience_seconds, 1)


@pytest.mark.parametrize("args, sqlstate", [((None, "2026-01-01", "2026-02-01"), "22004"),
                                            ((1, "2026-02-01", "2026-01-01"), "22023"),
                                            ((1, "2024-01-01", "2026-01-01"), "22023"),
                                            ((987654, "2026-01-01", "2026-02-01"), "P0002")])
def test_estimate_patience_rejects_bad_arguments(conn, bank, args, sqlstate) -> None:
    with pytest.raises(psycopg.Error) as info:
        conn.execute("SELECT * FROM wfm.estimate_patience(%s::int, %s::timestamptz, %s::timestamptz)", args)
    assert info.value.sqlstate == sqlstate


def _agent_stats(conn, *args) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute("SELECT * FROM wfm.api_get_agent_stats(%s, %s, %s, %s, %s)", args).fetchall()


def test_agent_stats_buckets_match_the_independent_agent_figures(conn, bank, tmp_path: Path) -> None:
    rows = generate(5, ZONE, [DAY], 500)
    assert import_call_file(conn, write_csv(tmp_path / "d.csv", rows), "BANK").status == "completed"
    agents = expected_agents(current_calls([rows], ZONE))
    start = dt.datetime(2026, 1, 4, 23, tzinfo=UTC)   # local midnight
    end = start + dt.timedelta(days=1, hours=4)        # the calls' talk runs past midnight
    hourly = _agent_stats(conn, start, end, 60, None, None)
    want: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (agent, iv), figures in agents.items():
        if start <= iv < end:
            key = (agent, iv.replace(minute=0))
            want[key] = [a + b for a, b in zip(want[key], figures)]
    got = {(r["agent_code"], r["interval_start"]): [r["talk_seconds"], r["post_processing_seconds"], r["calls_handled"]]
           for r in hourly}
    assert got == dict(want)
    r = hourly[0]
    assert r["interval_end"] - r["interval_start"] == dt.timedelta(hours=1)
    assert r["local_start"] == r["interval_start"].astimezone(ZoneInfo(ZONE)).replace(tzinfo=None)
    assert (r["logged_in_seconds"], r["ready_seconds"], r["not_ready_seconds"], r["occupancy"], r["utilization"]) == \
        (None, None, None, None, None)
    busy = [x for x in hourly if x["calls_handled"]]
    assert all(x["aht"] == round(Decimal(x["talk_seconds"] + x["post_processing_seconds"]) / x["calls_handled"], 2)
               for x in busy)
    # the local day (1440) of one agent; an agent filter; unknown agents have no rows
    daily = _agent_stats(conn, start, start + dt.timedelta(days=1), 1440, [bank["service_id"]], ["A01"])
    assert [d["agent_code"] for d in daily] == ["A01"]
    assert daily[0]["local_start"] == dt.datetime(2026, 1, 5) and daily[0]["interval_start"] == start
    assert daily[0]["calls_handled"] == sum(v[2] for (a, iv), v in agents.items()
                                            if a == "A01" and start <= iv < start + dt.timedelta(days=1))
    assert _agent_stats(conn, start, end, 60, None, ["nobody"]) == []


def test_agent_stats_ratios_once_states_are_known(conn, bank) -> None:
    agent = conn.execute("INSERT INTO wfm.agents (code) VALUES ('A1') RETURNING agent_id").fetchone()[0]
    conn.execute("SELECT wfm.ensure_monthly_partitions('wfm.agent_activity', '2026-01-01', '2026-01-01')")
    for minute, states in ((0, (900, 300, 400, 50, 100)), (15, (900, 500, 200, 100, 50))):
        conn.execute("""INSERT INTO wfm.agent_activity (interval_start_time, agent_id, service_id, logged_in_seconds,
                            ready_seconds, talk_seconds, post_processing_seconds, not_ready_seconds, calls_handled,
                            import_batch_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 2, gen_random_uuid())""",
                     (dt.datetime(2026, 1, 5, 9, minute, tzinfo=UTC), agent, bank["service_id"], *states))
    (r,) = _agent_stats(conn, dt.datetime(2026, 1, 5, 9, tzinfo=UTC), dt.datetime(2026, 1, 5, 10, tzinfo=UTC),
                        60, None, None)
    assert (r["logged_in_seconds"], r["ready_seconds"], r["not_ready_seconds"], r["calls_handled"]) == (1800, 800, 150, 4)
    assert r["occupancy"] == round(Decimal(750) / 1550, 4) and r["utilization"] == round(Decimal(750) / 1800, 4)
    assert r["aht"] == Decimal("187.50")


@pytest.mark.parametrize("args, sqlstate", [((None, "2026-01-02", 60), "22004"), (("2026-01-02", "2026-01-01", 60), "22023"),
                                            (("2026-01-01", "2026-01-02", 7), "22023")])
def test_agent_stats_rejects_bad_arguments(conn, args, sqlstate) -> None:
    with pytest.raises(psycopg.Error) as info:
        conn.execute("SELECT * FROM wfm.api_get_agent_stats(%s::timestamptz, %s::timestamptz, %s::int)", args)
    assert info.value.sqlstate == sqlstate


def test_new_api_functions_are_definers_with_pinned_path_for_the_api_role(conn) -> None:
    for name in ("api_batch_insert_call_records", "api_get_agent_stats", "estimate_patience"):
        definer, config, api = conn.execute(
            """SELECT p.prosecdef, p.proconfig, has_function_privilege('wfm_api', p.oid, 'EXECUTE')
               FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
               WHERE n.nspname = 'wfm' AND p.proname = %s""", (name,)).fetchone()
        assert definer and api and "search_path=wfm, pg_catalog, pg_temp" in config
        public = conn.execute("SELECT has_function_privilege('public', p.oid, 'EXECUTE') FROM pg_proc p "
                              "WHERE p.proname = %s", (name,)).fetchone()[0]
        assert not public


def test_read_api_averages_are_per_answered_call(conn, bank, tmp_path: Path) -> None:
    rows = generate(9, ZONE, [DAY], 400)
    assert import_call_file(conn, write_csv(tmp_path / "d.csv", rows), "BANK").status == "completed"
    want = {iv: f for (g, iv), f in expected_intervals(current_calls([rows], ZONE), bank["groups"]).items() if g is None}
    start = dt.datetime(2026, 1, 4, 23, tzinfo=UTC)
    with conn.cursor(row_factory=dict_row) as cur:
        (day,) = cur.execute("SELECT * FROM wfm.api_get_calls_by_interval(%s, %s, 1440, %s)",
                             (start, start + dt.timedelta(days=1), [bank["service_id"]])).fetchall()
    day_want = [f for iv, f in want.items() if start <= iv < start + dt.timedelta(days=1)]
    answered = sum(f[4] for f in day_want)
    talk = sum(f[2] * f[4] for f in day_want)
    pp = sum(f[3] * f[4] for f in day_want)
    offered = sum(f[1] for f in day_want)
    assert day["non_unique_incoming"] == offered and day["answered_calls"] == answered
    assert day["avg_talk_time"] == round(Decimal(talk) / answered, 2)
    assert day["aht"] == round(Decimal(talk + pp) / answered, 2)
    assert day["service_level_pct"] == round(Decimal(100 * sum(f[5] for f in day_want)) / offered, 2)
    assert day["abandonment_rate_pct"] == round(Decimal(100 * sum(f[6] for f in day_want)) / offered, 2)
    # the daily view agrees with the raw path
    conn.execute("SELECT * FROM wfm.api_refresh_all_views()")
    conn.commit()
    with conn.cursor(row_factory=dict_row) as cur:
        summary = cur.execute("SELECT * FROM wfm.api_get_service_summary(%s, %s)", (bank["service_id"], DAY)).fetchall()
    assert summary[0]["aht"] == day["aht"] and summary[0]["avg_talk_time"] == day["avg_talk_time"]
    # forecasts read the handled calls with the history
    from wfm_pipeline.forecasting import store
    history = store.load_service_histories(conn, bank["service_id"], start, start + dt.timedelta(days=2))[None]
    assert history["handled_calls"].sum() == answered and history["calls"].sum() == offered
    assert Fraction(int(history["handle_seconds"].sum()), answered) == Fraction(talk + pp, answered)


def test_forecast_aht_is_per_handled_call() -> None:
    """Four weeks with 10 calls per interval of which 5 were handled, 1000 handle seconds: the
    AHT is 200 s per handled call (per offered call it would be 100)."""
    idx = pd.date_range("2026-01-05", periods=28 * 96, freq="15min", tz="UTC")
    history = pd.DataFrame({"interval_start": idx, "calls": 10.0, "unique_calls": 8.0, "handle_seconds": 1000.0,
                            "handled_calls": 5.0})
    as_of = idx[-1] + pd.Timedelta(minutes=15)
    fc = forecast_series(history, "UTC", as_of.to_pydatetime(), (as_of + pd.Timedelta(days=1)).to_pydatetime())
    assert np.allclose(fc.frame["aht"], 200.0)
    fc_old = forecast_series(history.drop(columns="handled_calls"), "UTC", as_of.to_pydatetime(),
                             (as_of + pd.Timedelta(days=1)).to_pydatetime())
    assert np.allclose(fc_old.frame["aht"], 100.0)
