"""Warehouse maintenance: partition check, ANALYZE, retention by detaching, health hook, CLI, bench pieces."""

from __future__ import annotations

from datetime import datetime, timezone

import dagster as dg
import psycopg
import pytest
from click.testing import CliRunner

from wfm_pipeline.defs.resources import WfmDatabase
from wfm_pipeline.warehouse import maintenance
from wfm_pipeline.bench import queries as bench_queries
from wfm_pipeline.db import partitions
from wfm_pipeline.defs import warehouse as wh
from wfm_pipeline_tests.stats_rows import insert_row, new_batch

UTC = timezone.utc


def _job(name: str, db_url: str):
    defs = dg.Definitions(assets=[*wh.VIEW_ASSETS], jobs=[wh.refresh_views_job],
                          resources={"wfm_db": WfmDatabase(url=db_url)})
    return defs.resolve_job_def(name)


def test_premake_job_passes_then_fails_naming_a_month_it_cannot_make(db_url, conn) -> None:
    resources = {"wfm_db": WfmDatabase(url=db_url)}
    assert wh.partition_premake_job.execute_in_process(resources=resources).success
    # Lose a premade month: detached, its name still taken, the gap covered by a guard. Premake
    # cannot put it back, so the daily job fails and names the month.
    now = datetime.now(UTC)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    name = f"contact_statistics_{year:04d}_{month:02d}"
    conn.execute(f"ALTER TABLE wfm.contact_statistics DETACH PARTITION wfm.{name}")
    conn.execute("SELECT wfm.rebuild_partition_guards('wfm.contact_statistics')")
    conn.commit()
    assert [m.month for m in partitions.missing_premade(conn)] == [f"{year:04d}-{month:02d}"]
    result = wh.partition_premake_job.execute_in_process(resources=resources, raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_node_events if e.event_type_value == "STEP_FAILURE"]
    assert failure.event_specific_data.user_failure_data.metadata["missing"].value == [f"contact_statistics {year:04d}-{month:02d}"]


def test_partitions_are_no_floating_asset() -> None:
    # The premake job records nothing under an asset key of its own (it used to materialize an
    # edge-less `monthly_partitions`): the partition check lives on contact_statistics.
    from wfm_pipeline.definitions import defs

    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert "monthly_partitions" not in keys
    assert "partition_check_job" not in {j.name for j in defs.resolve_all_job_defs()}


def test_analyze_covers_every_partitioned_parent(db_url, conn) -> None:
    tables = {t for t, _ in maintenance.analyze_partitioned_tables(conn)}
    conn.commit()   # ANALYZE holds its lock until commit; the job below uses another connection
    configured = {t for (t,) in conn.execute("SELECT table_name::text FROM wfm.partition_config")}
    assert tables == configured and "contact_statistics" in tables
    result = wh.analyze_partitioned_tables_job.execute_in_process(resources={"wfm_db": WfmDatabase(url=db_url)})
    assert result.success


@pytest.fixture
def old_months(conn: psycopg.Connection, service: dict) -> dict:
    """Partitions for 2020-01..03 with one row in February."""
    conn.execute("SELECT wfm.ensure_monthly_partitions('wfm.contact_statistics', '2020-01-01', '2020-03-01')")
    insert_row(conn, new_batch(conn), datetime(2020, 2, 10, 8, tzinfo=UTC), service["service_id"], service["group_id"],
               1, 2, 10, 1)
    conn.commit()
    return service


def test_retention_is_off_by_default(conn, old_months) -> None:
    assert all(not s.enabled and s.retention_months == 13 for s in maintenance.retention_settings(conn))
    assert maintenance.detach_expired(conn) == []


