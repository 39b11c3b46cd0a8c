"""argus_landing_sensor ticks with build_sensor_context against a real database and real files."""

import json
import logging
import os
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from wfm_pipeline.defs.resources import WfmDatabase
from wfm_pipeline.defs.instance import SERVICE_TAG
from wfm_pipeline.argus.reader import file_sha256
from wfm_pipeline.argus import landing
from wfm_pipeline.defs.sensors import (Seen, argus_landing_sensor, dump_cursor, load_cursor,
                                        load_skipped, observe)
from wfm_pipeline.settings import get_settings

CSV = ("Start;Unique;NonUnique;Talk;Post\n"
       "01.03.2024 00:00:00;3;4;120;30\n"
       "01.03.2024 00:15:00;2;2;100;20\n")


@pytest.fixture
def env(wfm_env: Path, db_url: str, service: dict, monkeypatch: pytest.MonkeyPatch):
    """WFM_HOME with a landing folder; files settle after two ticks (no wall-clock wait)."""
    monkeypatch.setenv("WFM_LANDING_SETTLE_SECONDS", "0")
    settings = get_settings()
    settings.landing_dir.mkdir(parents=True)
    return settings


@pytest.fixture
def tick(db_url: str):
    instance = dg.DagsterInstance.ephemeral()

    def run(cursor: str | None) -> dg.SensorResult:
        context = dg.build_sensor_context(instance=instance, cursor=cursor,
                                          resources={"wfm_db": WfmDatabase(url=db_url)})
        return argus_landing_sensor(context)

    yield run
    instance.dispose()


def drop(settings, rel: str, content: str | bytes = CSV) -> Path:
    path = settings.landing_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return path


def test_a_new_file_becomes_exactly_one_run_once_settled(env, tick) -> None:
    path = drop(env, "S1/G1/march.csv")
    first = tick(None)
    assert first.run_requests == [] and "settle" in first.skip_reason.skip_message

    second = tick(first.cursor)
    (request,) = second.run_requests
    key = landing.partition_key("S1", "G1", "march.csv", file_sha256(path))
    assert request.partition_key == key == request.run_key
    assert key.startswith("S1/G1/march.csv@") and len(key.rsplit("@", 1)[1]) == 12
    assert request.tags["wfm/landing_file"] == "S1/G1/march.csv"
    assert request.tags[SERVICE_TAG] == "S1"   # the run queue's one-run-per-service limit keys on it
    assert request.run_config == {"ops": {"argus_import_batch": {"config": {"strict": False}}}}
    (partitions,) = second.dynamic_partitions_requests
    assert partitions.partitions_def_name == "argus_files" and list(partitions.partition_keys) == [key]

    third = tick(second.cursor)  # the run is pending or running: the file is not requested again
    assert third.run_requests == [] and third.dynamic_partitions_requests == []
    assert path.exists()  # the run, not the sensor, archives an imported file


def test_a_half_written_file_is_not_read_until_size_and_mtime_are_stable(env, tick) -> None:
    lines = CSV.splitlines(keepends=True)
    path = drop(env, "S1/growing.csv", "".join(lines[:2]))
    result = tick(None)
    assert result.run_requests == []

    with path.open("a") as fh:  # the copy goes on between ticks
        fh.write(lines[2])
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    result = tick(result.cursor)
    assert result.run_requests == []
    assert load_cursor(result.cursor)["S1/growing.csv"].size == len(CSV.encode())

    result = tick(result.cursor)
    (request,) = result.run_requests  # hashed only now: the key names the complete content
    assert request.partition_key == landing.partition_key("S1", None, "growing.csv", file_sha256(path))
    assert request.partition_key.startswith("S1/_/growing.csv@")


