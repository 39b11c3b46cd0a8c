"""Forecasting through the database: CLI, stored runs, api_get_forecast, Dagster assets."""

import json
from datetime import date, datetime, timedelta, timezone

import dagster as dg
import pandas as pd
import psycopg
import pytest
from click.testing import CliRunner

from wfm_pipeline.cli.main import cli
from wfm_pipeline.defs.resources import WfmDatabase
from wfm_pipeline.bench import demo
from wfm_pipeline.bench import forecast_data as generator
from wfm_pipeline.forecasting.run import local_midnight

TZ = "Europe/Berlin"
START = date(2025, 3, 3)
WEEKS = 8
AS_OF = START + timedelta(weeks=7)          # one week of history after as-of (for the leak test)


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _load(conn: psycopg.Connection, service: dict, group: bool = False, daily_calls: float = 2000.0, seed: int = 1):
    spec = generator.SyntheticSpec(start=START, days=7 * WEEKS, time_zone=TZ, daily_calls=daily_calls, seed=seed)
    frame = generator.generate(spec)
    demo.insert_history(conn, service["service_id"], service["group_id"] if group else None, frame)
    conn.commit()
    return frame


def _png_width(markdown: str) -> int:
    """Width in pixels of the first base64 PNG of a Markdown image (its IHDR chunk)."""
    import base64
    import struct

    data = base64.b64decode(markdown.split("base64,", 1)[1].split(")", 1)[0])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">I", data[16:20])[0]


def _json_lines(output: str) -> list[dict]:
    rows = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert rows, output
    return rows


def test_cli_forecast_stores_a_staffed_run(wfm_env, conn, service) -> None:
    _load(conn, service)
    result = run("forecast", "--service", "S1", "--as-of", str(AS_OF), "--horizon-days", "2", "--json")
    assert result.exit_code == 0, result.output
    rows = _json_lines(result.output)
    assert len(rows) == 192
    assert set(rows[0]) >= {"interval_start", "calls", "unique_calls", "aht", "required_agents",
                            "scheduled_agents", "service_level"}
    assert rows[0]["interval_start"] == pd.Timestamp(local_midnight(AS_OF, TZ)).tz_convert("UTC").isoformat()
    busy = [r for r in rows if r["calls"] > 5]
    assert busy and all(r["required_agents"] > 0 and r["service_level"] >= 0.8 for r in busy)
    assert all(r["scheduled_agents"] >= r["required_agents"] for r in rows)
    closed = [r for r in rows if r["calls"] == 0]
    assert closed and all(r["required_agents"] == 0 and r["scheduled_agents"] == 0 for r in closed)
    run_row = conn.execute("SELECT forecast_run_id, as_of, model, staffing_model, backtest FROM forecast_runs").fetchone()
    assert run_row[1] == local_midnight(AS_OF, TZ) and run_row[3] == "erlang_c"
    assert run_row[4]["interval"]["model"] < run_row[4]["interval"]["naive"]
    stored = conn.execute("SELECT count(*), sum(calls), count(required_agents) FROM forecasts WHERE forecast_run_id = %s",
                          (run_row[0],)).fetchone()
    assert stored[0] == 192 and stored[2] == 192
    assert float(stored[1]) == pytest.approx(sum(r["calls"] for r in rows), abs=0.5)
    text = run("forecast", "--service", "S1", "--as-of", str(AS_OF), "--horizon-days", "1")
    assert text.exit_code == 0 and "WAPE" in text.output and "req" in text.output


def test_as_of_ignores_absurd_data_after_it(wfm_env, conn, service) -> None:
    _load(conn, service)
    before = _json_lines(run("forecast", "--service", "S1", "--as-of", str(AS_OF), "--horizon-days", "3",
                             "--json").output)
    cut = local_midnight(AS_OF, TZ)
    conn.execute("""UPDATE contact_statistics SET non_unique_incoming = 50000, unique_incoming = 1,
                    avg_talk_time = 86000, avg_post_processing_time = 86000
                    WHERE service_id = %s AND interval_start_time >= %s""", (service["service_id"], cut))
    conn.commit()
    assert conn.execute("SELECT max(non_unique_incoming) FROM contact_statistics").fetchone()[0] == 50000
    after = _json_lines(run("forecast", "--service", "S1", "--as-of", str(AS_OF), "--horizon-days", "3",
                            "--json").output)
    assert after == before
    # Without --as-of the absurd week is history and does change the forecast.
    later = run("forecast", "--service", "S1", "--as-of", str(AS_OF + timedelta(weeks=1)), "--horizon-days", "1",
                "--json")
    assert max(r["calls"] for r in _json_lines(later.output)) > 1000


