"""Declarative automation, evaluated against a real Dagster instance (no daemon: the evaluation
the automation sensor runs each tick, ``dg.evaluate_automation_conditions``)."""

import dagster as dg

from wfm_pipeline.definitions import defs
from wfm_pipeline.defs import keys
from wfm_pipeline.defs.automation import automation_sensor

DATA_CHECKS = {"partitions_premade", "no_rows_outside_partitions", "imports_healthy", "interval_gaps",
               "daily_volume_plausible"}
DATABASE_CHECKS = {"database_sessions", "read_sla", "summary_sla", "insert_throughput_and_capacity",
                   "import_query_view_round_trip", "schema_security", "resources"}
FOLLOWERS = {keys.MV_HOURLY_STATS, keys.MV_DAILY_SERVICE_STATS, keys.CALL_FORECASTS, keys.STAFFING_REQUIREMENTS}


def requested(result) -> tuple[set[dg.AssetKey], set[tuple[str, str]]]:
    """(assets, (asset, check) pairs) one evaluation requested."""
    assets = {r.key for r in result.results if isinstance(r.key, dg.AssetKey) and r.true_subset.size}
    checks = {(r.key.asset_key.to_user_string(), r.key.name) for r in result.results
              if isinstance(r.key, dg.AssetCheckKey) and r.true_subset.size}
    return assets, checks


def import_reported(instance: dg.DagsterInstance, month: str) -> None:
    """What a file import reports: its batch, then the month it wrote (runless here)."""
    instance.report_runless_asset_event(dg.AssetMaterialization(keys.CONTACT_STATISTICS, partition=month))


def test_views_forecasts_and_data_checks_follow_a_new_month_on_the_next_tick() -> None:
    with dg.instance_for_test() as instance:
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        assets, checks = requested(first)
        # A fresh install: nothing to refresh or forecast before data arrives; no data check and no
        # database-wide check before any data (premade partitions: the premake job fails when one is missing).
        assert assets == set()
        assert checks == set()

        quiet = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
        assert requested(quiet) == (set(), set())   # requested once, not again every tick

        import_reported(instance, "2026-01-01")
        after = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=quiet.cursor)
        assets, checks = requested(after)
        assert assets == FOLLOWERS       # months since 2020 without data do not block them
        assert {name for asset, name in checks if asset == "contact_statistics"} == DATA_CHECKS
        # The database-wide checks run once, after the first data (then daily).
        assert {name for asset, name in checks if asset == "wfm_database"} == DATABASE_CHECKS

        # The views' freshness checks go into the same run as their refresh (after it).
        assert {("mv_hourly_stats", "fresh"), ("mv_daily_service_stats", "fresh")} <= checks
        for key in FOLLOWERS:  # the run happened
            instance.report_runless_asset_event(dg.AssetMaterialization(key))
        ran = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=after.cursor)
        assert not requested(ran)[0]     # its own refresh does not trigger another one

        # The database-wide checks ran; a second import brings the data checks again, not those
        # (their daily schedule takes over).
        for name in DATABASE_CHECKS:
            instance.report_runless_asset_event(dg.AssetCheckEvaluation(
                asset_key=keys.WFM_DATABASE, check_name=name, passed=True))
        import_reported(instance, "2026-02-01")
        again = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=ran.cursor)
        assets, checks = requested(again)
        assert FOLLOWERS <= assets
        assert {name for asset, name in checks if asset == "contact_statistics"} == DATA_CHECKS
        assert not {name for asset, name in checks if asset == "wfm_database"}


def test_the_automation_sensor_runs_by_default_and_sees_every_asset_and_check() -> None:
    repo = defs.get_repository_def()
    sensor = repo.get_sensor_def(automation_sensor.name)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.minimum_interval_seconds == 30
    graph = repo.asset_graph
    targeted = automation_sensor.asset_selection.resolve_checks(graph)
    assert {c.name for c in targeted} >= DATA_CHECKS | {"fresh", "read_sla"}
    # The hand-written asset sensors it replaced are gone.
    assert {s.name for s in repo.sensor_defs} == {"argus_landing_sensor", automation_sensor.name}


def test_no_check_rides_along_with_an_automated_refresh_or_a_rebuild() -> None:
    repo = defs.get_repository_def()
    graph = repo.asset_graph
    automated = {k for k in graph.materializable_asset_keys if graph.get(k).automation_condition is not None}
    assert automated == FOLLOWERS
    in_step = {dg.AssetCheckKey(keys.CALL_FORECASTS, "backtest_beats_seasonal_naive")}  # yielded by the same op
    for key in automated:
        for check in graph.get_check_keys_for_assets({key}) - in_step:
            # Dagster adds to an automated run only the checks without a condition of their own.
            assert graph.get(check).automation_condition is not None, check
    # The database-wide checks (seconds each) are on an asset nothing materializes.
    for check in graph.asset_check_keys:
        if check.name in DATABASE_CHECKS:
            assert check.asset_key == keys.WFM_DATABASE, check
    for job_name in ("refresh_views_job", "contact_statistics_rebuild"):
        assert repo.get_job(job_name).asset_layer.asset_graph.asset_check_keys == set(), job_name
    assert repo.get_job("health_checks_job").asset_layer.asset_graph.asset_check_keys  # the checks exist