def test_settling_waits_for_the_configured_quiet_time() -> None:
    f = landing.LandedFile(Path("/x/S1/a.csv"), "S1/a.csv", "S1", None, 10, 5)
    settled, state = observe([f], {}, now=100.0, settle=20)
    assert settled == [] and state["S1/a.csv"].since == 100.0
    settled, state = observe([f], state, now=110.0, settle=20)      # unchanged, but only 10 s
    assert settled == []
    settled, state = observe([f], state, now=121.0, settle=20)
    assert settled == [f]
    state["S1/a.csv"].key = "S1/_/a.csv@0123456789ab"
    settled, state = observe([f], state, now=200.0, settle=20)      # requested: never again
    assert settled == []
    settled, state = observe([], state, now=201.0, settle=20)       # gone: forgotten
    assert state == {}


def test_cursor_round_trips_and_a_foreign_cursor_starts_afresh() -> None:
    state = {"S1/a.csv": Seen(1, 2, 3.0, "S1/_/a.csv@0123456789ab")}
    assert load_cursor(dump_cursor(state)) == state
    assert json.loads(dump_cursor(state))["v"] == 1
    assert load_cursor("not json") == {} and load_cursor('{"v": 99}') == {} and load_cursor(None) == {}


def test_strict_landing_imports_are_switched_on_by_the_environment(env, tick, monkeypatch) -> None:
    monkeypatch.setenv("WFM_LANDING_STRICT", "true")
    drop(env, "S1/march.csv")
    (request,) = tick(tick(None).cursor).run_requests
    assert request.run_config == {"ops": {"argus_import_batch": {"config": {"strict": True}}}}


def test_a_cursor_reset_requests_the_same_run_key_again(env, tick) -> None:
    drop(env, "S1/G1/march.csv")
    before = tick(tick(None).cursor).run_requests[0]
    after = tick(tick(None).cursor).run_requests[0]   # restart with the cursor lost
    # Dagster skips a run key it has seen, and the import recognises the sha256 as duplicate.
    assert after.run_key == before.run_key == before.partition_key


@pytest.mark.parametrize(("rel", "code", "needle"), [
    ("NOPE/march.csv", "UNKNOWN_SERVICE", "unknown service 'NOPE'"),
    ("S1/G9/march.csv", "UNKNOWN_GROUP", "unknown group 'G9'"),
    ("march.csv", "UNKNOWN_SERVICE", "<landing>/<service_code>/"),
])
def test_a_file_of_an_unknown_service_or_group_moves_to_rejected_with_errors_csv(
        env, tick, conn: psycopg.Connection, rel, code, needle) -> None:
    path = drop(env, rel)
    result = tick(tick(None).cursor)
    assert result.run_requests == []
    assert not path.exists()
    target = env.rejected_dir / rel
    assert target.read_bytes() == CSV.encode()          # kept as sent
    (line,) = landing.read_errors_csv(Path(f"{target}.errors.csv"))
    assert line["file"] == "march.csv" and line["code"] == code and needle in line["message"]
    assert load_cursor(result.cursor) == {}
    # ... and the audit trail has it, like every input
    status, file_name, sha, error_code = conn.execute(
        """SELECT b.status, b.file_name, b.file_sha256, e.error_code
           FROM import_batches b JOIN import_errors e USING (import_batch_id)""").fetchone()
    assert (status, file_name, sha, error_code) == ("rejected", "march.csv", file_sha256(target), code)
    # ... and the catalog: an observation of argus_raw_file with the error (no run, no partition)
    (event,) = result.asset_events
    assert event.asset_key == dg.AssetKey("argus_raw_file") and event.metadata["error_code"].value == code
    assert event.metadata["file_path"].value == str(target)


def test_content_already_imported_is_archived_without_a_run(env, tick, conn: psycopg.Connection, service) -> None:
    path = drop(env, "S1/again.csv")
    sha = file_sha256(path)
    batch = conn.execute(
        """INSERT INTO import_batches (source, file_name, file_sha256, service_id, status, rows_total, rows_inserted)
           VALUES ('file', 'march.csv', %s, %s, 'completed', 2, 2) RETURNING import_batch_id::text""",
        (sha, service["service_id"])).fetchone()[0]
    conn.commit()
    result = tick(tick(None).cursor)
    assert result.run_requests == [] and not path.exists()
    (archived,) = env.archive_dir.glob("S1/*/*/again.csv")
    assert file_sha256(archived) == sha
    assert batch  # the batch that holds the content


