"""Issue 9, import side: no input or unlucky moment crashes `wfm import` or goes unaudited,
imports cannot deadlock, partition creation is bounded and cannot be steered through pg_temp.

Every scenario runs against the real server: real lock conflicts (a second connection),
a real terminated backend, two real concurrent imports, a real SIGKILLed `wfm import`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql
from psycopg.rows import dict_row

from wfm_pipeline.argus import batches
from wfm_pipeline.argus.loader import LoadPolicy
from wfm_pipeline.argus.steps import import_file
from wfm_pipeline.argus.runner import import_files
from wfm_pipeline.cli.main import cli
from wfm_pipeline.health import checks
from wfm_pipeline_tests.argus_files import argus_rows, write_csv, write_xlsx

UTC = dt.timezone.utc
IN_PREMADE = dt.datetime(2026, 1, 5, 8, 0)   # January 2026: inside the premade window (conftest's month)
SUM = "rows_inserted + rows_updated + rows_rejected + rows_skipped"


def _month_ago(months: int) -> dt.datetime:
    """A local 10:00 on the 10th, ``months`` before the current month: missing (older than the
    premade window) but inside the on-demand window."""
    now = dt.datetime.now(UTC)
    index = now.year * 12 + now.month - 1 - months
    return dt.datetime(index // 12, index % 12 + 1, 10, 10, 0)


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def json_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def batch(conn: psycopg.Connection, batch_id) -> dict:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute("SELECT * FROM wfm.import_batches WHERE import_batch_id = %s", (batch_id,)).fetchone()
    conn.rollback()
    return row


def error_codes(conn: psycopg.Connection, batch_id) -> list[str]:
    codes = [c for (c,) in conn.execute(
        "SELECT error_code FROM wfm.import_errors WHERE import_batch_id = %s ORDER BY import_error_id", (batch_id,))]
    conn.rollback()
    return codes


def partition_exists(conn: psycopg.Connection, name: str) -> bool:
    found = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"wfm.{name}",)).fetchone()[0]
    conn.rollback()
    return found


def unbalanced_batches(conn: psycopg.Connection) -> list[tuple]:
    rows = conn.execute(f"SELECT status, rows_total, {SUM} FROM wfm.import_batches "
                        f"WHERE rows_total <> {SUM}").fetchall()
    conn.rollback()
    return rows


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def admin(db_url: str) -> Iterator[psycopg.Connection]:
    """A second, autocommit connection (the other session of each scenario)."""
    with psycopg.connect(db_url, autocommit=True, options="-c search_path=wfm,public") as c:
        yield c


def _connector(db_url: str, opened: list[psycopg.Connection]) -> Callable[[], psycopg.Connection]:
    def connect() -> psycopg.Connection:
        c = psycopg.connect(db_url, options="-c search_path=wfm,public")
        opened.append(c)
        return c
    return connect


def _lock_waiters(admin: psycopg.Connection) -> int:
    return admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                         "AND wait_event_type = 'Lock'").fetchone()[0]


# ---------------------------------------------------------------- bounded partitions

def test_a_file_spanning_more_than_ten_years_is_imported_with_row_errors(wfm_env, conn, service, tmp_path):
    old = [[dt.datetime(2010, 1, 4, 9, 0), 1, 2, 30, 5], [dt.datetime(2010, 1, 4, 9, 15), 1, 2, 30, 5]]
    path = write_csv(tmp_path / "decade.csv", old + argus_rows(IN_PREMADE, 3))
    out = run("import", str(path), "--service", "S1", "--json")
    assert out.exit_code == 0, out.output
    (line,) = json_lines(out.output)
    assert (line["status"], line["rows_total"], line["rows_inserted"], line["rows_rejected"]) == \
        ("completed_with_errors", 5, 3, 2)
    assert [(e["row"], e["code"]) for e in line["errors"]] == [(2, "OUTSIDE_PARTITION_WINDOW"),
                                                              (3, "OUTSIDE_PARTITION_WINDOW")]
    assert "month 2010-01" in line["errors"][0]["message"] and line["months"] == ["2026-01"]
    assert not partition_exists(conn, "contact_statistics_2010_01")
    assert not partition_exists(conn, "contact_statistics_history_2010_01")
    assert error_codes(conn, line["import_batch_id"]) == ["OUTSIDE_PARTITION_WINDOW"] * 2
    assert unbalanced_batches(conn) == []


def test_far_future_rows_create_no_partitions(conn, service, tmp_path):
    # Issue 9: 100 rows over 2100-2108 created ~200 partitions. Now: row errors, none created.
    rows = [[dt.datetime(2100 + i // 12, i % 12 + 1, 1, 10, 0), 1, 2, 30, 5] for i in range(100)]
    before = conn.execute("SELECT count(*) FROM wfm.partitions").fetchone()[0]
    conn.rollback()
    result = import_file(conn, write_csv(tmp_path / "future.csv", rows), "S1")
    assert (result.status, result.rows_rejected, result.rows_inserted) == ("completed_with_errors", 100, 0)
    assert {e.code for e in result.errors} == {"OUTSIDE_PARTITION_WINDOW"}
    assert conn.execute("SELECT count(*) FROM wfm.partitions").fetchone()[0] == before


def test_more_new_months_than_allowed_rejects_the_file(conn, service, tmp_path):
    conn.execute("UPDATE partition_config SET ondemand_max_new_months = 2")
    conn.commit()
    rows = [[_month_ago(m), 1, 2, 30, 5] for m in (30, 31, 32)]
    result = import_file(conn, write_csv(tmp_path / "three.csv", rows), "S1")
    assert result.status == "rejected" and (result.rows_total, result.rows_rejected) == (3, 3)
    assert result.errors[-1].code == "TOO_MANY_NEW_MONTHS" and "at most 2" in result.errors[-1].message
    assert not partition_exists(conn, f"contact_statistics_{_month_ago(31):%Y_%m}")
    assert batch(conn, result.import_batch_id)["status"] == "rejected"
    assert unbalanced_batches(conn) == []
    # Within the bound the same months are created and loaded.
    conn.execute("UPDATE partition_config SET ondemand_max_new_months = 3")
    conn.commit()
    again = import_file(conn, write_csv(tmp_path / "three-again.csv", rows), "S1")
    assert (again.status, again.rows_inserted) == ("completed", 3)
    assert partition_exists(conn, f"contact_statistics_history_{_month_ago(31):%Y_%m}")


def test_premake_keeps_the_retention_window_back_and_24_months_ahead(conn):
    tables = [t for (t,) in conn.execute("SELECT table_name::text FROM partition_config")]
    for months in (-12, 0, 24):   # retention_months 13: the 12 months before the current one
        now = dt.datetime.now(UTC)
        index = now.year * 12 + now.month - 1 + months
        suffix = f"{index // 12:04d}_{index % 12 + 1:02d}"
        for table in tables:
            assert partition_exists(conn, f"{table}_{suffix}"), (table, suffix)
    assert conn.execute("SELECT count(*) FROM missing_premade_partitions").fetchone()[0] == 0


# ---------------------------------------------------------------- lock waits, lost connections

def test_a_held_lock_is_retried_then_the_file_fails_audited_and_the_next_file_is_imported(
        wfm_env, conn, service, admin, tmp_path, monkeypatch):
    monkeypatch.setenv("WFM_IMPORT_LOCK_TIMEOUT_MS", "200")
    monkeypatch.setenv("WFM_IMPORT_RETRIES", "2")
    monkeypatch.setenv("WFM_IMPORT_RETRY_BACKOFF_MS", "10")
    needs_month = write_csv(tmp_path / "new-month.csv", [[_month_ago(40), 1, 2, 30, 5], [_month_ago(40), 1, 2, 30, 5]])
    ok = write_csv(tmp_path / "ok.csv", argus_rows(IN_PREMADE, 4))
    # A reader left its transaction open on the table: creating a partition cannot get its lock.
    admin.execute("BEGIN")
    admin.execute("SELECT count(*) FROM wfm.contact_statistics")

    out = run("import", str(needs_month), str(ok), "--service", "S1", "--json")
    assert out.exit_code == 1, out.output
    failed, completed = json_lines(out.output)
    assert failed["status"] == "failed" and "lock wait timed out after 3 attempts" in failed["error_message"]
    assert (failed["rows_total"], failed["rows_rejected"], failed["rows_skipped"]) == (2, 1, 1)
    assert failed["errors"][-1]["code"] == "IMPORT_FAILED"
    row = batch(conn, failed["import_batch_id"])
    assert row["status"] == "failed" and "LockNotAvailable" in row["error_message"] and row["finished_at"]
    assert error_codes(conn, failed["import_batch_id"]) == ["DUPLICATE_ROW", "IMPORT_FAILED"]
    assert (completed["status"], completed["rows_inserted"]) == ("completed", 4)
    admin.execute("ROLLBACK")

    # The lock is gone: the failed file imports (a failed batch is not a duplicate).
    again = json_lines(run("import", str(needs_month), "--service", "S1", "--json").output)[0]
    assert (again["status"], again["rows_inserted"]) == ("completed_with_errors", 1)
    assert unbalanced_batches(conn) == []


def test_database_connection_terminated_mid_import(db_url, conn, service, admin, tmp_path):
    first = write_csv(tmp_path / "first.csv", argus_rows(IN_PREMADE, 30))
    second = write_csv(tmp_path / "second.csv", argus_rows(IN_PREMADE + dt.timedelta(days=1), 5))
    opened: list[psycopg.Connection] = []

    def progress_for(path: Path):
        def progress(stage: str, done: int, total: int) -> None:
            if path == first and stage == "apply":  # after the COPY, inside the load transaction
                admin.execute("SELECT pg_terminate_backend(%s)", (opened[-1].info.backend_pid,))
                time.sleep(0.2)
        return progress

    results = list(import_files(_connector(db_url, opened), [first, second], "S1", progress_for=progress_for,
                                policy=LoadPolicy(retries=0)))
    assert [r.status for r in results] == ["failed", "completed"]
    assert "database connection lost" in results[0].error_message
    row = batch(conn, results[0].import_batch_id)
    assert row["status"] == "failed" and "connection lost" in row["error_message"]
    assert (row["rows_total"], row["rows_rejected"], row["rows_inserted"]) == (30, 30, 0)
    assert error_codes(conn, results[0].import_batch_id) == ["IMPORT_FAILED"]
    assert conn.execute("SELECT count(*) FROM contact_statistics_history").fetchone()[0] == 5  # second file only
    assert len(opened) == 2   # a fresh connection for the second file
    assert unbalanced_batches(conn) == []


def test_a_load_and_a_partition_creation_do_not_deadlock(db_url, conn, service, admin, tmp_path):
    """Issue 9: import A is in its load (COPY done) while import B needs a new month. Creation
    locks contact_statistics then its history; the load took contact_statistics first too, so B
    waits for A instead of deadlocking. A retries nothing; B may retry only its NOWAIT on the
    history, which by design fails while A's post-commit steps (ANALYZE of the months it wrote)
    hold a lock there, and is retried (sql/functions/partitions/ensure_import_partitions.sql).
    Neither may ever have met a deadlock: every retry is recorded in the batch's details."""
    no_retry = LoadPolicy(lock_timeout_ms=60_000, retries=0)
    nowait_retries = LoadPolicy(lock_timeout_ms=60_000, retries=3, backoff_s=0.2)
    loading = write_csv(tmp_path / "loading.csv", argus_rows(IN_PREMADE, 200))
    new_month = write_csv(tmp_path / "new-month.csv", [[_month_ago(50), 1, 2, 30, 5]])
    second: dict = {}

    def import_b() -> None:
        with psycopg.connect(db_url, options="-c search_path=wfm,public") as c:
            try:
                second["result"] = import_file(c, new_month, "S1", policy=nowait_retries)
            except Exception as exc:  # noqa: BLE001 - asserted below
                second["error"] = exc

    worker = threading.Thread(target=import_b)

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "apply":  # A holds its locks, COPY done: start B and wait until it waits for A
            worker.start()
            wait_for(lambda: _lock_waiters(admin) >= 1, "import B to wait for a lock")

    first = import_file(conn, loading, "S1", policy=no_retry, progress=progress)
    worker.join(60)
    assert not worker.is_alive()
    assert first.status == "completed" and first.rows_inserted == 200
    assert "error" not in second, second.get("error")
    assert (second["result"].status, second["result"].rows_inserted) == ("completed", 1)
    assert partition_exists(conn, f"contact_statistics_{_month_ago(50):%Y_%m}")
    assert conn.execute("SELECT count(*) FROM import_batches WHERE status = 'failed'").fetchone()[0] == 0
    retried = [line for (lines,) in conn.execute("SELECT details->'retries' FROM import_batches")
               for line in (lines or [])]
    assert all(line.startswith("partitions attempt") and "LockNotAvailable" in line for line in retried), retried


