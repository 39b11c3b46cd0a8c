"""First run of a new install: `wfm demo`, landing folders on `services add`/`groups add`,
`wfm dev` starting and stopping quietly, readable ages, and the test server's lease."""

from __future__ import annotations

import hashlib
import os
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from click.testing import CliRunner

from wfm_pipeline.argus import landing, steps
from wfm_pipeline.bench import demo
from wfm_pipeline.cli.common import ago
from wfm_pipeline.cli.main import cli
from wfm_pipeline.health import checks
from wfm_pipeline_tests.devserver import DevServer, wfm_env as dev_env
from wfm_pipeline_tests.server_lease import STARTED_BY_TESTS, ServerLease


def _today() -> date:
    return datetime.now(ZoneInfo(demo.DEMO_TIME_ZONE)).date()


# ---------------------------------------------------------------- landing folders
def test_services_add_and_groups_add_create_their_landing_folders(wfm_env: Path) -> None:
    runner = CliRunner()
    added = runner.invoke(cli, ["services", "add", "S9", "--name", "Nine", "--time-zone", "Europe/Berlin"])
    assert added.exit_code == 0, added.output
    landing_dir = wfm_env / "landing"
    assert (landing_dir / "S9").is_dir() and str(landing_dir / "S9") in added.output
    grouped = runner.invoke(cli, ["groups", "add", "S9", "G9", "--name", "Nine/nine"])
    assert grouped.exit_code == 0, grouped.output
    assert (landing_dir / "S9" / "G9").is_dir() and str(landing_dir / "S9" / "G9") in grouped.output


def test_service_folder_refuses_names_that_leave_the_landing_folder(tmp_path: Path) -> None:
    assert landing.service_folder(tmp_path, "S1", "G1") == tmp_path / "S1" / "G1"
    for service, group in (("..", None), ("S1", "../x"), (".hidden", None), ("", None)):
        with pytest.raises(ValueError, match="cannot name a landing folder"):
            landing.service_folder(tmp_path, service, group)


# ---------------------------------------------------------------- wfm demo
def test_demo_months_are_whole_months_up_to_yesterday() -> None:
    assert demo.demo_months(date(2026, 11, 30), 12) == [
        (date(2026, 9, 1), date(2026, 9, 30)), (date(2026, 10, 1), date(2026, 10, 31)),
        (date(2026, 11, 1), date(2026, 11, 29))]
    # On the 1st the current month has no complete day yet: no file for it.
    assert demo.demo_months(date(2026, 12, 1), 1)[-1] == (date(2026, 11, 1), date(2026, 11, 30))


def test_demo_rows_are_reproducible_complete_and_local_time() -> None:
    october = demo.demo_rows("DEMO", "sales", 800.0, "Europe/Berlin", date(2026, 10, 1), date(2026, 10, 31))
    # Every 15-minute interval of the month; the autumn DST hour (25 October) appears twice.
    assert len(october) == 31 * 96 + 4
    assert october[0][0] == datetime(2026, 10, 1, 0, 0) and october[-1][0] == datetime(2026, 10, 31, 23, 45)
    assert all(0 <= unique <= calls for _, unique, calls, _, _ in october)
    assert sum(row[2] for row in october) > 10_000
    # A day's rows do not depend on where the file is cut (the month is generated as a whole).
    first_week = demo.demo_rows("DEMO", "sales", 800.0, "Europe/Berlin", date(2026, 10, 1), date(2026, 10, 7))
    assert first_week == october[:7 * 96]
    assert hashlib.sha256(demo.xlsx_bytes(first_week)).digest() == hashlib.sha256(demo.xlsx_bytes(first_week)).digest()


def _import_landed(conn: psycopg.Connection, landing_dir: Path, folders: landing.Folders) -> list[steps.FileRun]:
    """What the sensor and the file asset do for every landed file (one run_file each)."""
    runs = []
    for f in landing.scan(landing_dir).files:
        runs.append(steps.run_file(conn, f.path, f.service_code, f.group_code, folders=folders))
    return runs


def test_demo_registers_drops_imports_cleanly_and_is_idempotent(conn: psycopg.Connection, tmp_path: Path) -> None:
    folders = landing.Folders(tmp_path / "landing", tmp_path / "archive", tmp_path / "rejected")
    today = _today()
    first = demo.run_demo(conn, folders.landing, today=today, weeks=5)
    assert first.added == ["DEMO", "DEMO/sales", "DEMO/support"]
    assert first.folders == [folders.landing / "DEMO" / "sales", folders.landing / "DEMO" / "support"]
    months = demo.demo_months(today, 5)
    assert len(first.files) == 2 * len(months) and {f.status for f in first.files} == {"dropped"}
    assert sorted(p.name for p in (folders.landing / "DEMO" / "sales").iterdir()) == sorted(
        f"DEMO_sales_{a:%Y%m%d}-{b:%Y%m%d}.xlsx" for a, b in months)

    # Run again before the sensor took them: nothing is written again.
    stamps = {f.path: f.path.stat().st_mtime_ns for f in first.files}
    again = demo.run_demo(conn, folders.landing, today=today, weeks=5)
    assert again.added == [] and {f.status for f in again.files} == {"in landing"}
    assert {f.path: f.path.stat().st_mtime_ns for f in again.files} == stamps

    # The import path takes every file without a rejected row (DST days included) and archives it.
    runs = _import_landed(conn, folders.landing, folders)
    assert {r.result.status for r in runs} == {"completed"}
    assert sum(r.result.rows_rejected for r in runs) == 0
    assert landing.scan(folders.landing).files == []
    rows = conn.execute("SELECT count(*) FROM wfm.contact_statistics").fetchone()[0]
    assert rows == sum(f.rows for f in first.files)

    # And once more after the import: the files are known, none lands again, no batch is added.
    batches = conn.execute("SELECT count(*) FROM wfm.import_batches").fetchone()[0]
    third = demo.run_demo(conn, folders.landing, today=today, weeks=5)
    assert {f.status for f in third.files} == {"imported"} and all(f.batch for f in third.files)
    assert landing.scan(folders.landing).files == []
    assert conn.execute("SELECT count(*) FROM wfm.import_batches").fetchone()[0] == batches
    conn.rollback()