def test_retention_detaches_into_the_archive_and_rebuilds_guards(conn, old_months) -> None:
    maintenance.set_retention(conn, "wfm.contact_statistics", enabled=True)
    conn.commit()
    dry = maintenance.detach_expired(conn, dry_run=True)
    assert [p.partition for p in dry] == ["contact_statistics_2020_01", "contact_statistics_2020_02",
                                         "contact_statistics_2020_03"]
    assert not any(p.detached for p in dry)
    assert conn.execute("SELECT to_regclass('wfm.contact_statistics_2020_02')").fetchone()[0] is not None

    done = maintenance.detach_expired(conn)
    conn.commit()
    assert [p.archived_as for p in done] == ["wfm_archive.contact_statistics_2020_01",
                                            "wfm_archive.contact_statistics_2020_02",
                                            "wfm_archive.contact_statistics_2020_03"]
    # Never dropped: the rows are in the archive, recorded in the audit table.
    assert conn.execute("SELECT count(*) FROM wfm_archive.contact_statistics_2020_02").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM wfm.detached_partitions").fetchone()[0] == 3
    # Recent months stay; the gap is covered by a guard again, so a late row fails clearly.
    assert partitions.missing_premade(conn) == []
    gaps = conn.execute("SELECT count(*) FROM wfm.partitions WHERE parent_table = 'wfm.contact_statistics'::regclass "
                        "AND is_guard AND range_start IS NULL").fetchone()[0]
    assert gaps == 1
    with pytest.raises(psycopg.errors.CheckViolation, match="no partition of wfm.contact_statistics for month 2020-02"):
        insert_row(conn, new_batch(conn), datetime(2020, 2, 11, tzinfo=UTC), old_months["service_id"], None, 1, 1, 1, 1)
    conn.rollback()
    # Re-created and expired again: the second copy is archived under a new name.
    conn.execute("SELECT wfm.ensure_monthly_partitions('wfm.contact_statistics', '2020-02-01', '2020-02-01')")
    conn.commit()
    (again,) = maintenance.detach_expired(conn)
    assert again.archived_as.startswith("wfm_archive.contact_statistics_2020_02_")


def test_retention_respects_the_horizon(conn, old_months) -> None:
    maintenance.set_retention(conn, "wfm.contact_statistics", enabled=True, months=1000)
    assert maintenance.detach_expired(conn) == []
    with pytest.raises(ValueError, match="not a partitioned WFM table"):
        maintenance.set_retention(conn, "wfm.services", enabled=True)


def test_retention_job_runs_dry_by_config(db_url, conn, old_months) -> None:
    maintenance.set_retention(conn, "wfm.contact_statistics", enabled=True)
    conn.commit()
    result = wh.retention_job.execute_in_process(
        resources={"wfm_db": WfmDatabase(url=db_url)},
        run_config={"ops": {"detach_expired_partitions_op": {"config": {"dry_run": True}}}})
    assert result.success
    assert conn.execute("SELECT count(*) FROM wfm.detached_partitions").fetchone()[0] == 0
    # The dry run lists what would go, each marked as not detached.
    (output,) = [e for e in result.all_node_events if e.event_type_value == "STEP_OUTPUT"]
    listed = output.event_specific_data.metadata["detached"].value
    assert [(p["partition"], p["detached"]) for p in listed] == [
        (f"contact_statistics_2020_{m:02d}", False) for m in (1, 2, 3)]
    assert conn.execute("SELECT to_regclass('wfm.contact_statistics_2020_02')").fetchone()[0] is not None


def test_refresh_views_job_and_automation_definitions(db_url) -> None:
    result = _job("refresh_views_job", db_url).execute_in_process()
    assert result.success
    assert {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()} == {
        "mv_hourly_stats", "mv_daily_service_stats"}
    # After an import: declarative automation (test_automation), no hand-written asset sensor.
    # One multi-asset refreshes both (they share one change log and watermark).
    (aggregates,) = wh.VIEW_ASSETS
    for key in aggregates.keys:
        assert aggregates.automation_conditions_by_key[key] is not None
        assert dg.AssetKey("contact_statistics") in aggregates.asset_deps[key]


def test_cli_views_refresh_and_status(wfm_env) -> None:
    from wfm_pipeline.cli.main import cli

    runner = CliRunner()
    refreshed = runner.invoke(cli, ["views", "refresh"])
    assert refreshed.exit_code == 0, refreshed.output
    assert "wfm.mv_hourly_stats" in refreshed.output and "first population" in refreshed.output
    again = runner.invoke(cli, ["views", "refresh"])
    assert again.exit_code == 0 and "(incremental)" in again.output
    full = runner.invoke(cli, ["views", "refresh", "--full"])
    assert full.exit_code == 0 and "(full rebuild)" in full.output
    status = runner.invoke(cli, ["views", "status"])
    assert status.exit_code == 0 and "wfm.mv_daily_service_stats" in status.output and "refreshed" in status.output
    assert "materialized up to" in status.output and "0 changes pending" in status.output


