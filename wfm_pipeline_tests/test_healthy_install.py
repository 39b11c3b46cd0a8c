"""A healthy small install is quiet: every asset check of the Dagster definitions PASSes.

Six weeks of plausible history for a small service (about 1,300 calls a day, far below the
100,000 the install is sized for by default), imported as Argus files through the file assets
(validated, loaded, analyzed), the views refreshed and the forecasts made by their assets, yesterday's
plan versus actual, then the daily health job and the partition check: zero WARN, zero ERROR. Before issue 12 the same data
WARNed on capacity ("1308 vs 100 000 calls/day") and on parent statistics ("- vs 8 days").
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import dagster as dg
import pandas as pd

from wfm_pipeline.argus.reader import file_sha256
from wfm_pipeline.bench import forecast_data as generator
from wfm_pipeline.definitions import defs
from wfm_pipeline.defs.agents import plan_vs_actual_day
from wfm_pipeline.defs.forecasting import forecasts
from wfm_pipeline.defs.ingest import argus_file_import
from wfm_pipeline.defs.resources import WfmDatabase
from wfm_pipeline.defs.warehouse import VIEW_ASSETS
from wfm_pipeline.argus import landing
from wfm_pipeline.settings import get_settings
from wfm_pipeline_tests.argus_files import write_csv

# Timings can WARN on a machine busy with other work (p95 above half an SLA); such a row is
# measured again (up to twice) before the verdict counts: the test is about thresholds, not speed.
TIMED = ("query.point.", "query.range.", "query.aggregation.", "integration.", "throughput.")
# The buffer cache is the server's, shared with every other database on it: the parallel tests of
# this suite on the same server (CI's PostgreSQL 15: 0.986 once) move this database's hit ratio,
# so a WARN of this row alone says nothing about the install. Every other row must PASS.
SHARED_SERVER = ("resources.cache_hit_ratio.",)


def _weekly_files(folder, frame: pd.DataFrame, stem: str) -> list:
    """One Argus CSV per week (UTC service: local time = UTC)."""
    frame = frame.assign(week=frame["interval_start"].dt.tz_convert("UTC").dt.strftime("%G-%V"))
    paths = []
    for week, part in frame.groupby("week"):
        rows = [[ts.tz_convert("UTC").to_pydatetime().replace(tzinfo=None), int(u), int(c), int(t), int(w)]
                for ts, u, c, t, w in zip(part["interval_start"], part["unique_calls"], part["calls"],
                                          part["avg_talk_time"], part["avg_post_processing_time"])]
        paths.append(write_csv(folder / f"{stem}-{week}.csv", rows))
    return paths


def _rerun(instance: dg.DagsterInstance, check: dg.AssetCheckKey, resources: dict):
    """Evaluate one check again (a job selecting just it) and return its evaluation."""
    job = dg.define_asset_job("rerun_one_check", selection=dg.AssetSelection.checks(check))
    result = dg.Definitions.merge(defs, dg.Definitions(jobs=[job])).resolve_job_def(job.name).execute_in_process(
        instance=instance, resources=resources)
    (evaluation,) = result.get_asset_check_evaluations()
    return evaluation


def _timing_only(evaluation) -> bool:
    rows = evaluation.metadata["results"].value.records
    bad = [r.data for r in rows if r.data["status"] != "PASS"]
    return bool(bad) and all(r["status"] == "WARN" and r["check"].startswith(TIMED) for r in bad)


def _shared_server_only(evaluation) -> bool:
    """A WARN whose only non-PASS rows depend on the other databases of a shared test server."""
    results = evaluation.metadata.get("results")
    if results is None:
        return False
    bad = [r.data for r in results.value.records if r.data["status"] != "PASS"]
    return bool(bad) and all(r["status"] == "WARN" and r["check"].startswith(SHARED_SERVER) for r in bad)


def test_every_check_passes_on_a_healthy_small_install(wfm_env, db_url, conn) -> None:
    settings = get_settings()
    service_id = conn.execute("INSERT INTO services (code, name, time_zone) VALUES ('SMALL', 'Small', 'UTC') "
                              "RETURNING service_id").fetchone()[0]
    conn.execute("INSERT INTO groups (service_id, code, name) VALUES (%s, 'G1', 'Group')", (service_id,))
    conn.commit()
    today = datetime.now(timezone.utc).date()
    start = today - timedelta(weeks=6)
    files = []
    for group, seed, calls in ((None, 1, 900), ("G1", 2, 400)):
        spec = generator.SyntheticSpec(start=start, days=42, time_zone="UTC", daily_calls=calls,
                                       missing_share=0.0, seed=seed)
        folder = settings.landing_dir / "SMALL" / (group or "")
        folder.mkdir(parents=True, exist_ok=True)
        files += [(group, p) for p in _weekly_files(folder, generator.generate(spec), group or "service")]

    resources = {"wfm_db": WfmDatabase(url=db_url)}
    with dg.instance_for_test() as instance:
        for group, path in files:  # as the landing sensor would request them
            key = landing.partition_key("SMALL", group, path.name, file_sha256(path))
            instance.add_dynamic_partitions("argus_files", [key])
            assert dg.materialize([argus_file_import], partition_key=key, instance=instance,
                                  resources=resources).success
        assert dg.materialize(VIEW_ASSETS, instance=instance, resources=resources).success
        assert dg.materialize([forecasts], instance=instance, resources=resources).success
        # Plan versus actual for the last day with data (no agent states here: nothing understaffed).
        assert dg.materialize([plan_vs_actual_day], partition_key=(today - timedelta(days=1)).isoformat(),
                              instance=instance, resources=resources).success
        for job in ("health_checks_job",):
            assert defs.resolve_job_def(job).execute_in_process(instance=instance, resources=resources).success

        repo = defs.get_repository_def()
        latest = {}
        for check in repo.asset_graph.asset_check_keys:
            record = instance.event_log_storage.get_latest_asset_check_execution_by_key([check]).get(check)
            assert record is not None and record.event is not None, f"{check} was never evaluated"
            latest[check] = record.event.dagster_event.event_specific_data
        for check, evaluation in latest.items():
            retries = 0
            while not evaluation.passed and _timing_only(evaluation) and retries < 2:
                retries += 1
                evaluation = _rerun(instance, check, resources)
            latest[check] = evaluation
        failing = {f"{c.asset_key.to_user_string()}:{c.name}": e.description for c, e in latest.items()
                   if not e.passed and not _shared_server_only(e)}
        assert failing == {}
        security = dg.AssetCheckKey(dg.AssetKey("wfm_database"), "schema_security")
        assert _rerun(instance, security, resources).passed   # the same verdict measured again
        # Quiet, and not by judging nothing: the database-wide checks measured this data set.
        capacity = latest[dg.AssetCheckKey(dg.AssetKey("wfm_database"), "insert_throughput_and_capacity")]
        daily = next(r.data for r in capacity.metadata["results"].value.records
                     if r.data["check"] == "capacity.daily_calls")
        assert 0 < float(daily["measured"].replace(" ", "")) < 80000