def test_group_forecast_and_service_level_sum_of_groups(wfm_env, conn, service) -> None:
    _load(conn, service, group=True, daily_calls=800)
    group = _json_lines(run("forecast", "--service", "S1", "--group", "G1", "--as-of", str(AS_OF),
                            "--horizon-days", "1", "--json").output)
    # No service-level rows: the service forecast uses the sum of its groups (one group here).
    svc = _json_lines(run("forecast", "--service", "S1", "--as-of", str(AS_OF), "--horizon-days", "1",
                          "--json").output)
    assert sum(r["calls"] for r in group) > 0, group[:3]
    assert sum(r["calls"] for r in svc) == pytest.approx(sum(r["calls"] for r in group), rel=1e-6)
    runs = conn.execute("SELECT group_id FROM forecast_runs ORDER BY forecast_run_id").fetchall()
    assert runs == [(service["group_id"],), (None,)]
    start = local_midnight(AS_OF, TZ)
    api = conn.execute("SELECT group_id, calls FROM api_get_forecast(%s, %s, %s, %s)",
                       (service["service_id"], start, start + timedelta(days=1), service["group_id"])).fetchall()
    assert len(api) == 96 and {g for g, _ in api} == {service["group_id"]}
    assert float(sum(c for _, c in api)) == pytest.approx(sum(r["calls"] for r in group), abs=0.1)


def test_unknown_service_or_group_exits_2(wfm_env, service) -> None:
    result = run("forecast", "--service", "NOPE")
    assert result.exit_code == 2 and "unknown service 'NOPE'" in result.output
    result = run("forecast", "--service", "S1", "--group", "NOPE")
    assert result.exit_code == 2 and "unknown group 'NOPE'" in result.output
    assert run("forecast", "backtest", "--service", "NOPE").exit_code == 2
    assert run("forecast").exit_code == 2


def test_backtest_command_prints_the_wape_table(wfm_env, conn, service) -> None:
    _load(conn, service)
    end = START + timedelta(weeks=WEEKS)
    result = run("forecast", "backtest", "--service", "S1", "--as-of", str(end))
    assert result.exit_code == 0, result.output
    assert "model WAPE" in result.output and "naive WAPE" in result.output and "interval" in result.output
    data = json.loads(run("forecast", "backtest", "--service", "S1", "--as-of", str(end), "--json").output)
    assert data["weeks"] == 4 and data["interval"]["model"] < data["interval"]["naive"]


def test_service_targets_drive_staffing_erlang_a_with_patience(wfm_env, conn, service) -> None:
    _load(conn, service)
    args = ("forecast", "--service", "S1", "--as-of", str(AS_OF), "--horizon-days", "1", "--json")
    base = _json_lines(run(*args).output)
    conn.execute("UPDATE services SET service_level_target = 0.95, shrinkage = 0.5 WHERE code = 'S1'")
    conn.commit()
    strict = _json_lines(run(*args).output)
    assert sum(r["required_agents"] for r in strict) > sum(r["required_agents"] for r in base)
    assert all(r["scheduled_agents"] >= 2 * r["required_agents"] for r in strict)
    conn.execute("UPDATE services SET patience_seconds = 60 WHERE code = 'S1'")
    conn.commit()
    assert run(*args).exit_code == 0
    assert conn.execute("SELECT staffing_model FROM forecast_runs ORDER BY forecast_run_id DESC LIMIT 1"
                        ).fetchone()[0] == "erlang_a"
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("UPDATE services SET shrinkage = 1.0 WHERE code = 'S1'")
    conn.rollback()


