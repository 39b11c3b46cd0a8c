"""The ingest assets materialized with dg.materialize() against a real database and real files."""

import os
from datetime import datetime
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from wfm_pipeline.defs.resources import WfmDatabase
from wfm_pipeline.argus.reader import file_sha256
from wfm_pipeline.argus import landing
from wfm_pipeline.defs.ingest import contact_statistics
from wfm_pipeline.defs.sensors import argus_landing_sensor
from wfm_pipeline.settings import get_settings
from wfm_pipeline_tests.dagster_files import FILE_ASSETS, ROWS, materialization, register, run_file, write_xlsx


@pytest.fixture
def settings(wfm_env: Path, service: dict):
    s = get_settings()
    s.landing_dir.mkdir(parents=True)
    return s


@pytest.fixture
def instance():
    inst = dg.DagsterInstance.ephemeral()
    yield inst
    inst.dispose()


def test_raw_file_and_validated_report_hash_counts_errors_and_months(settings, instance, db_url) -> None:
    path = write_xlsx(settings.landing_dir / "S1" / "G1" / "jan.xlsx", ROWS)
    sha, size = file_sha256(path), path.stat().st_size
    key = register(instance, path, "S1", "G1")
    result = dg.materialize(FILE_ASSETS, partition_key=key, instance=instance,
                            resources={"wfm_db": WfmDatabase(url=db_url)})
    assert result.success

    raw = materialization(result, "argus_raw_file")
    (archived,) = settings.archive_dir.glob("S1/*/*/jan.xlsx")
    assert raw["sha256"].value == sha
    assert raw["bytes"].value == size
    assert raw["file_path"].value == str(archived)  # where the file is now, not where it landed
    assert (raw["found_in"].value, raw["location"].value) == ("landing", "archive")
    assert (raw["service"].value, raw["group"].value) == ("S1", "G1")

    validated = materialization(result, "argus_validated")
    assert (validated["rows_total"].value, validated["rows_valid"].value, validated["rows_rejected"].value) == (4, 3, 1)
    assert validated["first_interval"].value == "2024-01-31T22:30:00+00:00"
    assert validated["last_interval"].value == "2024-03-01T09:00:00+00:00"
    assert validated["months_touched"].value == ["2024-01-01", "2024-03-01"]
    (error,) = validated["first_errors"].value.records
    assert error.data["row"] == 5 and error.data["code"] == "UNIQUE_EXCEEDS_NON_UNIQUE"
    assert error.data["column"] == "B" and error.data["value"] == "9"

    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == "all_rows_valid" and not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert "UNIQUE_EXCEEDS_NON_UNIQUE" in check.metadata["first_errors"].value
    assert check.metadata["errors_by_code"].value == {"UNIQUE_EXCEEDS_NON_UNIQUE": 1}