def test_a_creator_never_waits_for_the_history_while_holding_contact_statistics(db_url, conn, service, admin):
    """A writer that broke the order (history first, then contact_statistics) cannot deadlock
    with partition creation: the creator takes the history NOWAIT, fails, and is retried."""
    admin.execute("BEGIN")
    admin.execute("SET LOCAL lock_timeout = '30s'")
    admin.execute("LOCK TABLE ONLY wfm.contact_statistics_history IN ROW EXCLUSIVE MODE")
    outcome: dict = {}

    def create() -> None:
        with psycopg.connect(db_url) as c:
            c.execute("SET lock_timeout = '30s'")
            try:
                c.execute("SELECT * FROM wfm.ensure_import_partitions("
                          "ARRAY['wfm.contact_statistics', 'wfm.contact_statistics_history']::regclass[], %s)",
                          ([_month_ago(90).date()],))
                outcome["ok"] = True
            except psycopg.Error as exc:
                outcome["error"] = exc

    creator = threading.Thread(target=create)
    creator.start()
    wait_for(lambda: not creator.is_alive() or _lock_waiters(admin) >= 1, "the creator to fail or wait")
    admin.execute("LOCK TABLE ONLY wfm.contact_statistics IN ROW EXCLUSIVE MODE")   # the writer's second lock
    admin.execute("COMMIT")
    creator.join(60)
    assert isinstance(outcome.get("error"), psycopg.errors.LockNotAvailable), outcome
    assert not partition_exists(conn, f"contact_statistics_{_month_ago(90):%Y_%m}")