def test_api_get_forecast_returns_the_latest_run(wfm_env, conn, service) -> None:
    _load(conn, service)
    assert run("forecast", "--service", "S1", "--as-of", str(AS_OF), "--horizon-days", "2").exit_code == 0
    assert run("forecast", "--service", "S1", "--as-of", str(AS_OF), "--horizon-days", "1").exit_code == 0
    latest = conn.execute("SELECT max(forecast_run_id) FROM forecast_runs").fetchone()[0]
    start = local_midnight(AS_OF, TZ)
    conn.execute("SET ROLE wfm_api")
    rows = conn.execute("SELECT * FROM api_get_forecast(%s, %s, %s)",
                        (service["service_id"], start, start + timedelta(days=2))).fetchall()
    cols = [c.name for c in conn.execute("SELECT * FROM api_get_forecast(%s, %s, %s)",
                                         (service["service_id"], start, start + timedelta(hours=1))).description]
    assert len(rows) == 96                               # the latest run covers only the first day
    rec = dict(zip(cols, rows[40]))
    assert rec["forecast_run_id"] == latest and rec["staffing_model"] == "erlang_c"
    assert {"calls", "aht", "required_agents", "scheduled_agents", "service_level", "asa", "occupancy"} <= set(rec)
    # Group without runs: empty, not an error. Bad arguments: clear errors.
    assert conn.execute("SELECT count(*) FROM api_get_forecast(%s, %s, %s, %s)",
                        (service["service_id"], start, start + timedelta(days=1), service["group_id"])).fetchone()[0] == 0
    for args, message in [((999, start, start + timedelta(days=1), None), "unknown service_id 999"),
                          ((service["service_id"], start, start, None), "must be after"),
                          ((service["service_id"], start, start + timedelta(days=1), 999), "does not belong"),
                          ((None, start, start + timedelta(days=1), None), "are required")]:
        with pytest.raises(psycopg.Error, match=message):
            conn.execute("SELECT * FROM api_get_forecast(%s, %s, %s, %s)", args)
        conn.rollback()
        conn.execute("SET ROLE wfm_api")
    conn.execute("RESET ROLE")
    # wfm_api has no table rights: only the function is its way in.
    conn.execute("SET ROLE wfm_api")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT * FROM forecasts")
    conn.rollback()


def test_one_pass_forecasts_staffs_and_stores_each_run_once(db_url, conn, service) -> None:
    from wfm_pipeline.defs.forecasting import forecasts

    # Recent history so the assets (which forecast from today) find an active series.
    today = datetime.now().date()
    spec = generator.SyntheticSpec(start=today - timedelta(weeks=6), days=7 * 6, time_zone=TZ, daily_calls=1500)
    demo.insert_history(conn, service["service_id"], None, generator.generate(spec))
    conn.commit()
    result = dg.materialize([forecasts], resources={"wfm_db": WfmDatabase(url=db_url)})
    assert result.success
    runs = result.output_for_node("forecasts", "call_forecasts")
    assert list(runs) == ["S1"]
    by_key = {m.asset_key.to_user_string(): m.metadata for m in result.asset_materializations_for_node("forecasts")}
    assert set(by_key) == {"call_forecasts", "staffing_requirements"}
    meta = by_key["call_forecasts"]
    assert meta["backtest_wape_model_pct"].value < meta["backtest_wape_naive_pct"].value
    # WAPE in percent everywhere: the plotted number, the per-series table and the text agree.
    wape = runs["S1"]["wape_model"]
    assert meta["backtest_wape_model_pct"].value == round(wape * 100, 2)
    (row,) = meta["forecasts"].value.records
    assert row.data["series"] == "S1" and row.data["run_id"] == runs["S1"]["run_id"]
    assert row.data["wape_model_pct"] == round(wape * 100, 2) and row.data["beats_naive"] is True
    assert f"model {wape * 100:.1f} %" in meta["backtest_wape"].value
    assert "| S1 | " in meta["model_selection"].value and f"{wape * 100:.1f} %" in meta["model_selection"].value
    # The plot first (one click on the entry shows it), 1200 px wide; every series stacked too.
    assert meta["plot"].value.startswith("![S1 forecast](data:image/png;base64,")
    assert meta["plot_per_series"].value.startswith("![forecast per series](data:image/png;base64,")
    assert _png_width(meta["plot"].value) >= 1000   # was 680 px
    assert meta["old_runs_pruned"].value == 0
    assert meta["dagster/row_count"].value == 14 * 96 and meta["dagster/table_name"].value == "wfm.forecasts"
    selection = meta["model_selection"].value
    assert "| S1 |" in selection and "holt_horizon" in selection and "median of 5" in selection
    checks = result.get_asset_check_evaluations()
    assert [(c.check_name, c.passed) for c in checks] == [("backtest_beats_seasonal_naive", True)]
    staffed = result.output_for_node("forecasts", "staffing_requirements")["S1"]
    assert staffed["intervals"] == 14 * 96 and staffed["peak_required"] > 0
    counts = conn.execute("SELECT count(*), count(required_agents), max(required_agents) FROM forecasts").fetchone()
    assert counts[0] == counts[1] == 14 * 96 and counts[2] == staffed["peak_required"]
    # Staffed before the one write: the run row carries its staffing model, and there is one run.
    assert conn.execute("SELECT count(*), min(staffing_model) FROM forecast_runs").fetchone() == (1, staffed["model"])
    assert by_key["staffing_requirements"]["intervals_staffed"].value == 14 * 96