def test_lock_files_partial_downloads_and_other_types_are_ignored(env, tick) -> None:
    for rel in ("S1/~$march.xlsx", "S1/.hidden.csv", "S1/march.csv.part", "S1/notes.txt"):
        drop(env, rel)
    result = tick(tick(None).cursor)
    assert result.run_requests == [] and load_cursor(result.cursor) == {}
    assert "no new files" in result.skip_reason.skip_message


def test_the_sensor_targets_the_partitioned_file_import_job() -> None:
    from wfm_pipeline.definitions import defs

    sensor = defs.resolve_sensor_def("argus_landing_sensor")
    # one sensor, one job per kind of landed file (Argus, calls/, agents/)
    assert {t.job_name for t in sensor.targets} == {"argus_file_import", "call_file_import", "agent_states_file_import"}
    assert sensor.minimum_interval_seconds <= 30  # a new file becomes a run within a minute
    for job, partitions in (("argus_file_import", "argus_files"), ("call_file_import", "call_files"),
                            ("agent_states_file_import", "agent_state_files")):
        assert defs.resolve_job_def(job).partitions_def.name == partitions


# ------------------------------------------------------------------ hardening (issue 9)


def batch_rows(conn: psycopg.Connection) -> list[tuple]:
    conn.rollback()
    return conn.execute("SELECT status, file_name FROM import_batches ORDER BY created_at").fetchall()


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def logged_ticks(instance: dg.DagsterInstance, logs: Collect, db_url: str):
    """A tick of the landing sensor from a cursor, its warnings collected in ``logs``."""
    def tick(cursor):
        context = dg.build_sensor_context(instance=instance, cursor=cursor,
                                          resources={"wfm_db": WfmDatabase(url=db_url)})
        context.log.addHandler(logs)  # the sensor's own logger (not attached to the root logger)
        return argus_landing_sensor(context)
    return tick


def test_fifos_devices_and_symlinks_out_never_block_a_tick_and_are_reported_once(
        env, conn: psycopg.Connection, db_url: str, tmp_path: Path, no_hang) -> None:
    instance, logs = dg.DagsterInstance.ephemeral(), Collect()
    tick = logged_ticks(instance, logs, db_url)

    secret = tmp_path / "secret.csv"
    secret.write_text(CSV)
    (env.landing_dir / "S1").mkdir()
    os.mkfifo(env.landing_dir / "S1" / "pipe.csv")
    os.symlink("/dev/zero", env.landing_dir / "S1" / "zero.csv")
    os.symlink(secret, env.landing_dir / "S1" / "outside.csv")
    good = drop(env, "S1/G1/march.csv")

    first = tick(None)
    second = tick(first.cursor)
    third = tick(tick(None).cursor)  # a cursor reset reports them again, once
    instance.dispose()
    (request,) = second.run_requests  # the other file is not held up
    assert request.tags["wfm/landing_file"] == "S1/G1/march.csv"
    assert request.partition_key == landing.partition_key("S1", "G1", "march.csv", file_sha256(good))
    assert set(load_skipped(second.cursor)) == {"S1/outside.csv", "S1/pipe.csv", "S1/zero.csv"}
    assert set(load_cursor(second.cursor)) == {"S1/G1/march.csv"}
    warnings = [m for m in logs.messages if "skipped" in m]
    assert sorted(w.split(":")[0] for w in warnings) == sorted(["S1/outside.csv", "S1/pipe.csv", "S1/zero.csv"] * 2)
    assert third.run_requests[0].run_key == request.run_key
    # Not audited as batches (nothing was sent to import), not moved, never read.
    assert batch_rows(conn) == []
    assert os.path.lexists(env.landing_dir / "S1" / "pipe.csv") and (env.landing_dir / "S1" / "outside.csv").is_symlink()
    assert not env.rejected_dir.exists()