def test_a_sigkilled_import_is_swept_to_failed_and_reported_by_health(db_url, conn, service, admin, tmp_path):
    path = write_csv(tmp_path / "killed.csv", [[_month_ago(60), 1, 2, 30, 5]])
    env = {**os.environ, "WFM_DATABASE_URL": db_url, "WFM_HOME": str(tmp_path / "home"),
           "PYTHONPATH": str(Path(__file__).resolve().parent.parent), "WFM_IMPORT_LOCK_TIMEOUT_MS": "600000"}
    # Hold the table so the import blocks in its partition step, its running batch committed.
    admin.execute("BEGIN")
    admin.execute("SELECT count(*) FROM wfm.contact_statistics")
    proc = subprocess.Popen([sys.executable, "-m", "wfm_pipeline.cli.main", "import", str(path), "--service", "S1",
                             "--json"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def running() -> list[tuple]:
            rows = conn.execute("SELECT import_batch_id, backend_pid FROM import_batches "
                                "WHERE status = 'running'").fetchall()
            conn.rollback()
            return rows
        wait_for(lambda: bool(running()) and _lock_waiters(admin) >= 1, "the import to block", timeout=120)
        (batch_id, pid), = running()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    admin.execute("ROLLBACK")
    wait_for(lambda: admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s",
                                   (pid,)).fetchone()[0] == 0, "the killed import's backend to end")
    assert batch(conn, batch_id)["status"] == "running"   # the trace the kill left

    results = {r.check_name: r for r in checks.database_health_check(conn)}
    conn.commit()
    row = batch(conn, batch_id)
    assert row["status"] == "failed" and row["error_message"].startswith("interrupted")
    assert (row["rows_total"], row["rows_rejected"]) == (1, 1)
    assert error_codes(conn, batch_id) == ["IMPORT_FAILED"]
    failed = results["health.failed_imports"]
    assert failed.status == "WARN" and str(batch_id) in {d["import_batch_id"] for d in failed.details["imports"]}
    assert not partition_exists(conn, f"contact_statistics_{_month_ago(60):%Y_%m}")   # rolled back with it
    assert batches.sweep_interrupted(conn) == []   # idempotent


def test_the_sweep_leaves_live_imports_alone(conn, service, admin):
    pid, started = admin.execute("SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()").fetchone()
    live = conn.execute("INSERT INTO import_batches (source, status, backend_pid, backend_start) "
                        "VALUES ('file', 'running', %s, %s) RETURNING import_batch_id", (pid, started)).fetchone()[0]
    gone = conn.execute("INSERT INTO import_batches (source, status, backend_pid, backend_start) "
                        "VALUES ('file', 'running', %s, %s) RETURNING import_batch_id", (pid, started - dt.timedelta(days=1))).fetchone()[0]
    conn.commit()
    swept = batches.sweep_interrupted(conn)
    assert [s["import_batch_id"] for s in swept] == [gone]
    assert batch(conn, live)["status"] == "running" and batch(conn, gone)["status"] == "failed"


# ---------------------------------------------------------------- accounting

def test_accounting_adds_up_for_every_status(conn, service, tmp_path):
    def rows_with_problems(day: int) -> list[list]:
        rows = argus_rows(IN_PREMADE + dt.timedelta(days=day), 6)
        rows[2][1] = "x"                 # rejected
        rows.append(list(rows[0]))       # an exact duplicate row: skipped
        return rows

    good = write_xlsx(tmp_path / "good.xlsx", argus_rows(IN_PREMADE, 6))
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not excel")
    statuses = {
        import_file(conn, good, "S1").status,
        import_file(conn, good, "S1").status,                                # duplicate
        import_file(conn, write_csv(tmp_path / "partial.csv", rows_with_problems(1)), "S1").status,
        import_file(conn, write_csv(tmp_path / "strict.csv", rows_with_problems(2)), "S1", strict=True).status,
        import_file(conn, write_csv(tmp_path / "dry.csv", rows_with_problems(3)), "S1", validate_only=True).status,
        import_file(conn, bad, "S1").status,
    }

    def explode(stage: str, done: int, total: int) -> None:
        if stage == "apply":
            raise RuntimeError("boom")
    with pytest.raises(Exception, match="boom"):
        import_file(conn, write_csv(tmp_path / "boom.csv", rows_with_problems(4)), "S1", progress=explode)
    statuses |= {s for (s,) in conn.execute("SELECT DISTINCT status FROM import_batches")}
    conn.rollback()
    batch_id = conn.execute("SELECT import_batch_id FROM import_batches WHERE status = 'completed' LIMIT 1").fetchone()[0]
    conn.rollback()
    batches.revert_batch(conn, batch_id)
    statuses.add(batch(conn, batch_id)["status"])
    assert {"completed", "completed_with_errors", "duplicate", "rejected", "validated", "failed",
            "reverted"} <= statuses
    assert unbalanced_batches(conn) == []
    failed = conn.execute("SELECT rows_total, rows_rejected, rows_skipped FROM import_batches "
                          "WHERE status = 'failed'").fetchone()
    assert failed == (7, 6, 1)


# ---------------------------------------------------------------- pg_temp cannot steer partition creation

FAKE_CATALOGS = {
    "pg_class": "oid oid, relname name, relnamespace oid, relkind char, relispopulated bool, relispartition bool, "
                "reltuples real, relpartbound pg_node_tree",
    "pg_namespace": "oid oid, nspname name",
    "pg_inherits": "inhrelid oid, inhparent oid",
    "pg_partitioned_table": "partrelid oid, partattrs int2vector",
    "pg_attribute": "attrelid oid, attnum int2, attname name",
    "pg_index": "indexrelid oid, indrelid oid",
    "pg_stat_activity": "pid int, backend_start timestamptz",
    "partition_config": "table_name regclass, premake_months int, retention_months int, retention_enabled bool, "
                        "ondemand_months_ahead int, ondemand_months_back int, ondemand_max_new_months int",
    "partitions": "parent_table regclass, partition regclass, partition_name text, is_guard bool, "
                  "range_start timestamptz, range_end timestamptz",
}


@pytest.fixture
def login_role(conn: psycopg.Connection) -> Iterator[Callable[[str], str]]:
    """Throwaway LOGIN roles that are members of a WFM role (dropped afterwards)."""
    made: list[str] = []

    def make(member_of: str) -> str:
        name = f"wfm_t_app_{uuid.uuid4().hex[:10]}"
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(sql.Identifier(name), sql.Identifier(member_of)))
        conn.commit()
        made.append(name)
        return name

    yield make
    conn.rollback()
    conn.execute("RESET ROLE")
    conn.execute("DISCARD TEMP")
    for name in made:
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))
    conn.commit()