def test_definitions_reference_contact_statistics_without_defining_it() -> None:
    from wfm_pipeline.definitions import defs

    repo = defs.get_repository_def()
    assert repo.has_job("forecasting_job")
    assert repo.get_schedule_def("forecasting_weekly").cron_schedule == "0 5 * * 1"
    # New data is followed by declarative automation (test_automation), not an hourly asset sensor.
    assert repo.asset_graph.get(dg.AssetKey("call_forecasts")).automation_condition is not None
    graph = repo.asset_graph
    assert dg.AssetKey("contact_statistics") in graph.get(dg.AssetKey("call_forecasts")).parent_keys
    assert graph.get(dg.AssetKey("staffing_requirements")).group_name == "forecasting"


def test_history_service_level_rows_win_else_groups_are_summed(conn, service) -> None:
    from wfm_pipeline.forecasting import store

    sid, g1 = service["service_id"], service["group_id"]
    g2 = conn.execute("INSERT INTO groups (service_id, code, name) VALUES (%s, 'G2', 'two') RETURNING group_id",
                      (sid,)).fetchone()[0]
    t0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
    conn.execute("SELECT wfm.ensure_monthly_partitions('wfm.contact_statistics', %s, %s)", (t0, t0))
    ins = ("INSERT INTO contact_statistics (interval_start_time, service_id, group_id, unique_incoming, "
           "non_unique_incoming, avg_talk_time, avg_post_processing_time, import_batch_id) "
           "VALUES (%s, %s, %s, %s, %s, %s, %s, gen_random_uuid())")
    conn.execute(ins, (t0, sid, g1, 2, 3, 100, 10))
    conn.execute(ins, (t0, sid, g2, 4, 5, 200, 20))
    window = (t0, t0 + timedelta(hours=1))
    service_key = store.SeriesKey(sid, "S1", TZ)
    summed = store.load_history(conn, service_key, *window)
    assert summed[["calls", "unique_calls", "handle_seconds"]].values.tolist() == [[8.0, 6.0, 3 * 110 + 5 * 220]]
    group = store.load_history(conn, store.SeriesKey(sid, "S1", TZ, g2, "G2"), *window)
    assert group[["calls", "handle_seconds"]].values.tolist() == [[5.0, 5 * 220]]
    conn.execute(ins, (t0, sid, None, 6, 7, 50, 5))   # Argus' own service total wins over the groups
    own = store.load_history(conn, service_key, *window)
    assert own[["calls", "unique_calls", "handle_seconds"]].values.tolist() == [[7.0, 6.0, 7 * 55]]
    empty = store.load_history(conn, store.SeriesKey(sid, "S1", TZ, 999, "none"), *window)
    assert empty.empty and list(empty.columns) == store.HISTORY_COLUMNS