def test_a_file_dropped_again_after_its_batch_was_reverted_gets_a_new_run_key(
        env, conn: psycopg.Connection, db_url: str) -> None:
    from wfm_pipeline.argus import batches
    from wfm_pipeline.defs.ingest import argus_file_import

    instance = dg.DagsterInstance.ephemeral()
    resources = {"wfm_db": WfmDatabase(url=db_url)}

    def tick(cursor):
        return argus_landing_sensor(dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources))

    def run(request: dg.RunRequest) -> str:
        instance.add_dynamic_partitions("argus_files", [request.partition_key])
        result = dg.materialize([argus_file_import], instance=instance,
                                partition_key=request.partition_key, resources=resources)
        assert result.success
        conn.rollback()
        batch_id = conn.execute("SELECT import_batch_id FROM import_batches ORDER BY created_at DESC LIMIT 1").fetchone()[0]
        conn.rollback()
        return batch_id

    try:
        drop(env, "S1/march.csv")
        (first,) = tick(tick(None).cursor).run_requests
        batch = run(first)
        assert first.run_key == first.partition_key and not (env.landing_dir / "S1" / "march.csv").exists()
        batches.revert_batch(conn, batch)

        drop(env, "S1/march.csv")  # the README: a reverted file can be imported again
        (again,) = tick(tick(None).cursor).run_requests
        assert again.partition_key == first.partition_key       # the same file ...
        assert again.run_key == f"{first.partition_key}#1"       # ... but new work: Dagster will not skip it
        assert tick(tick(None).cursor).run_requests[0].run_key == again.run_key  # a cursor reset: same key
        run(again)
        assert [s for s, _ in batch_rows(conn)] == ["reverted", "completed"]

        drop(env, "S1/march.csv")  # imported and kept now: a duplicate, archived without a run
        assert tick(tick(None).cursor).run_requests == []
    finally:
        instance.dispose()


def test_a_long_name_in_an_unknown_service_is_rejected_once_even_across_cursor_resets(
        env, tick, conn: psycopg.Connection) -> None:
    name = "x" * 244 + ".csv"
    path = drop(env, f"NOPE/{name}")
    result = tick(tick(None).cursor)
    assert not path.exists()
    (target,) = [p for p in (env.rejected_dir / "NOPE").iterdir() if not p.name.endswith(".errors.csv")]
    assert target.name == landing.stored_name(name) and target.read_bytes() == CSV.encode()
    (line,) = landing.read_errors_csv(Path(f"{target}.errors.csv"))
    assert line["file"] == name and line["code"] == "UNKNOWN_SERVICE"
    tick(tick(None).cursor)
    tick(result.cursor)
    assert batch_rows(conn) == [("rejected", name)]


def test_a_rejection_whose_move_fails_is_recorded_once_and_completed_later(
        env, tick, conn: psycopg.Connection) -> None:
    env.rejected_dir.write_text("not a folder")  # moving into rejected/ fails
    path = drop(env, "NOPE/march.csv")
    for _ in range(3):  # ticks with cursor resets: the file is seen again each time
        tick(tick(None).cursor)
    assert path.exists()
    assert batch_rows(conn) == [("rejected", "march.csv")]

    env.rejected_dir.unlink()
    tick(tick(None).cursor)
    assert not path.exists() and (env.rejected_dir / "NOPE" / "march.csv").exists()
    (details,) = conn.execute("SELECT details FROM import_batches").fetchall()
    assert details[0]["landing_file"] == "NOPE/march.csv"
    assert details[0]["moved_to"] == str(env.rejected_dir / "NOPE" / "march.csv")
    drop(env, "NOPE/march.csv")  # a new drop after the move is a new input: audited again
    tick(tick(None).cursor)
    assert batch_rows(conn) == [("rejected", "march.csv")] * 2