@pytest.mark.parametrize("args, message", [(["--clients", "0"], "positive"), (["--clients", "a"], "integers"),
                                           (["--only", "nope"], "unknown query classes")])
def test_cli_bench_queries_rejects_bad_options(args, message) -> None:
    from wfm_pipeline.cli.main import cli

    result = CliRunner().invoke(cli, ["bench", "queries", *args])
    assert result.exit_code == 2 and message in result.output


def test_bench_dataset_generator_builds_the_requested_shape(db_url) -> None:
    spec = bench_queries.DatasetSpec(months=1, services=2, groups_per_service=2)
    dataset = bench_queries.ensure_dataset(db_url, spec, rebuild=False, echo=lambda _m: None)
    assert dataset.rows == spec.expected_rows == 31 * 96 * 4
    assert dataset.build_seconds is not None
    reused = bench_queries.ensure_dataset(db_url, spec, rebuild=False, echo=lambda _m: None)
    assert reused.build_seconds is None and reused.rows == dataset.rows
    with psycopg.connect(db_url) as conn:
        bad = conn.execute("SELECT count(*) FROM wfm.contact_statistics WHERE answered_within_sl > answered_calls "
                           "OR unique_incoming > non_unique_incoming").fetchone()[0]
    assert bad == 0
    # The refresh measurement: a full recompute, then only the one-day import's work.
    timings = bench_queries.refresh_timings(db_url, dataset, echo=lambda _m: None)
    assert [(t.label, t.mode) for t in timings] == [
        (bench_queries.FULL, "full"), (bench_queries.FULL, "full"),
        (bench_queries.ONE_DAY, "incremental"), (bench_queries.ONE_DAY, "incremental")]
    hourly_full, daily_full, hourly_day, daily_day = timings
    assert hourly_full.rows_written == hourly_day.row_count > 0
    assert 24 <= hourly_day.rows_written <= 26          # the day's hours (+1 when the UTC day spans two local ones)
    assert 3 <= daily_day.rows_written <= 2 * 3         # that day: service total + 2 groups (two local days at most)
    # Another shape over this data set regenerates it (the statistics tables have no foreign key
    # to services: truncating services alone left the old rows to collide with the new ones).
    wider = bench_queries.DatasetSpec(months=1, services=3, groups_per_service=2)
    regenerated = bench_queries.ensure_dataset(db_url, wider, rebuild=False, echo=lambda _m: None)
    assert regenerated.rows == wider.expected_rows and regenerated.build_seconds is not None


def test_percentiles_and_markdown() -> None:
    values = [float(v) for v in range(1, 101)]
    assert bench_queries._pct(values, 50) == pytest.approx(50.5)
    assert bench_queries._pct(values, 95) == pytest.approx(95.05)
    q = bench_queries.QUERY_CLASSES[0]
    report = bench_queries.Report(
        bench_queries.Dataset("x", 10, datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC), None),
        refresh=[bench_queries.RefreshTiming(bench_queries.FULL, "wfm.mv_hourly_stats", 9000.0, 10, 10, "full"),
                 bench_queries.RefreshTiming(bench_queries.ONE_DAY, "wfm.mv_hourly_stats", 30.0, 2, 10, "incremental")],
        latencies=[bench_queries.Latency(q, 1, 100, 50.0, 0.4, 0.8, 1.2)])
    text = bench_queries.markdown(report)
    assert "| point | point | 1 | closed loop | 0.40 | 0.80 | 1.20 | 1 ✓ | 50 |" in text
    assert "| full recompute | wfm.mv_hourly_stats | 9,000.0 | full | 10 | 10 |" in text
    assert "30.0 ms for both aggregates, 300x less than the full recompute (9.0 s)" in text
