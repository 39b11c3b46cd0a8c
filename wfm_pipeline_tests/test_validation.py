"""validate_query_performance, validate_throughput_capacity, test_integration_performance,
check_data_quality, run_all_validations; the `wfm validate` / `wfm health` commands and the
Dagster asset checks. No timing assertions: SLA verdicts are provoked with tiny thresholds."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import psycopg
import pytest
from click.testing import CliRunner

from wfm_pipeline.health import checks
from wfm_pipeline_tests.health_data import load, rows, today

QUERY_CLASSES = ("query.point.calls_by_interval", "query.point.realtime_stats", "query.range.day_3_services",
                 "query.aggregation.week_hourly_all", "query.aggregation.service_day_summary",
                 "query.aggregation.month_daily")


def _next_month_partition(conn: psycopg.Connection) -> str:
    return conn.execute(
        "SELECT wfm.partition_name('wfm.contact_statistics', "
        "(date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month')::date)").fetchone()[0]


# ---------------------------------------------------------------- validate_query_performance

def test_query_performance_on_empty_database(conn: psycopg.Connection) -> None:
    r = rows(conn, "validate_query_performance", p_runs=2)
    assert r["query.data"].status == "WARN" and "empty" in r["query.data"].details["reason"]
    assert not set(QUERY_CLASSES) & set(r)
    assert r["query.partition_pruning.explain"].status == "PASS"
    assert r["query.partition_pruning.explain"].measured == 1


def test_query_performance_times_every_class_on_real_data(conn: psycopg.Connection, loaded: dict) -> None:
    r = rows(conn, "validate_query_performance", p_runs=4)
    data = r["query.data"].details
    assert data["recent_services"] == [loaded["service_id"], loaded["s2"]]
    assert data["old_day"][:7] == f"{loaded['old']:%Y-%m}"      # old and recent months both timed
    for name in QUERY_CLASSES:
        check = r[name]
        assert check.measured is not None and check.measured > 0, check
        assert check.details["runs"] >= 4 and check.details["rows_returned"] > 0, check
        assert check.threshold == {"point": 10, "range": 100, "aggregation": 500}[check.details["category"]]
    pruning = r["query.partition_pruning.api_call"]
    assert pruning.status == "PASS" and pruning.measured == 1
    assert r["query.partition_pruning.explain"].status == "PASS"


def test_sla_breach_fails_and_the_grades(conn: psycopg.Connection, loaded: dict) -> None:
    r = rows(conn, "validate_query_performance", p_runs=2, p_point_sla_ms=0.000001)
    assert r["query.point.calls_by_interval"].status == "FAIL"
    assert r["query.point.realtime_stats"].status == "FAIL"
    assert r["query.point.calls_by_interval"].threshold == pytest.approx(0.000001)
    # The grading rule: FAIL above the SLA, WARN above half of it.
    grades = conn.execute("SELECT wfm.health_grade(11, 5, 10), wfm.health_grade(6, 5, 10), "
                          "wfm.health_grade(4, 5, 10), wfm.health_grade(50, NULL, 100, false)").fetchone()
    assert grades == ("FAIL", "WARN", "PASS", "FAIL")


def test_reads_without_partition_pruning_fail(conn: psycopg.Connection, loaded: dict) -> None:
    conn.execute("SET enable_partition_pruning = off")
    r = rows(conn, "validate_query_performance", p_runs=1)
    assert r["query.partition_pruning.explain"].status == "FAIL"
    assert r["query.partition_pruning.explain"].measured > 1
    assert r["query.partition_pruning.api_call"].status == "FAIL"
    assert r["query.partition_pruning.api_call"].measured > 1


def test_summary_class_works_before_the_aggregates_are_built(conn: psycopg.Connection, service: dict) -> None:
    """Before sql/200 an unpopulated daily view failed this class; now the summary reads raw rows."""
    load(conn, service["service_id"], service["group_id"], today() - timedelta(days=3), 2)
    assert conn.execute("SELECT bool_or(populated) FROM wfm.view_freshness").fetchone() == (False,)
    check = rows(conn, "validate_query_performance", p_runs=1)["query.aggregation.service_day_summary"]
    assert "error" not in check.details and check.details["rows_returned"] > 0


# ---------------------------------------------------------------- validate_throughput_capacity

def test_throughput_is_measured_and_rolled_back(conn: psycopg.Connection, loaded: dict) -> None:
    services = conn.execute("SELECT count(*) FROM services").fetchone()[0]
    r = rows(conn, "validate_throughput_capacity", p_rows=1500)
    insert = r["throughput.batch_insert"]
    assert insert.measured > 0 and insert.unit == "rows/s" and insert.threshold == 100
    assert insert.details["rows_sent"] == insert.details["rows_stored"] == 1500
    assert insert.details["result"]["rows_inserted"] == 1500
    assert conn.execute("SELECT count(*) FROM services").fetchone()[0] == services
    assert conn.execute("SELECT count(*) FROM import_batches WHERE source = 'health_check'").fetchone()[0] == 0
    assert rows(conn, "validate_throughput_capacity", p_rows=10,
                p_min_rows_per_second=10**12)["throughput.batch_insert"].status == "FAIL"


def test_capacity_is_judged_against_the_installs_configured_targets(conn: psycopg.Connection, loaded: dict) -> None:
    r = rows(conn, "validate_throughput_capacity", p_rows=10)
    daily, peak = r["capacity.daily_calls"], r["capacity.peak_hour_calls"]
    # 2 services x 96 intervals x 20 calls a day: a small install far below the volume it is sized
    # for (default: the guide's 100,000 a day, WARN from 80 % on) is healthy.
    assert daily.status == "PASS" and daily.measured == 2 * 96 * 20 and daily.threshold == 80000
    assert daily.details["target"] == 100000 and daily.details["share_of_target"] == round(3840 / 100000, 4)
    assert peak.status == "PASS" and peak.measured == 2 * 4 * 20 and peak.threshold == 8000
    assert r["capacity.retention_months"].status == "PASS" and r["capacity.retention_months"].measured >= 2
    assert r["capacity.partitions_premade.contact_statistics"].status == "PASS"
    # Sized for 4,000 calls a day and 200 in the peak hour: 3,840 and 160 leave less than 20 % headroom.
    conn.execute("UPDATE capacity_targets SET daily_calls = 4000, peak_hour_calls = 200")
    conn.commit()
    tight = rows(conn, "validate_throughput_capacity", p_rows=10)
    assert tight["capacity.daily_calls"].status == "WARN" and tight["capacity.daily_calls"].threshold == 3200
    assert tight["capacity.peak_hour_calls"].status == "WARN" and tight["capacity.peak_hour_calls"].threshold == 160
    # Explicit parameters win over the table (the suite's callers can ask "what if").
    roomy = rows(conn, "validate_throughput_capacity", p_rows=10, p_daily_calls=10000, p_peak_hour_calls=1000)
    assert roomy["capacity.daily_calls"].status == "PASS" and roomy["capacity.peak_hour_calls"].status == "PASS"
    conn.execute("UPDATE partition_config SET retention_enabled = true, retention_months = 6 "
                 "WHERE table_name = 'wfm.contact_statistics'::regclass")
    conn.commit()
    assert rows(conn, "validate_throughput_capacity", p_rows=10)["capacity.retention_months"].status == "FAIL"


# ---------------------------------------------------------------- test_integration_performance

@pytest.mark.parametrize("data", [False, True])
def test_round_trip_gives_the_same_numbers_at_every_step(conn: psycopg.Connection, service: dict,
                                                         request: pytest.FixtureRequest, data: bool) -> None:
    if data:
        request.getfixturevalue("loaded")
    r = rows(conn, "test_integration_performance")
    assert r["integration.import"].details["path"] == "import_argus_format_data"
    assert r["integration.import"].details["result"]["rows_inserted"] == 96
    query = r["integration.query"].details
    assert query["buckets"] == 24 and query["calls"] == query["expected_calls"]
    view = r["integration.view"].details
    assert view["hourly_calls"] == view["daily_calls"] == view["expected_calls"]
    assert r["integration.round_trip"].measured == pytest.approx(
        sum(r[f"integration.{s}"].measured for s in ("import", "query", "view")), abs=0.01)
    assert conn.execute("SELECT count(*) FROM services WHERE code LIKE 'zzhealth%'").fetchone()[0] == 0
    assert rows(conn, "test_integration_performance", p_query_ms=0.000001)["integration.query"].status == "FAIL"


def test_round_trip_with_a_real_refresh_leaves_the_views_as_they_were(conn: psycopg.Connection, loaded: dict) -> None:
    before = conn.execute("SELECT (SELECT count(*) FROM mv_hourly_stats), (SELECT count(*) FROM mv_daily_service_stats)").fetchone()
    view = rows(conn, "test_integration_performance", p_full_refresh=True, p_view_ms=60000)["integration.view"]
    assert view.details["mode"].startswith("incremental refresh")
    assert view.details["hourly_calls"] == view.details["daily_calls"] == view.details["expected_calls"]
    after = conn.execute("SELECT (SELECT count(*) FROM mv_hourly_stats), (SELECT count(*) FROM mv_daily_service_stats)").fetchone()
    assert after == before


# ---------------------------------------------------------------- check_data_quality

def test_data_quality_gaps(conn: psycopg.Connection, loaded: dict) -> None:
    r = rows(conn, "check_data_quality")
    assert r["quality.interval_gaps"].status == "PASS" and r["quality.interval_gaps"].details["series_checked"] == 3
    day = today() - timedelta(days=5)
    conn.execute("DELETE FROM contact_statistics WHERE service_id = %s AND group_id = %s "
                 "AND interval_start_time IN (%s, %s, %s)",
                 (loaded["service_id"], loaded["group_id"], day + timedelta(hours=10),
                  day + timedelta(hours=10, minutes=15), day + timedelta(hours=14)))
    conn.execute("DELETE FROM contact_statistics WHERE service_id = %s AND group_id IS NULL "
                 "AND interval_start_time >= %s AND interval_start_time < %s",
                 (loaded["s2"], day - timedelta(days=2), day - timedelta(days=1)))
    conn.commit()
    gaps = rows(conn, "check_data_quality")["quality.interval_gaps"]
    assert gaps.status == "WARN" and gaps.measured == 2
    by_series = {(s["service_id"], s["group_id"]): s for s in gaps.details["series_with_gaps"]}
    assert by_series[(loaded["service_id"], loaded["group_id"])]["missing_intervals"] == 3
    assert by_series[(loaded["s2"], None)]["missing_days"] == 1


def test_data_quality_implausible_day(conn: psycopg.Connection, service: dict) -> None:
    load(conn, service["service_id"], None, today() - timedelta(days=30), 30)
    assert rows(conn, "check_data_quality")["quality.daily_volume"].status == "PASS"
    spike = today() - timedelta(days=12)
    conn.execute("UPDATE contact_statistics SET non_unique_incoming = non_unique_incoming * 10 "
                 "WHERE interval_start_time >= %s AND interval_start_time < %s", (spike, spike + timedelta(days=1)))
    conn.commit()
    check = rows(conn, "check_data_quality")["quality.daily_volume"]
    assert check.status == "WARN" and check.measured >= 1
    assert str(spike.date()) in {d["day"] for d in check.details["implausible_days"]}


# ---------------------------------------------------------------- run_all_validations

def test_run_all_validations_covers_every_suite(conn: psycopg.Connection, loaded: dict) -> None:
    r = rows(conn, "run_all_validations", p_runs=2)
    prefixes = {name.split(".")[0] for name in r}
    assert prefixes == {"health", "resources", "quality", "query", "throughput", "capacity", "integration",
                        "query_stats", "security"}
    assert "resources.connections" not in r          # reported once, by the health check
    informative = {"query.data", "query_stats.pg_stat_statements"}
    missing = [n for n, c in r.items() if c.measured is None and n not in informative
               and not n.startswith("resources.last_analyze.")                        # empty tables
               and not (n.startswith("resources.cache_hit_ratio.") and not c.details["judged"])]
    assert missing == []


def test_a_broken_suite_is_a_fail_row_not_an_error(conn: psycopg.Connection) -> None:
    conn.execute("ALTER TABLE wfm.view_refresh_history RENAME TO view_refresh_history_moved")
    conn.commit()
    r = rows(conn, "run_all_validations", p_runs=1)
    assert r["database_health_check.error"].status == "FAIL"
    assert "view_refresh_history" in r["database_health_check.error"].details["error"]
    assert "resources.database_size" in r and "throughput.batch_insert" in r


# ---------------------------------------------------------------- CLI

def test_wfm_validate_json_exits_1_on_fail_and_wfm_health_0_when_healthy(wfm_env, db_url: str) -> None:
    from wfm_pipeline.cli.main import cli

    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("SELECT * FROM wfm.api_refresh_all_views()")
        healthy = CliRunner().invoke(cli, ["health"])
        assert healthy.exit_code == 0, healthy.output
        assert "health.partitions_premade" in healthy.output and "0 FAIL" in healthy.output
        # (A dropped partition would be premade again by the CLI's migrate step: use a stuck row.)
        guard = conn.execute("SELECT partition::text FROM wfm.partitions WHERE is_guard AND range_end IS NULL "
                             "AND parent_table = 'wfm.contact_statistics'::regclass").fetchone()[0]
        conn.execute(f"ALTER TABLE {guard} DISABLE TRIGGER reject_unpartitioned_row")
        conn.execute("INSERT INTO wfm.services (code, name, time_zone) VALUES ('S9', 'x', 'UTC')")
        conn.execute("INSERT INTO wfm.contact_statistics (interval_start_time, service_id, unique_incoming, "
                     "non_unique_incoming, avg_talk_time, avg_post_processing_time, import_batch_id) "
                     "SELECT '2036-01-01', service_id, 1, 1, 1, 1, gen_random_uuid() FROM wfm.services WHERE code = 'S9'")
    result = CliRunner().invoke(cli, ["validate", "--json", "--runs", "1"])
    assert result.exit_code == 1, result.output
    import json
    parsed = {r["check_name"]: r for r in json.loads(result.output)}
    assert parsed["health.rows_outside_partitions"]["status"] == "FAIL"
    assert parsed["health.rows_outside_partitions"]["measured"] == 1
    table = CliRunner().invoke(cli, ["health"], color=True)
    assert table.exit_code == 1
    assert "\x1b[31m" in table.output and "\x1b[32m" in table.output     # red FAIL, green PASS


# ---------------------------------------------------------------- Dagster

def test_check_result_maps_status_to_severity() -> None:
    from wfm_pipeline.defs.health import CONTACT_STATISTICS, CheckDef, check_result

    check = CheckDef(CONTACT_STATISTICS, "x", "d", ("a.",))
    ok = check_result(check, [checks.CheckResult("a.one", "PASS", 1.0, 2.0, "ms")])
    warn = check_result(check, [checks.CheckResult("a.one", "PASS", 1.0, 2.0, "ms"),
                                checks.CheckResult("a.two", "WARN", 3.0, 2.0, "ms")])
    fail = check_result(check, [checks.CheckResult("a.two", "WARN", 3.0, 2.0, "ms"),
                                checks.CheckResult("a.three", "FAIL", 9.0, 2.0, "ms", {"error": "boom"})])
    assert ok.passed and not warn.passed and not fail.passed
    assert warn.severity == dg.AssetCheckSeverity.WARN and fail.severity == dg.AssetCheckSeverity.ERROR
    assert fail.metadata["a.three measured (ms)"].value == 9.0
    # Thresholds are text (a constant is no time series worth a plot), the measured values numbers.
    assert not [k for k in fail.metadata if "threshold" in k and k != "thresholds"]
    assert fail.metadata["thresholds"].value == "a.two: 2 ms; a.three: 2 ms"
    assert "a.three FAIL: 9 vs 2 ms" in fail.description


def test_health_checks_job_fails_and_warns_for_real(wfm_env, db_url: str) -> None:
    from wfm_pipeline.definitions import defs

    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("SELECT * FROM wfm.api_refresh_all_views()")
        dropped = _next_month_partition(conn)
        conn.execute(f"DROP TABLE wfm.{dropped}")
    job = defs.resolve_job_def("health_checks_job")
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    evaluations = {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}
    expected = {(d.asset.to_user_string(), d.name) for defs_ in __import__(
        "wfm_pipeline.defs.health", fromlist=["CHECKS"]).CHECKS.values() for d in defs_}
    assert set(evaluations) == expected
    premade = evaluations[("contact_statistics", "partitions_premade")]
    assert not premade.passed and premade.severity == dg.AssetCheckSeverity.ERROR
    assert premade.metadata["health.partitions_premade measured (missing partitions)"].value == 1.0
    # The partition check names the partition (in its description too), not only a count.
    assert premade.metadata["partitions"].value == [f"wfm.{dropped}"]
    assert f"wfm.{dropped}" in premade.description
    capacity = evaluations[("wfm_database", "insert_throughput_and_capacity")]
    assert not capacity.passed and capacity.severity == dg.AssetCheckSeverity.ERROR  # premade months missing too
    sla = evaluations[("wfm_database", "read_sla")]
    assert not sla.passed and sla.severity == dg.AssetCheckSeverity.WARN             # no data to time: WARN
    assert evaluations[("mv_hourly_stats", "fresh")].passed
    assert evaluations[("contact_statistics", "no_rows_outside_partitions")].passed