def test_a_formula_file_name_is_neutralised_in_its_errors_csv(env, tick) -> None:
    name = "=cmd|' -C calc'!A0.csv"
    drop(env, f"NOPE/{name}")
    tick(tick(None).cursor)
    (line,) = landing.read_errors_csv(env.rejected_dir / "NOPE" / f"{name}.errors.csv")
    assert line["file"] == "'" + name and line["code"] == "UNKNOWN_SERVICE"
    assert not line["message"].startswith(("=", "+", "-", "@"))


def test_a_symlink_resolving_inside_the_landing_folder_is_imported_and_archived_as_a_copy(
        env, conn: psycopg.Connection, db_url: str) -> None:
    from wfm_pipeline.defs.ingest import argus_file_import

    staged = drop(env, ".staging/march.csv")  # hidden folder: not scanned itself
    link = env.landing_dir / "S1" / "march.csv"
    link.parent.mkdir()
    os.symlink("../.staging/march.csv", link)
    instance = dg.DagsterInstance.ephemeral()
    resources = {"wfm_db": WfmDatabase(url=db_url)}
    try:
        def tick(cursor):
            return argus_landing_sensor(dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources))
        (request,) = tick(tick(None).cursor).run_requests
        assert request.partition_key == landing.partition_key("S1", None, "march.csv", file_sha256(staged))
        instance.add_dynamic_partitions("argus_files", [request.partition_key])
        assert dg.materialize([argus_file_import], instance=instance,
                              partition_key=request.partition_key, resources=resources).success
    finally:
        instance.dispose()
    assert batch_rows(conn) == [("completed", "march.csv")]
    (archived,) = env.archive_dir.glob("S1/*/*/march.csv")
    assert not archived.is_symlink() and archived.read_bytes() == CSV.encode()
    assert not os.path.lexists(link) and staged.exists()  # the link went; what it pointed to is untouched


def test_names_that_are_not_utf8_are_left_in_place_and_never_stop_a_tick(
        env, conn: psycopg.Connection, db_url: str) -> None:
    # os.scandir decodes such bytes to lone surrogates, which no batch, tag or log can store:
    # the rejection of NOPE/<name> raised UnicodeEncodeError and failed every tick.
    instance, logs = dg.DagsterInstance.ephemeral(), Collect()
    tick = logged_ticks(instance, logs, db_url)

    bad_name = os.fsdecode(b"m\xe4rz.csv")  # Latin-1 bytes
    unknown = drop(env, f"NOPE/{bad_name}")
    known = drop(env, f"S1/{bad_name}")
    folder = drop(env, os.fsdecode(b"S1/G\xff/march.csv"))
    good = drop(env, "S1/G1/march.csv")
    try:
        second = tick(tick(None).cursor)
        tick(second.cursor)
    finally:
        instance.dispose()
    (request,) = second.run_requests  # the good file is not held up
    assert request.partition_key == landing.partition_key("S1", "G1", "march.csv", file_sha256(good))
    assert set(load_skipped(second.cursor)) == {"NOPE/m\\xe4rz.csv", "S1/m\\xe4rz.csv", "S1/G\\xff"}
    assert sum("not valid UTF-8" in m for m in logs.messages) == 3  # once each, with a printable name
    assert batch_rows(conn) == []
    assert unknown.exists() and known.exists() and folder.exists() and not env.rejected_dir.exists()