def test_the_file_is_read_once_and_nothing_is_pickled(settings, instance, db_url, monkeypatch) -> None:
    path = write_xlsx(settings.landing_dir / "S1" / "G1" / "jan.xlsx", ROWS)
    key = register(instance, path, "S1", "G1")
    storage = Path(instance.storage_directory())
    legacy = storage / "argus_validated" / "S1" / "G1" / "old.xlsx@0123456789ab"  # left by the former assets
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(b"pickle")
    opened: list[str] = []
    real_open = os.open

    def counting_open(file, flags, *args, **kwargs):
        if os.path.realpath(file) == os.path.realpath(path):
            opened.append(file)
        return real_open(file, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", counting_open)
    result = dg.materialize(FILE_ASSETS, partition_key=key, instance=instance,
                            resources={"wfm_db": WfmDatabase(url=db_url)})
    monkeypatch.undo()
    assert result.success and materialization(result, "argus_import_batch")["status"].value == "completed_with_errors"
    assert len(opened) == 1  # located, hashed, parsed: from one read
    assert not (storage / "argus_validated").exists() and not (storage / "argus_raw_file").exists()
    assert not list(storage.rglob("*jan.xlsx*"))  # no pickled frame or file object


def rejected_run(result: dg.ExecuteInProcessResult) -> None:
    """An expected rejection: the run succeeds (nothing shows red), the step never failed."""
    assert result.success
    assert not [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]


def test_an_unreadable_file_is_a_rejected_materialization_and_moves_to_rejected(settings, instance, db_url,
                                                                                conn) -> None:
    path = settings.landing_dir / "S1" / "broken.xlsx"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PK\x03\x04 this is not really a workbook")
    key = register(instance, path, "S1", None)
    result = run_file(instance, key, db_url)
    rejected_run(result)
    assert not path.exists()
    target = settings.rejected_dir / "S1" / "broken.xlsx"
    (line,) = landing.read_errors_csv(Path(f"{target}.errors.csv"))
    assert line["code"] == "FILE_UNREADABLE" and "broken.xlsx" in line["message"]

    batch = materialization(result, "argus_import_batch")
    assert batch["status"].value == "rejected" and "FILE_UNREADABLE" in str(batch["first_errors"].value.records)
    assert batch["rejected_to"].value == str(target)
    validated = materialization(result, "argus_validated")
    assert (validated["status"].value, validated["error_code"].value) == ("rejected", "FILE_UNREADABLE")
    assert materialization(result, "argus_raw_file")["file_path"].value == str(target)
    (check,) = result.get_asset_check_evaluations()
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert "FILE_UNREADABLE" in check.metadata["first_errors"].value
    status, code, moved_to = conn.execute(
        """SELECT b.status, e.error_code, b.details ->> 'moved_to'
           FROM import_batches b JOIN import_errors e USING (import_batch_id)
           WHERE b.import_batch_id = %s""", (batch["import_batch_id"].value,)).fetchone()
    assert (status, code, moved_to) == ("rejected", "FILE_UNREADABLE", str(target))

    # Re-executing it names where the file went.
    again = run_file(instance, key, db_url)
    assert not again.success
    failure = next(e for e in again.all_events if e.event_type_value == "STEP_FAILURE")
    assert str(target) in failure.event_specific_data.error.message


def test_a_too_narrow_file_after_a_good_import_leaves_the_good_import_green(settings, instance, db_url, conn) -> None:
    good = write_xlsx(settings.landing_dir / "S1" / "G1" / "jan.xlsx", ROWS)
    first = run_file(instance, register(instance, good, "S1", "G1"), db_url)
    assert first.success
    narrow = write_xlsx(settings.landing_dir / "S1" / "G1" / "narrow.xlsx",
                        [(datetime(2024, 1, 5, 10, 0), 1, 2)])
    result = run_file(instance, register(instance, narrow, "S1", "G1"), db_url)
    rejected_run(result)
    batch = materialization(result, "argus_import_batch")
    assert batch["status"].value == "rejected"
    assert "TOO_FEW_COLUMNS" in str(batch["first_errors"].value.records)
    (check,) = result.get_asset_check_evaluations()
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.description.startswith("file rejected: ")
    assert (settings.rejected_dir / "S1" / "G1" / "narrow.xlsx").exists()
    # Every run succeeded: the catalog shows the good import as the good import, not as failed.
    assert {r.dagster_run.status for r in instance.get_run_records()} == {dg.DagsterRunStatus.SUCCESS}
    assert instance.get_materialized_partitions(dg.AssetKey("contact_statistics")) == {"2024-01-01", "2024-03-01"}


def test_a_partition_whose_file_is_gone_fails_with_a_clear_message(settings, instance, db_url) -> None:
    key = "S1/_/gone.csv@0123456789ab"
    instance.add_dynamic_partitions("argus_files", [key])
    result = dg.materialize(FILE_ASSETS, partition_key=key, instance=instance,
                            resources={"wfm_db": WfmDatabase(url=db_url)}, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "no file for partition 'S1/_/gone.csv@0123456789ab'" in failure.event_specific_data.error.message


def stats_rows(conn: psycopg.Connection) -> list[tuple]:
    conn.rollback()
    return conn.execute(
        """SELECT to_char(interval_start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), unique_incoming,
                  non_unique_incoming, import_batch_id::text
           FROM contact_statistics ORDER BY 1""").fetchall()


def test_file_import_loads_archives_and_reports_the_months_it_touched(settings, instance, db_url, conn) -> None:
    path = write_xlsx(settings.landing_dir / "S1" / "G1" / "jan.xlsx", ROWS)
    sha = file_sha256(path)
    key = register(instance, path, "S1", "G1")
    result = run_file(instance, key, db_url)
    assert result.success

    loaded = materialization(result, "argus_import_batch")
    batch_id = loaded["import_batch_id"].value
    assert loaded["status"].value == "completed_with_errors"
    assert (loaded["rows_total"].value, loaded["rows_inserted"].value, loaded["rows_updated"].value,
            loaded["rows_rejected"].value) == (4, 3, 0, 1)
    assert batch_id in loaded["show_batch"].value
    assert instance.get_run_by_id(result.run_id).tags["wfm/import_batch_id"] == batch_id

    assert stats_rows(conn) == [("2024-01-31 22:30", 3, 4, batch_id), ("2024-01-31 22:45", 2, 2, batch_id),
                                ("2024-03-01 09:00", 1, 1, batch_id)]
    status, sha_db, errors = conn.execute(
        """SELECT status, file_sha256, (SELECT count(*) FROM import_errors e WHERE e.import_batch_id = b.import_batch_id)
           FROM import_batches b WHERE import_batch_id = %s""", (batch_id,)).fetchone()
    assert (status, sha_db, errors) == ("completed_with_errors", sha, 1)

    january = materialization(result, "contact_statistics", "2024-01-01")
    assert january["dagster/row_count"].value == 2 and january["import_batch_id"].value == batch_id
    assert materialization(result, "contact_statistics", "2024-03-01")["dagster/row_count"].value == 1
    materialized = instance.get_materialized_partitions(dg.AssetKey("contact_statistics"))
    assert materialized == {"2024-01-01", "2024-03-01"}

    assert not path.exists()  # imported files move to archive/<service>/<yyyy>/<mm>/
    (archived,) = settings.archive_dir.glob("S1/*/*/jan.xlsx")
    assert file_sha256(archived) == sha
    assert loaded["archived_to"].value == str(archived)

    # The partition still resolves (from the archive); the same content again is a duplicate.
    again = run_file(instance, key, db_url)
    assert again.success
    duplicate = materialization(again, "argus_import_batch")
    assert duplicate["status"].value == "duplicate" and duplicate["duplicate_of"].value == batch_id
    assert materialization(again, "argus_raw_file")["location"].value == "archive"
    assert len(stats_rows(conn)) == 3 and archived.exists()


def test_strict_mode_imports_nothing_and_moves_the_file_to_rejected(settings, instance, db_url, conn) -> None:
    path = write_xlsx(settings.landing_dir / "S1" / "G1" / "jan.xlsx", ROWS)
    key = register(instance, path, "S1", "G1")
    result = run_file(instance, key, db_url, strict=True)
    rejected_run(result)
    batch = materialization(result, "argus_import_batch")
    assert (batch["status"].value, batch["rows_rejected"].value, batch["strict"].value) == ("rejected", 4, True)
    (check,) = result.get_asset_check_evaluations()
    assert not check.passed
    assert stats_rows(conn) == []
    status, rejected = conn.execute("SELECT status, rows_rejected FROM import_batches").fetchone()
    assert (status, rejected) == ("rejected", 4)

    target = settings.rejected_dir / "S1" / "G1" / "jan.xlsx"
    assert target.exists() and not path.exists()
    codes = [(line["row"], line["code"]) for line in landing.read_errors_csv(Path(f"{target}.errors.csv"))]
    assert codes == [("5", "UNIQUE_EXCEEDS_NON_UNIQUE"), ("", "STRICT_MODE")]


def test_a_month_materialization_rebuilds_it_from_the_history(settings, instance, db_url, conn) -> None:
    path = write_xlsx(settings.landing_dir / "S1" / "G1" / "jan.xlsx", ROWS)
    first = run_file(instance, register(instance, path, "S1", "G1"), db_url)
    batch_1 = materialization(first, "argus_import_batch")["import_batch_id"].value
    # A correction file for one January interval: the newest batch wins that interval.
    fix = write_xlsx(settings.landing_dir / "S1" / "G1" / "jan-fix.xlsx",
                     [ROWS[0], (datetime(2024, 1, 31, 23, 45), 7, 8, 90, 10)])
    second = run_file(instance, register(instance, fix, "S1", "G1"), db_url)
    batch_2 = materialization(second, "argus_import_batch")["import_batch_id"].value
    assert materialization(second, "argus_import_batch")["rows_updated"].value == 1

    conn.execute("DELETE FROM contact_statistics WHERE interval_start_time < '2024-02-01T00:00Z'")
    conn.commit()  # January lost: the history has everything needed to rebuild it
    result = dg.materialize([contact_statistics], partition_key="2024-01-01", instance=instance,
                            resources={"wfm_db": WfmDatabase(url=db_url)})
    assert result.success
    meta = materialization(result, "contact_statistics")
    assert meta["dagster/row_count"].value == 2 and meta["rows_deleted_before_rebuild"].value == 0
    fed = {r.data["import_batch_id"]: r.data for r in meta["batches_that_fed_the_month"].value.records}
    assert fed[batch_1]["rows_in_history"] == 2 and fed[batch_1]["rows_current"] == 1
    assert fed[batch_2]["rows_in_history"] == 1 and fed[batch_2]["rows_current"] == 1
    assert stats_rows(conn)[:2] == [("2024-01-31 22:30", 3, 4, batch_1), ("2024-01-31 22:45", 7, 8, batch_2)]


def test_landing_sensor_run_and_restart_import_a_file_once(settings, instance, db_url, conn, monkeypatch) -> None:
    monkeypatch.setenv("WFM_LANDING_SETTLE_SECONDS", "0")
    path = write_xlsx(settings.landing_dir / "S1" / "march.xlsx", [ROWS[0], ROWS[5]])
    content = path.read_bytes()  # (openpyxl stamps the time into a workbook: copy bytes, not rows)

    def tick(cursor):
        return argus_landing_sensor(dg.build_sensor_context(
            instance=instance, cursor=cursor, resources={"wfm_db": WfmDatabase(url=db_url)}))

    requested = tick(tick(None).cursor)
    (request,) = requested.run_requests
    for partitions in requested.dynamic_partitions_requests:  # what the daemon does
        instance.add_dynamic_partitions(partitions.partitions_def_name, list(partitions.partition_keys))
    result = dg.materialize(FILE_ASSETS, partition_key=request.partition_key, tags=request.tags,
                            instance=instance, resources={"wfm_db": WfmDatabase(url=db_url)})
    assert result.success and not path.exists()
    assert len(stats_rows(conn)) == 1

    # Restart with a lost cursor and the same content dropped again under another name.
    (settings.landing_dir / "S1" / "march-copy.xlsx").write_bytes(content)
    after = tick(tick(None).cursor)
    assert after.run_requests == []
    assert not (settings.landing_dir / "S1" / "march-copy.xlsx").exists()
    assert sorted(p.name for p in settings.archive_dir.glob("S1/*/*/*")) == ["march-copy.xlsx", "march.xlsx"]
    assert conn.execute("SELECT count(*) FROM import_batches").fetchone()[0] == 1


def test_a_file_without_a_single_valid_row_fails_the_check_with_error_severity(settings, instance, db_url, conn) -> None:
    path = write_xlsx(settings.landing_dir / "S1" / "bad.xlsx",
                      [ROWS[0], (datetime(2024, 1, 5, 10, 7), 1, 1, 60, 10), ("05.01.2024 10:15:00", -1, 2, 60, 10)])
    result = run_file(instance, register(instance, path, "S1", None), db_url)
    assert result.success  # valid-rows policy: the batch is recorded, with its errors, and nothing loaded
    (check,) = result.get_asset_check_evaluations()
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["errors_by_code"].value == {"MISALIGNED_INTERVAL": 1, "NEGATIVE_VALUE": 1}
    loaded = materialization(result, "argus_import_batch")
    assert (loaded["status"].value, loaded["rows_rejected"].value, loaded["rows_inserted"].value) == (
        "completed_with_errors", 2, 0)
    assert instance.get_materialized_partitions(dg.AssetKey("contact_statistics")) == set()
    assert stats_rows(conn) == [] and not path.exists()


def test_a_failed_import_fails_the_step_with_its_reason_and_leaves_the_file(settings, instance, db_url, conn,
                                                                            monkeypatch, no_hang) -> None:
    monkeypatch.setenv("WFM_IMPORT_LOCK_TIMEOUT_MS", "200")
    monkeypatch.setenv("WFM_IMPORT_RETRIES", "0")
    path = write_xlsx(settings.landing_dir / "S1" / "G1" / "jan.xlsx", ROWS)
    key = register(instance, path, "S1", "G1")
    with psycopg.connect(db_url) as blocker:  # readers pass; the load's ROW EXCLUSIVE lock waits and times out
        blocker.execute("LOCK TABLE wfm.contact_statistics IN SHARE MODE")
        result = run_file(instance, key, db_url)
        blocker.rollback()
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.event_specific_data.error.message
    assert "lock wait timed out" in message and str(path) in message
    assert failure.event_specific_data.error.cause is None  # the reason, not a chain of tracebacks
    assert path.exists()  # stays for a re-execution
    conn.rollback()
    assert conn.execute("SELECT status FROM import_batches").fetchall() == [("failed",)]


def test_step_failures_never_carry_terminal_controls_from_a_file_name(settings, instance, db_url, conn,
                                                                      monkeypatch, no_hang) -> None:
    # The run worker prints a step failure on the console of `wfm dev`: a name with an OSC/CSI
    # sequence (here: retitle the terminal, turn it red) or a bidi override reached it raw.
    monkeypatch.setenv("WFM_IMPORT_LOCK_TIMEOUT_MS", "200")
    monkeypatch.setenv("WFM_IMPORT_RETRIES", "0")
    name = "jan\x1b]0;pwned\x07\x1b[31m\u202eRED.xlsx"
    controls = ("\x1b", "\x07", "\u202e")

    def failure_of(result: dg.ExecuteInProcessResult):
        assert not result.success
        event = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE").event_specific_data
        return event.error.message, event.user_failure_data.metadata

    path = write_xlsx(settings.landing_dir / "S1" / "G1" / name, ROWS)
    key = register(instance, path, "S1", "G1")
    with psycopg.connect(db_url) as blocker:  # the load's lock times out: a failed import
        blocker.execute("LOCK TABLE wfm.contact_statistics IN SHARE MODE")
        message, metadata = failure_of(run_file(instance, key, db_url))
        blocker.rollback()
    assert "lock wait timed out" in message and "jan\\x1b]0;pwned\\x07\\x1b[31m\\u202eRED.xlsx" in message
    assert not any(c in message or c in metadata["reason"].value for c in controls)
    assert path.exists()

    unknown = write_xlsx(settings.landing_dir / "S1" / "G9" / name, ROWS)  # no group G9: rejected ...
    key = register(instance, unknown, "S1", "G9")
    assert run_file(instance, key, db_url).success and not unknown.exists()
    message, _ = failure_of(run_file(instance, key, db_url))  # ... and re-executed: "it was rejected: <path>"
    assert "it was rejected" in message and not any(c in message for c in controls)


@pytest.mark.parametrize("strict", [False, True], ids=["archived", "rejected"])
def test_a_folder_swapped_for_a_symlink_out_during_the_import_never_moves_the_file_there(
        settings, instance, db_url, conn, tmp_path, monkeypatch, strict: bool) -> None:
    # The load takes seconds; if S1/G1 is replaced meanwhile by a symlink to another folder holding
    # a file of the same name, the move to archive/ (or rejected/) renamed *that* file.
    from wfm_pipeline.argus import steps

    path = write_xlsx(settings.landing_dir / "S1" / "G1" / "jan.xlsx", ROWS)
    key = register(instance, path, "S1", "G1")
    outside = tmp_path / "outside"
    bystander = write_xlsx(outside / "jan.xlsx", ROWS[:3])
    before = bystander.read_bytes()
    analyze = steps.analyze

    def swap_then_analyze(*args, **kwargs):  # between the load and the move (the race, made deterministic)
        os.rename(settings.landing_dir / "S1" / "G1", tmp_path / "G1-moved-away")
        os.symlink(outside, settings.landing_dir / "S1" / "G1")
        return analyze(*args, **kwargs)

    monkeypatch.setattr(steps, "analyze", swap_then_analyze)
    result = run_file(instance, key, db_url, strict=strict)
    assert result.success
    loaded = materialization(result, "argus_import_batch")
    assert loaded["status"].value == ("rejected" if strict else "completed_with_errors")
    assert "outside" in loaded["move_error"].value
    assert bystander.read_bytes() == before  # left where it is, untouched
    assert (tmp_path / "G1-moved-away" / "jan.xlsx").exists()
    assert not list(settings.archive_dir.rglob("*.xlsx")) and not list(settings.rejected_dir.rglob("*.xlsx"))


def test_a_file_still_being_written_during_its_import_stays_in_the_landing_folder(
        settings, instance, db_url, conn, monkeypatch) -> None:
    # A copy that paused longer than the settle time: the import read the first part, the writer
    # went on appending, and the move put the whole file in archive/ as if it had been imported.
    from wfm_pipeline.argus import steps

    path = settings.landing_dir / "S1" / "G1" / "march.csv"
    path.parent.mkdir(parents=True)
    path.write_text("Start;Unique;NonUnique;Talk;Post\n01.03.2024 00:00:00;3;4;120;30\n")
    key = register(instance, path, "S1", "G1")
    analyze = steps.analyze

    def append_then_analyze(*args, **kwargs):  # the writer goes on while the import runs
        with path.open("a") as fh:
            fh.write("01.03.2024 00:15:00;2;2;100;20\n")
        return analyze(*args, **kwargs)

    monkeypatch.setattr(steps, "analyze", append_then_analyze)
    result = run_file(instance, key, db_url)
    assert result.success
    loaded = materialization(result, "argus_import_batch")
    assert (loaded["status"].value, loaded["rows_inserted"].value) == ("completed", 1)
    assert "changed since it was read" in loaded["move_error"].value
    assert path.read_text().count("\n") == 3  # left for the sensor, which sees the new size and imports it
    assert not settings.archive_dir.exists()
    monkeypatch.setenv("WFM_LANDING_SETTLE_SECONDS", "0")
    resources = {"wfm_db": WfmDatabase(url=db_url)}
    first = argus_landing_sensor(dg.build_sensor_context(instance=instance, resources=resources))
    second = argus_landing_sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor, resources=resources))
    assert [r.partition_key for r in second.run_requests] == [register(instance, path, "S1", "G1")]