def test_special_day_command_sets_lists_and_removes(wfm_env, service) -> None:
    assert run("forecast", "special-day", "S1", "2025-12-25", "--multiplier", "0", "--description", "Xmas").exit_code == 0
    listing = run("forecast", "special-day", "S1")
    assert "2025-12-25" in listing.output and "excluded" in listing.output and "Xmas" in listing.output
    assert "removed 1" in run("forecast", "special-day", "S1", "2025-12-25", "--remove").output
    assert run("forecast", "special-day", "NOPE").exit_code == 2


def test_assets_with_no_statistics_forecast_nothing(db_url) -> None:
    from wfm_pipeline.defs.forecasting import forecasts

    result = dg.materialize([forecasts], resources={"wfm_db": WfmDatabase(url=db_url)})
    assert result.success and result.output_for_node("forecasts", "call_forecasts") == {}
    assert result.output_for_node("forecasts", "staffing_requirements") == {}


def test_prune_forecast_runs_keeps_recent_and_the_newest_per_series(conn, service) -> None:
    def add_run(group_id, age_days: int) -> int:
        return conn.execute(
            """INSERT INTO forecast_runs (service_id, group_id, created_at, as_of, horizon_start, horizon_end, model)
               VALUES (%s, %s, now() - make_interval(days => %s), now(), now(), now() + interval '1 day', 'm')
               RETURNING forecast_run_id""", (service["service_id"], group_id, age_days)).fetchone()[0]

    old_service, new_service = add_run(None, 60), add_run(None, 1)
    only_group = add_run(service["group_id"], 90)           # old, but the group's newest run
    conn.execute("""INSERT INTO forecasts (forecast_run_id, interval_start_time, service_id, calls, unique_calls)
                    VALUES (%s, '2025-01-01 00:00+00', %s, 1, 1)""", (old_service, service["service_id"]))
    assert conn.execute("SELECT prune_forecast_runs()").fetchone()[0] == 1
    left = {r for (r,) in conn.execute("SELECT forecast_run_id FROM forecast_runs")}
    assert left == {new_service, only_group}
    assert conn.execute("SELECT count(*) FROM forecasts").fetchone()[0] == 0
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="at least 1 day"):
        conn.execute("SELECT prune_forecast_runs('1 hour')")


def test_backtest_default_end_is_the_end_of_the_data(wfm_env, conn, service) -> None:
    _load(conn, service)                                   # history ends on START + 8 weeks (excluded)
    result = run("forecast", "backtest", "--service", "S1")
    assert result.exit_code == 0, result.output
    end = START + timedelta(weeks=WEEKS)
    assert f"backtest up to {end}" in result.output and " 0 calls on 0 open days" not in result.output
    data = json.loads(run("forecast", "backtest", "--service", "S1", "--json").output)
    explicit = json.loads(run("forecast", "backtest", "--service", "S1", "--as-of", str(end), "--json").output)
    assert data == explicit and data["weeks"] == 4 and data["calls_scored"] > 0
    assert data["origins"][-1]["origin"] == str(end - timedelta(days=14))
    assert data["interval"]["model"] < data["interval"]["naive"]
    assert "candidates (interval WAPE" in result.output and "model selection for the forecast" in result.output
    # A series without statistics: a clear error, not an empty table.
    empty = run("forecast", "backtest", "--service", "S1", "--group", "G1")
    assert empty.exit_code == 2 and "no statistics" in empty.output


def test_run_stores_candidates_and_the_choice(wfm_env, conn, service) -> None:
    _load(conn, service)
    assert run("forecast", "--service", "S1", "--as-of", str(START + timedelta(weeks=WEEKS)),
               "--horizon-days", "1").exit_code == 0
    params, bt = conn.execute("SELECT parameters, backtest FROM forecast_runs").fetchone()
    assert set(bt["candidates"]) == {"holt_horizon", "dow_median5", "recent_median", "slot_median5",
                                     "seasonal_naive"}
    assert bt["selection"] == params["selection"] and abs(sum(bt["selection"]["weights"].values()) - 1) < 1e-3
    assert all(w < str(START + timedelta(weeks=WEEKS)) for w in bt["selection"]["windows"])