def test_a_landing_folder_holding_archive_and_rejected_never_takes_their_files_again(
        wfm_env: Path, db_url: str, service: dict, conn: psycopg.Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    # WFM_LANDING_DIR=$WFM_HOME: archive/ and rejected/ lie in the landing folder. Their files were
    # taken for misplaced landing files: every tick moved rejected/X to rejected/rejected/X (and
    # each .errors.csv became a rejected file of its own), and archived files left the archive.
    monkeypatch.setenv("WFM_LANDING_SETTLE_SECONDS", "0")
    monkeypatch.setenv("WFM_LANDING_DIR", str(wfm_env))
    settings = get_settings()
    archived = settings.archive_dir / "S1" / "2024" / "03" / "march.csv"
    archived.parent.mkdir(parents=True)
    archived.write_text(CSV)
    drop(settings, "NOPE/april.csv")
    instance = dg.DagsterInstance.ephemeral()
    cursor = None
    try:
        for _ in range(5):
            result = argus_landing_sensor(dg.build_sensor_context(
                instance=instance, cursor=cursor, resources={"wfm_db": WfmDatabase(url=db_url)}))
            cursor = result.cursor
            assert result.run_requests == []
    finally:
        instance.dispose()
    assert archived.read_text() == CSV
    assert sorted(p.relative_to(settings.rejected_dir).as_posix() for p in settings.rejected_dir.rglob("*")
                  if p.is_file()) == ["NOPE/april.csv", "NOPE/april.csv.errors.csv"]
    assert batch_rows(conn) == [("rejected", "april.csv")]
    assert set(load_skipped(cursor)) == {"archive", "rejected"}


def test_a_folder_swapped_for_a_symlink_out_after_the_scan_is_never_read(
        env, conn: psycopg.Connection, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Between a tick's scan and its read, S1/G1 is replaced by a symlink to a folder outside the
    # landing folder holding a file of the same name: the sensor hashed that outside file (its
    # folder no longer "held" the path, so it was read like any `wfm import` path) and asked for a run.
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "march.csv").write_text(CSV.replace(";3;4;", ";7;8;"))
    drop(env, "S1/G1/march.csv")
    instance, logs = dg.DagsterInstance.ephemeral(), Collect()
    tick = logged_ticks(instance, logs, db_url)

    scan = landing.scan

    def scan_then_swap(*args, **kwargs):  # the race, made deterministic: the swap right after the scan
        found = scan(*args, **kwargs)
        os.rename(env.landing_dir / "S1" / "G1", tmp_path / "G1-moved-away")
        os.symlink(outside, env.landing_dir / "S1" / "G1")
        return found

    try:
        first = tick(None)
        monkeypatch.setattr(landing, "scan", scan_then_swap)
        second = tick(first.cursor)
    finally:
        instance.dispose()
    assert second.run_requests == []
    assert any("S1/G1/march.csv: skipped" in m and "outside" in m for m in logs.messages)
    assert batch_rows(conn) == []
    assert (outside / "march.csv").exists() and not env.rejected_dir.exists()


def test_the_run_tag_naming_the_landing_file_carries_no_control_characters(env, tick) -> None:
    # Run tags show in the UI's run list: a bidi override there turns "xsl.csv" round, an
    # escape sequence reaches any tool that prints the tags.
    drop(env, "S1/G1/march\u202e\x1b[2J.csv")
    (request,) = tick(tick(None).cursor).run_requests
    assert request.tags["wfm/landing_file"] == "S1/G1/march\\u202e\\x1b[2J.csv"


def test_a_tick_over_its_time_budget_leaves_the_other_settled_files_to_the_next_ticks(
        env, tick, monkeypatch: pytest.MonkeyPatch) -> None:
    # A backfill of thousands of files (about 15 ms each) took one tick past Dagster's 60 s sensor
    # deadline: the tick failed with its cursor and run requests, and so did every tick after it.
    from wfm_pipeline.defs import sensors

    monkeypatch.setattr(sensors, "TICK_BUDGET_SECONDS", 0.0)  # over budget after every file
    for day in (1, 2, 3):
        drop(env, f"S1/G1/day{day}.csv", CSV.replace("01.03.2024", f"0{day}.03.2024"))
    cursor = tick(None).cursor
    seen = []
    for _ in range(4):
        result = tick(cursor)
        cursor = result.cursor
        seen.append([r.tags["wfm/landing_file"] for r in result.run_requests])
    assert seen == [["S1/G1/day1.csv"], ["S1/G1/day2.csv"], ["S1/G1/day3.csv"], []]
