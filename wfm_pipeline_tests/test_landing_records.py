"""Call-record and agent-state files through the landing folder and Dagster: ``<service>/calls/`` and
``<service>/agents/`` are picked up by the landing sensor, imported by their kind's job against a
real database and a real Dagster instance, archived or rejected like Argus files; the monthly
``agent_activity`` checks pass on good data and fail on planted inconsistencies."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from dagster._core.definitions.data_version import StaleStatus
from dagster._utils.test.data_versions import get_stale_status_resolver  # the resolver behind "Unsynced"

from wfm_pipeline.argus import landing
from wfm_pipeline.argus.reader import file_sha256
from wfm_pipeline.definitions import defs
from wfm_pipeline.defs.activity import HANDLED_CHECK, INTERVALS_CHECK, agent_activity
from wfm_pipeline.defs.ingest import agent_states_file_import, call_file_import, contact_statistics
from wfm_pipeline.defs.instance import SERVICE_TAG
from wfm_pipeline.defs.resources import WfmDatabase
from wfm_pipeline.defs.sensors import argus_landing_sensor
from wfm_pipeline.settings import get_settings
from wfm_pipeline_tests import agent_data, call_data
from wfm_pipeline_tests.dagster_files import materialization

DAY = dt.date(2026, 1, 5)
MONTH = "2026-01-01"


@pytest.fixture
def env(wfm_env: Path, db_url: str, service: dict, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("WFM_LANDING_SETTLE_SECONDS", "0")   # settled on the second tick
    settings = get_settings()
    settings.landing_dir.mkdir(parents=True)
    return settings


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def tick(instance: dg.DagsterInstance, db_url: str, cursor: str | None, log: Collect | None = None) -> dg.SensorResult:
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"wfm_db": WfmDatabase(url=db_url)})
    if log is not None:
        context.log.addHandler(log)
    return argus_landing_sensor(context)


def launch(instance: dg.DagsterInstance, db_url: str, result: dg.SensorResult) -> list[dg.ExecuteInProcessResult]:
    """What the daemon does with a tick's result: add the partitions, run each request's job."""
    for request in result.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return [defs.resolve_job_def(r.job_name).execute_in_process(
        instance=instance, partition_key=r.partition_key, run_config=r.run_config, tags=r.tags,
        resources={"wfm_db": WfmDatabase(url=db_url)}, raise_on_error=False) for r in result.run_requests]


def call_rows(n: int = 80, seed: int = 7) -> list[dict[str, str]]:
    return call_data.generate(seed, "Europe/Berlin", [DAY], n, groups=("G1", "G1"), agents=6)


def agent_rows() -> list[dict[str, str]]:
    return agent_data.generate_shifts(3, "Europe/Berlin", [DAY], 4, night_share=0.0)


def drop_calls(settings, rel: str, rows) -> Path:
    path = settings.landing_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    return call_data.write_csv(path, rows)


def drop_agents(settings, rel: str, rows) -> Path:
    path = settings.landing_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    return agent_data.write_csv(path, rows)


def check_evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


# ------------------------------------------------------------------ landing (no database)
def test_calls_and_agents_folders_hold_their_kind_never_a_group(tmp_path: Path) -> None:
    for rel in ("S1/calls/c.csv", "S1/agents/a.xlsx", "S1/G1/argus.csv", "S1/argus.xlsx", "S1/calls/deep/x.csv"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    found = {f.rel: (f.service_code, f.group_code, f.kind) for f in landing.scan_landing(tmp_path)}
    assert found == {
        "S1/calls/c.csv": ("S1", None, "calls"),
        "S1/agents/a.xlsx": ("S1", None, "agent_states"),
        "S1/G1/argus.csv": ("S1", "G1", "argus"),
        "S1/argus.xlsx": ("S1", None, "argus"),
        "S1/calls/deep/x.csv": (None, None, "argus"),   # nested deeper: misplaced, rejected with a reason
    }
    sha = "ab" * 32
    key = landing.partition_key("S1", None, "c.csv", sha, kind="calls")
    assert key == f"S1/calls/c.csv@{sha[:12]}"
    parsed = landing.parse_partition_key(key)
    assert (parsed.service_code, parsed.group_code, parsed.kind, parsed.folder) == ("S1", None, "calls", "calls")
    assert landing.parse_partition_key(f"S1/agents/a.xlsx@{sha[:12]}").kind == "agent_states"
    assert landing.parse_partition_key(f"S1/G1/a.xlsx@{sha[:12]}").kind == "argus"
    with pytest.raises(ValueError, match="not to a group"):
        landing.partition_key("S1", "G1", "c.csv", sha, kind="calls")
    assert landing.service_folder(tmp_path, "S2", kind="calls") == tmp_path / "S2" / "calls"
    # locate_file looks in the kind's folder (and confirms the content by its hash)
    real = tmp_path / "S1" / "calls" / "c.csv"
    found_file = landing.locate_file(landing.partition_key("S1", None, "c.csv", file_sha256(real), kind="calls"),
                                     tmp_path, tmp_path / "archive")
    assert found_file is not None and found_file.path == real


# ------------------------------------------------------------------ sensor -> run -> database
def test_the_sensor_imports_calls_and_agent_states_with_their_jobs(env, instance, db_url, conn, service) -> None:
    calls_file = drop_calls(env, "S1/calls/monday.csv", call_rows())
    agents_file = drop_agents(env, "S1/agents/monday.csv", agent_rows())
    first = tick(instance, db_url, None)
    assert first.run_requests == []
    second = tick(instance, db_url, first.cursor)
    requests = {r.job_name: r for r in second.run_requests}
    assert set(requests) == {"call_file_import", "agent_states_file_import"}
    call_key = landing.partition_key("S1", None, "monday.csv", file_sha256(calls_file), kind="calls")
    agent_key = landing.partition_key("S1", None, "monday.csv", file_sha256(agents_file), kind="agent_states")
    assert (requests["call_file_import"].partition_key, requests["call_file_import"].run_key) == (call_key, call_key)
    assert requests["agent_states_file_import"].partition_key == agent_key == "S1/agents/" + agent_key.split("/")[2]
    assert requests["call_file_import"].run_config == {"ops": {"call_import_batch": {"config": {"strict": False}}}}
    assert requests["call_file_import"].tags["wfm/kind"] == "calls"
    assert {r.tags[SERVICE_TAG] for r in requests.values()} == {"S1"}   # one run at a time per service
    assert {(p.partitions_def_name, tuple(p.partition_keys)) for p in second.dynamic_partitions_requests} == {
        ("call_files", (call_key,)), ("agent_state_files", (agent_key,))}
    assert tick(instance, db_url, second.cursor).run_requests == []      # requested once

    # agent states first, then the calls: both kinds fill the same agent_activity rows
    runs = {r.dagster_run.job_name: r for r in launch(instance, db_url, second)}
    assert all(r.success for r in runs.values())
    calls_run, agents_run = runs["call_file_import"], runs["agent_states_file_import"]

    batch = materialization(calls_run, "call_import_batch")
    stored = conn.execute("SELECT count(*) FROM call_records WHERE is_current").fetchone()[0]
    assert batch["status"].value == "completed" and batch["rows_inserted"].value == stored > 0
    assert batch["intervals_inserted"].value > 0 and batch["agent_rows_written"].value > 0
    assert batch["dagster/table_name"].value == "wfm.import_batches"
    kind, moved_to = conn.execute("SELECT kind, details ->> 'moved_to' FROM import_batches "
                                  "WHERE import_batch_id = %s", (batch["import_batch_id"].value,)).fetchone()
    assert kind == "calls"
    assert not calls_file.exists() and not agents_file.exists()             # archived, both
    assert str(env.archive_dir / "S1") in batch["archived_to"].value
    validated = materialization(calls_run, "call_validated")
    assert validated["rows_valid"].value == validated["rows_total"].value == len(call_rows()) == stored
    # the months the batch wrote: contact_statistics and agent_activity, then both checks judged them
    assert materialization(calls_run, "contact_statistics", MONTH)["dagster/row_count"].value > 0
    activity = materialization(calls_run, "agent_activity", MONTH)
    rows = conn.execute("SELECT count(*), sum(calls_handled) FROM agent_activity").fetchone()
    assert (activity["dagster/row_count"].value, activity["calls_handled"].value) == (rows[0], rows[1])
    checks = check_evaluations(calls_run)
    assert checks["all_rows_valid"].passed
    assert checks[INTERVALS_CHECK].passed and checks[HANDLED_CHECK].passed
    assert checks[INTERVALS_CHECK].metadata["intervals_compared"].value > 0
    assert checks[INTERVALS_CHECK].target_materialization_data is not None

    states = materialization(agents_run, "agent_states_import_batch")
    assert states["status"].value == "completed" and states["rows_inserted"].value == len(agent_rows())
    logged_in = conn.execute("SELECT sum(logged_in_seconds) FROM agent_activity").fetchone()[0]
    assert logged_in and logged_in > 0
    assert materialization(agents_run, "agent_activity", MONTH)["dagster/row_count"].value > 0
    # statistics refreshed by the import (the resources check: no non-empty parent never analyzed)
    never = conn.execute(
        """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'wfm'
           LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
           WHERE c.relname IN ('call_records', 'agent_activity', 'agent_state_transitions')
             AND greatest(s.last_analyze, s.last_autoanalyze) IS NULL""").fetchall()
    assert never == []

    # no "Unsynced" month after the imports
    assets = [call_file_import, agent_states_file_import, contact_statistics, agent_activity]
    resolver = get_stale_status_resolver(instance, assets)
    for key in ("contact_statistics", "agent_activity"):
        assert resolver.get_status(dg.AssetKey(key), MONTH) == StaleStatus.FRESH, key


def test_rejected_call_and_agent_files_go_to_rejected_with_a_batch_of_their_kind(env, instance, db_url, conn) -> None:
    unknown = drop_calls(env, "NOPE/calls/x.csv", call_rows(5))          # no such service: the sensor rejects
    no_ids = env.landing_dir / "S1" / "calls" / "no_ids.csv"              # the run rejects (a column missing)
    no_ids.parent.mkdir(parents=True)
    no_ids.write_text("offered_at;outcome\n05.01.2026 10:00:00;answered\n", encoding="utf-8")
    bad_states = drop_agents(env, "S1/agents/bad.csv", [agent_data.event("A1", "lunch", "05.01.2026 08:00:00")])
    second = tick(instance, db_url, tick(instance, db_url, None).cursor)
    (observation,) = second.asset_events
    assert observation.asset_key == dg.AssetKey("call_raw_file")
    assert observation.metadata["error_code"].value == "UNKNOWN_SERVICE"
    assert not unknown.exists() and (env.rejected_dir / "NOPE" / "calls" / "x.csv.errors.csv").exists()
    assert {r.job_name for r in second.run_requests} == {"call_file_import", "agent_states_file_import"}

    runs = {r.dagster_run.job_name: r for r in launch(instance, db_url, second)}
    assert all(r.success for r in runs.values())               # a rejection is an outcome, not a failure
    calls = runs["call_file_import"]
    batch = materialization(calls, "call_import_batch")
    assert batch["status"].value == "rejected" and "MISSING_COLUMN" in str(batch["first_errors"].value.records)
    target = env.rejected_dir / "S1" / "calls" / "no_ids.csv"
    assert batch["rejected_to"].value == str(target) and not no_ids.exists()
    (line, *_) = landing.read_errors_csv(Path(f"{target}.errors.csv"))
    assert line["code"] == "MISSING_COLUMN"
    (valid,) = [e for e in calls.get_asset_check_evaluations() if e.check_name == "all_rows_valid"]
    assert not valid.passed and valid.severity == dg.AssetCheckSeverity.ERROR
    assert materialization(calls, "call_validated")["status"].value == "rejected"

    states = runs["agent_states_file_import"]
    # no valid row, as for Argus files: an ERROR check, row errors recorded, the file archived
    (valid,) = [e for e in states.get_asset_check_evaluations() if e.check_name == "all_rows_valid"]
    assert not valid.passed and valid.severity == dg.AssetCheckSeverity.ERROR
    assert "INVALID_STATE" in valid.metadata["first_errors"].value
    assert materialization(states, "agent_states_import_batch")["rows_rejected"].value == 1
    assert not bad_states.exists()

    kinds = conn.execute("SELECT file_name, kind, status FROM import_batches ORDER BY file_name").fetchall()
    assert kinds == [("bad.csv", "agent_states", "completed_with_errors"), ("no_ids.csv", "calls", "rejected"),
                     ("x.csv", "calls", "rejected")]


def test_a_group_coded_like_a_reserved_folder_leaves_its_files_alone(env, instance, db_url, conn, service) -> None:
    conn.execute("INSERT INTO groups (service_id, code, name) VALUES (%s, 'calls', 'A group named calls')",
                 (service["service_id"],))
    conn.commit()
    path = drop_calls(env, "S1/calls/monday.csv", call_rows(10))
    log = Collect()
    first = tick(instance, db_url, None, log)
    second = tick(instance, db_url, first.cursor, log)
    assert second.run_requests == [] and second.asset_events == [] and path.exists()
    (warning,) = [m for m in log.messages if "S1/calls/monday.csv" in m]   # said once, not every tick
    assert "has a group coded 'calls'" in warning and "nothing imported" in warning
    assert conn.execute("SELECT count(*) FROM import_batches").fetchone()[0] == 0

    # the ambiguity resolved (group renamed): the file is imported as call records
    conn.execute("UPDATE groups SET code = 'calls_g' WHERE code = 'calls'")
    conn.commit()
    third = tick(instance, db_url, second.cursor)
    fourth = tick(instance, db_url, third.cursor)
    (request,) = third.run_requests + fourth.run_requests
    assert request.job_name == "call_file_import" and request.partition_key.startswith("S1/calls/monday.csv@")


# ------------------------------------------------------------------ the agent_activity checks
def import_calls(env, instance, db_url, rows, name: str = "monday.csv") -> dg.ExecuteInProcessResult:
    path = drop_calls(env, f"S1/calls/{name}", rows)
    key = landing.partition_key("S1", None, name, file_sha256(path), kind="calls")
    instance.add_dynamic_partitions("call_files", [key])
    result = dg.materialize([call_file_import], partition_key=key, instance=instance,
                            resources={"wfm_db": WfmDatabase(url=db_url)})
    assert result.success
    return result


def judge_month(instance, db_url) -> dict[str, dg.AssetCheckEvaluation]:
    result = dg.materialize([agent_activity], partition_key=MONTH, instance=instance,
                            resources={"wfm_db": WfmDatabase(url=db_url)})
    assert result.success
    return check_evaluations(result)


def test_the_checks_pass_on_good_data_and_fail_on_planted_inconsistencies(env, instance, db_url, conn) -> None:
    import_calls(env, instance, db_url, call_rows(120))
    # a correction of some calls (a second batch replaces their versions) keeps everything consistent
    corrected = [dict(r, outcome="abandoned", answered_at="", agent="", wrap_up_seconds="")
                 for r in call_rows(120)[:15] if r["outcome"].strip().lower() == "answered"]
    later = import_calls(env, instance, db_url, corrected, "correction.csv")
    assert all(e.passed for e in later.get_asset_check_evaluations())
    good = judge_month(instance, db_url)
    assert good[INTERVALS_CHECK].passed and good[HANDLED_CHECK].passed
    compared = good[INTERVALS_CHECK].metadata["intervals_compared"].value
    assert compared == conn.execute(
        """SELECT count(*) FROM contact_statistics cs JOIN import_batches b USING (import_batch_id)
           WHERE b.kind = 'calls'""").fetchone()[0] > 0

    # 1. a derived interval that no longer adds up to its calls
    iv, = conn.execute(
        """UPDATE contact_statistics SET non_unique_incoming = non_unique_incoming + 1
           WHERE (interval_start_time, service_id) = (
               SELECT interval_start_time, service_id FROM contact_statistics
               WHERE group_id IS NULL AND answered_calls > 0 ORDER BY interval_start_time LIMIT 1)
             AND group_id IS NULL
           RETURNING interval_start_time""").fetchone()
    conn.commit()
    bad = judge_month(instance, db_url)
    assert not bad[INTERVALS_CHECK].passed and bad[HANDLED_CHECK].passed
    assert bad[INTERVALS_CHECK].severity == dg.AssetCheckSeverity.ERROR
    assert bad[INTERVALS_CHECK].metadata["intervals_mismatched"].value == 1
    (example,) = bad[INTERVALS_CHECK].metadata["first_mismatches"].value.records
    assert example.data["stored_offered"] == example.data["calls_offered"] + 1
    assert example.data["interval_start"].startswith(iv.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M"))
    conn.execute("UPDATE contact_statistics SET non_unique_incoming = non_unique_incoming - 1 "
                 "WHERE interval_start_time = %s AND group_id IS NULL", (iv,))
    conn.commit()

    # 2. an interval with calls whose derived row is gone
    conn.execute("DELETE FROM contact_statistics WHERE interval_start_time = %s", (iv,))
    conn.commit()
    missing = judge_month(instance, db_url)[INTERVALS_CHECK]
    assert not missing.passed and missing.metadata["intervals_mismatched"].value >= 1
    assert any(r.data["stored_offered"] is None for r in missing.metadata["first_mismatches"].value.records)

    # 3. calls handled that do not sum to the answered calls with an agent
    conn.execute("""UPDATE agent_activity SET calls_handled = calls_handled + 2
                    WHERE (agent_id, interval_start_time) = (SELECT agent_id, interval_start_time FROM agent_activity
                                                             WHERE calls_handled > 0 LIMIT 1)""")
    conn.commit()
    handled = judge_month(instance, db_url)[HANDLED_CHECK]
    assert not handled.passed and handled.metadata["intervals_mismatched"].value == 1
    (example,) = handled.metadata["first_mismatches"].value.records
    assert example.data["calls_handled"] == example.data["answered_with_agent"] + 2


def test_an_argus_file_over_call_intervals_is_not_a_mismatch(env, instance, db_url, conn) -> None:
    """Latest applied batch wins: an Argus row over a call-derived interval is by design."""
    import_calls(env, instance, db_url, call_rows(60))
    iv = conn.execute("SELECT min(interval_start_time) FROM contact_statistics").fetchone()[0]
    from wfm_pipeline.argus import steps
    from wfm_pipeline_tests.argus_files import write_csv
    local = iv.astimezone(dt.timezone(dt.timedelta(hours=1))).replace(tzinfo=None)   # Berlin in January
    path = write_csv(env.landing_dir.parent / "argus.csv", [[local, 1, 1, 60, 10]])
    with psycopg.connect(db_url) as other:
        assert steps.import_file(other, path, "S1").status == "completed"
    kind = conn.execute("""SELECT b.kind FROM contact_statistics cs JOIN import_batches b USING (import_batch_id)
                           WHERE cs.interval_start_time = %s AND cs.group_id IS NULL""", (iv,)).fetchone()[0]
    assert kind == "intervals"
    checks = judge_month(instance, db_url)
    assert checks[INTERVALS_CHECK].passed and checks[HANDLED_CHECK].passed