def _plant_fake_catalogs(conn: psycopg.Connection) -> None:
    """As the attacker: temp tables named like the catalogs, mapping wfm.contact_statistics to
    public.pwn_cs (the issue's reproduction), plus look-alikes of the wfm relations."""
    for name, columns in FAKE_CATALOGS.items():
        conn.execute(f"CREATE TEMP TABLE {name} ({columns})")
    conn.execute("""INSERT INTO pg_temp.pg_class (oid, relname, relnamespace)
                    VALUES ('wfm.contact_statistics'::regclass, 'pwn_cs', 'public'::regnamespace),
                           ('wfm.contact_statistics_history'::regclass, 'pwn_hist', 'public'::regnamespace)""")
    conn.execute("INSERT INTO pg_temp.pg_namespace VALUES ('public'::regnamespace, 'public')")


def _partitions_outside_wfm_or_misnamed(conn: psycopg.Connection) -> list[tuple]:
    rows = conn.execute(
        r"""SELECT n.nspname, c.relname FROM pg_catalog.pg_inherits i
            JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
            JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace AND pn.nspname = 'wfm'
            WHERE c.relkind IN ('r', 'p')
              AND (n.nspname <> 'wfm' OR c.relname !~ ('^' || p.relname || '_([0-9]{4}_[0-9]{2}|nopart_[0-9]+)$'))
        """).fetchall()
    pwn = conn.execute("SELECT relname FROM pg_catalog.pg_class WHERE relname LIKE 'pwn%' "
                       "AND relnamespace <> pg_my_temp_schema()").fetchall()
    return rows + pwn