def test_special_days_in_bulk(wfm_env, conn, service, tmp_path) -> None:
    listing = tmp_path / "holidays.txt"
    listing.write_text("# bank holidays\n2026-12-24 2026-12-25\n2026-12-26..2026-12-27\n")
    result = run("forecast", "special-day", "S1", "--dates", "2026-12-31,2027-01-01", "--file", str(listing),
                 "--multiplier", "0", "--description", "closed")
    assert result.exit_code == 0, result.output
    assert "6 special days of S1 set (2026-12-24 .. 2027-01-01)" in result.output
    rows = conn.execute("SELECT day, exclude_from_training, multiplier, description FROM special_days "
                        "ORDER BY day").fetchall()
    assert [str(r[0]) for r in rows] == ["2026-12-24", "2026-12-25", "2026-12-26", "2026-12-27", "2026-12-31",
                                         "2027-01-01"]
    assert all(r[1] is True and float(r[2]) == 0.0 and r[3] == "closed" for r in rows)
    # A bad entry names itself and writes nothing.
    listing.write_text("2027-04-05\n05.04.2027\n")
    bad = run("forecast", "special-day", "S1", "--file", str(listing))
    assert bad.exit_code == 2 and "line 2: '05.04.2027'" in bad.output
    assert conn.execute("SELECT count(*) FROM special_days").fetchone()[0] == 6
    # Re-setting is idempotent (an update), removal takes a list too.
    again = run("forecast", "special-day", "S1", "--dates", "2026-12-24", "--multiplier", "0.4")
    assert again.exit_code == 0
    assert float(conn.execute("SELECT multiplier FROM special_days WHERE day = '2026-12-24'").fetchone()[0]) == 0.4
    removed = run("forecast", "special-day", "S1", "--dates", "2026-12-26..2026-12-31", "--remove")
    assert "removed 3 special days" in removed.output
    assert conn.execute("SELECT count(*) FROM special_days").fetchone()[0] == 3
    country = run("forecast", "special-day", "S1", "--country", "DE", "--years", "2027", "--multiplier", "0")
    try:
        import holidays  # noqa: F401
    except ImportError:
        assert country.exit_code == 2 and "optional 'holidays' package" in country.output
    else:
        assert country.exit_code == 0 and "special days of S1 set" in country.output
        assert conn.execute("SELECT description FROM special_days WHERE day = '2027-10-03'").fetchone()[0]
    assert run("forecast", "special-day", "S1", "--years", "2027").exit_code == 2


def test_cli_forecast_is_reported_to_dagster_when_an_instance_exists(wfm_env, conn, service) -> None:
    from wfm_pipeline.defs.instance import existing_instance, write_dagster_yaml
    from wfm_pipeline.settings import get_settings

    _load(conn, service)
    alone = run("forecast", "--service", "S1", "--as-of", str(AS_OF), "--horizon-days", "1")
    assert alone.exit_code == 0 and "reported to Dagster" not in alone.output   # no instance: nothing said

    write_dagster_yaml(get_settings())      # what `wfm dev` writes (storage: this database)
    result = run("forecast", "--service", "S1", "--as-of", str(AS_OF), "--horizon-days", "1", "--json")
    assert result.exit_code == 0, result.output
    assert "reported to Dagster" in result.stderr and "reported" not in result.stdout  # JSON stays clean
    run_id = conn.execute("SELECT max(forecast_run_id) FROM forecast_runs").fetchone()[0]
    instance = existing_instance(get_settings())
    try:
        for key in ("call_forecasts", "staffing_requirements"):
            event = instance.get_latest_materialization_event(dg.AssetKey(key))
            meta = event.asset_materialization.metadata
            assert meta["source"].value == "wfm forecast (CLI)" and meta["forecast_run_id"].value == run_id
            assert meta["dagster/row_count"].value == 96 and meta["series"].value == 1
        forecast = instance.get_latest_materialization_event(dg.AssetKey("call_forecasts")).asset_materialization
        (row,) = forecast.metadata["forecasts"].value.records
        assert row.data["series"] == "S1" and row.data["run_id"] == run_id
        assert forecast.metadata["plot"].value.startswith("![S1 forecast](data:image/png;base64,")
    finally:
        instance.dispose()