def test_demo_data_passes_the_data_quality_checks(conn: psycopg.Connection, tmp_path: Path) -> None:
    folders = landing.Folders(tmp_path / "landing", tmp_path / "archive", tmp_path / "rejected")
    demo.run_demo(conn, folders.landing, today=_today(), weeks=5)
    _import_landed(conn, folders.landing, folders)
    rows = checks.run_suite(conn, "check_data_quality")
    conn.rollback()
    assert rows and [(r.check_name, r.status) for r in rows if r.status != "PASS"] == []


def test_cli_demo_says_what_it_did_and_what_to_open(wfm_env: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["demo", "--weeks", "2"])
    assert first.exit_code == 0, first.output
    assert "service DEMO (Europe/Berlin): registered" in first.output
    assert str(wfm_env / "landing" / "DEMO" / "support") in first.output
    assert re.search(r"dropped\s+DEMO/sales/DEMO_sales_\d{8}-\d{8}\.xlsx", first.output)
    assert "http://127.0.0.1:3000" in first.output and "wfm dev" in first.output
    second = runner.invoke(cli, ["demo", "--weeks", "2"])
    assert second.exit_code == 0, second.output
    assert "already registered" in second.output and "0 dropped" in second.output
    assert "Nothing new to drop." in second.output


# ---------------------------------------------------------------- readable ages
@pytest.mark.parametrize("age, text", [
    (timedelta(seconds=9.8), "9 s ago"), (timedelta(minutes=11, seconds=9.837829), "11 min ago"),
    (timedelta(hours=3), "3 h ago"), (timedelta(hours=3, minutes=5), "3 h 5 min ago"),
    (timedelta(days=1, hours=2), "1 day 2 h ago"), (timedelta(days=9), "9 days ago"),
    (timedelta(seconds=-3), "just now"), (None, "never")])
def test_ago_reads_like_people_say_it(age: timedelta | None, text: str) -> None:
    assert ago(age) == text


def test_views_status_prints_a_readable_age(wfm_env: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["views", "refresh"]).exit_code == 0
    status = runner.invoke(cli, ["views", "status"])
    assert status.exit_code == 0, status.output
    assert re.search(r"\(\d+ s ago\) in \d+ ms", status.output), status.output
    assert not re.search(r"\d:\d\d:\d\d\.\d+", status.output)   # no raw timedelta


# ---------------------------------------------------------------- the test server's lease
def test_server_lease_stops_only_a_server_the_suite_started_when_the_last_session_ends(tmp_path: Path) -> None:
    home = tmp_path / "test-home"           # no server runs here: stop() reports "was not running"
    mine = ServerLease(home)
    mine.take()
    marker = home / ".sessions" / STARTED_BY_TESTS
    assert marker.exists() and mine.mine.exists()
    other = home / ".sessions" / str(os.getppid())    # a live process: another pytest run
    other.touch()
    assert mine.give_back() is False and marker.exists() and not mine.mine.exists()
    other.unlink()
    stale = home / ".sessions" / "999999999"          # a run that died without giving its lease back
    stale.touch()
    mine.take()
    assert mine.give_back() is False                  # stop() found no server running
    assert not marker.exists() and not stale.exists()


def test_server_lease_leaves_a_server_it_did_not_start(tmp_path: Path) -> None:
    home = tmp_path / "test-home"
    lease = ServerLease(home)
    (home / ".sessions").mkdir(parents=True)
    (home / "pg").mkdir()
    (home / "pg" / "postmaster.pid").write_text(f"{os.getpid()}\n")   # "running", started before the run
    lease.take()
    assert not (home / ".sessions" / STARTED_BY_TESTS).exists()
    assert lease.give_back() is False


# ---------------------------------------------------------------- wfm dev
def test_wfm_dev_serves_and_stops_quietly_on_ctrl_c(db_url: str, tmp_path: Path) -> None:
    """Ctrl-C ends `wfm dev` with status 0, no "Aborted!", no supersession warning, and takes
    Dagster's webserver, daemon and code server with it."""
    env = dev_env(WFM_DATABASE_URL=db_url, WFM_HOME=str(tmp_path / "home"))
    server = DevServer(env, tmp_path / "dev.log").start()
    try:
        server.wait_until_serving()
        location = server.graphql("{ workspaceOrError { ... on Workspace { locationEntries { name } } } }")
        assert [e["name"] for e in location["workspaceOrError"]["locationEntries"]] == ["wfm_pipeline"]
    finally:
        code = server.stop()
    output = server.output()
    assert code == 0, output[-3000:]
    assert server.leftovers == []
    assert "Dagster services shut down" in output
    for noise in ("Aborted!", "superseded", "Traceback"):
        assert noise not in output, output[-3000:]