def test_planted_temp_catalogs_do_not_steer_partition_creation(conn, service, login_role, tmp_path):
    month = _month_ago(70)
    etl = login_role("wfm_etl")
    conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(etl)))
    _plant_fake_catalogs(conn)
    conn.commit()
    # The ETL path (the loader) and the ETL-callable partition functions, with the fakes in place.
    result = import_file(conn, write_csv(tmp_path / "etl.csv", [[month, 1, 2, 30, 5]]), "S1")
    assert (result.status, result.rows_inserted) == ("completed", 1)
    conn.execute("SELECT wfm.ensure_monthly_partitions('wfm.contact_statistics', %s, %s)",
                 (month - dt.timedelta(days=40), month - dt.timedelta(days=40)))
    conn.execute("SELECT * FROM wfm.ensure_import_partitions(ARRAY['wfm.contact_statistics_history']::regclass[], "
                 "ARRAY[%s::date])", (month.date() - dt.timedelta(days=70),))
    conn.execute("SELECT wfm.premake_partitions(30)")
    conn.commit()
    conn.execute("RESET ROLE")
    assert _partitions_outside_wfm_or_misnamed(conn) == []
    assert partition_exists(conn, f"contact_statistics_{month:%Y_%m}")
    assert partition_exists(conn, f"contact_statistics_history_{month:%Y_%m}")


def test_planted_temp_catalogs_through_the_api_role(conn, service, login_role):
    """The issue's reproduction as a wfm_api member (api_batch_insert_calls for a new month):
    whatever the API does with that month, nothing lands outside wfm or under a planted name."""
    from psycopg.types.json import Jsonb

    app = login_role("wfm_api")
    conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(app)))
    _plant_fake_catalogs(conn)
    call = [{"service_id": service["service_id"], "interval_start": f"{_month_ago(80):%Y-%m}-03T10:00:00+00:00",
             "unique_incoming": 1, "non_unique_incoming": 2, "avg_talk_time": 30, "avg_post_processing_time": 5}]
    try:
        conn.execute("SELECT * FROM api_batch_insert_calls(%s, 'pg_temp test')", (Jsonb(call),))
        conn.commit()
    except psycopg.Error:
        conn.rollback()
    conn.execute("RESET ROLE")
    assert _partitions_outside_wfm_or_misnamed(conn) == []


PARTITION_FUNCTIONS = ("partition_name", "reject_unpartitioned_row", "drop_partition_guards",
                       "rebuild_partition_guards", "create_monthly_partitions", "ensure_monthly_partitions",
                       "ensure_import_partitions", "partition_window", "premake_partitions",
                       "analyze_partitioned_tables", "expired_partitions", "detach_expired_partitions",
                       "sweep_interrupted_imports", "lock_services_for_apply", "apply_import_batch",
                       "revert_import_batch", "rebuild_contact_statistics_month")


def test_partition_and_import_functions_pin_pg_temp_last(conn):
    rows = conn.execute(
        """SELECT p.proname, p.proconfig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'wfm' AND p.proname = ANY (%s)""", (list(PARTITION_FUNCTIONS),)).fetchall()
    assert {name for name, _ in rows} == set(PARTITION_FUNCTIONS)
    for name, config in rows:
        assert "search_path=wfm, pg_catalog, pg_temp" in (config or []), (name, config)


def test_an_unreachable_database_gives_every_file_a_failed_line(tmp_path, monkeypatch):
    with socket.socket() as s:   # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("WFM_DATABASE_URL", f"postgresql://nobody@127.0.0.1:{port}/wfm?connect_timeout=2")
    monkeypatch.setenv("WFM_HOME", str(tmp_path / "home"))
    paths = [write_csv(tmp_path / f"f{i}.csv", argus_rows(IN_PREMADE, 2)) for i in range(2)]
    out = run("import", *map(str, paths), "--service", "S1", "--json")
    assert out.exit_code == 1
    lines = json_lines(out.output)
    assert [(Path(d["file"]).name, d["status"]) for d in lines] == [("f0.csv", "failed"), ("f1.csv", "failed")]
    assert all(d["error_message"].startswith("database connection lost") for d in lines)


def test_a_cancelled_statement_is_not_reported_as_a_lost_connection(conn):
    # QueryCanceled (statement_timeout, pg_cancel_backend) is an OperationalError to psycopg, but
    # the connection is fine: the failure line must not send the operator looking for the server.
    from wfm_pipeline.argus.loader import describe_failure

    conn.execute("SET statement_timeout = 10")
    with pytest.raises(psycopg.errors.QueryCanceled) as cancelled:
        conn.execute("SELECT pg_sleep(5)")
    conn.rollback()
    line = describe_failure(cancelled.value)
    assert line.startswith("statement cancelled (statement_timeout") and "QueryCanceled" in line
    assert "connection lost" not in line
