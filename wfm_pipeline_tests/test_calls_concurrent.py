"""Call-record files of different services loaded on two connections at once
(``calls.concurrent.ConcurrentRun`` through ``calls.loader.call_runner``: ``wfm bench calls
--connections 2``) give exactly what importing them one by one gives: the same verdicts in the
same order, the same stored calls, interval figures, agent activity and batches - with agent
codes shared by the services (created by both at once), a correction of one service replacing
calls, a rejected file, a duplicate and an unknown service among them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg

from wfm_pipeline.argus import errors as E
from wfm_pipeline.calls.concurrent import ConcurrentRun
from wfm_pipeline.argus.loader import ImportFailedError
from wfm_pipeline.calls.loader import CALL_FILES, call_runner, import_call_file
from wfm_pipeline.calls.files import Prefetcher
from wfm_pipeline_tests.call_data import (
    current_calls, expected_agents, expected_intervals, generate, stored_agents, stored_intervals, write_csv,
)
from wfm_pipeline_tests.concurrent_runs import batches_in_apply_order, run_outcomes
from wfm_pipeline_tests.conftest import create_database, drop_database

ZONE = "Europe/Berlin"
CODES = ("Q1", "Q2", "Q3")
DAYS = [dt.date(2025, 10, 30) + dt.timedelta(days=i) for i in range(3)]   # over the month end


def _services(conn: psycopg.Connection) -> dict[str, int]:
    ids = {}
    for code in CODES:
        ids[code] = conn.execute("INSERT INTO wfm.services (code, name, time_zone) VALUES (%s, %s, %s) "
                                 "RETURNING service_id", (code, code, ZONE)).fetchone()[0]
        for group in ("G1", "G2"):
            conn.execute("INSERT INTO wfm.groups (service_id, code, name) VALUES (%s, %s, %s)",
                         (ids[code], group, group))
    conn.commit()
    return ids


def _outcomes(conn: psycopg.Connection, files: list[tuple[Path, str]], concurrent: bool) -> list[dict]:
    return run_outcomes(conn, files, concurrent=concurrent, runner=call_runner, import_file=import_call_file)


def _state(conn: psycopg.Connection) -> tuple:
    """Everything the imports stored, batch ids replaced by their file names."""
    calls = conn.execute(
        """SELECT s.code, c.call_id, c.offered_at, c.answered_at, c.ended_at, c.outcome, c.agent_code,
                  c.customer_id, c.wrap_up_seconds, c.group_id, c.is_current, b.file_name
           FROM wfm.call_records c JOIN wfm.services s USING (service_id)
           JOIN wfm.import_batches b USING (import_batch_id)
           ORDER BY 1, 2, c.is_current, b.file_name""").fetchall()
    intervals = conn.execute(
        """SELECT s.code, cs.group_id, cs.interval_start_time, cs.unique_incoming, cs.non_unique_incoming,
                  cs.avg_talk_time, cs.avg_post_processing_time, cs.answered_calls, cs.answered_within_sl,
                  cs.abandoned_calls, cs.sl_threshold_seconds, b.file_name
           FROM wfm.contact_statistics cs JOIN wfm.services s USING (service_id)
           JOIN wfm.import_batches b USING (import_batch_id)
           ORDER BY 1, 2 NULLS FIRST, 3""").fetchall()
    activity = conn.execute(
        """SELECT s.code, a.code, aa.interval_start_time, aa.talk_seconds, aa.post_processing_seconds,
                  aa.calls_handled, b.file_name
           FROM wfm.agent_activity aa JOIN wfm.agents a USING (agent_id) JOIN wfm.services s USING (service_id)
           JOIN wfm.import_batches b USING (import_batch_id)
           ORDER BY 1, 2, 3""").fetchall()
    batches = batches_in_apply_order(conn)
    agents = conn.execute("SELECT code FROM wfm.agents ORDER BY code").fetchall()
    conn.rollback()
    return calls, intervals, activity, batches, agents


def test_concurrent_call_files_import_exactly_as_one_by_one(server_url: str, template_db: str,
                                                            tmp_path: Path) -> None:
    # the three services share agent codes A01..A06: their first files create them at once
    rows = {code: generate(seed, ZONE, DAYS, 40, prefix=f"{code}-", agents=6)
            for seed, code in zip((21, 22, 23), CODES)}
    files: list[tuple[Path, str]] = []
    for day in DAYS:
        for code in CODES:
            part = [r for r in rows[code] if r["call_id"].startswith(f"{code}-{day:%m%d}")]
            files.append((write_csv(tmp_path / f"{code}-{day:%Y%m%d}.csv", part), code))
    # a correction of Q1's first day: every third answered call again, now abandoned
    first = [r for r in rows["Q1"] if r["call_id"].startswith(f"Q1-{DAYS[0]:%m%d}")
             and r["outcome"].lower() == "answered"][::3]
    corrected = [dict(r, outcome="abandoned", answered_at="", agent="", wrap_up_seconds="") for r in first]
    files.insert(5, (write_csv(tmp_path / "Q1-correction.csv", corrected), "Q1"))
    broken = tmp_path / "broken.csv"
    broken.write_text("call_id;offered_at\nx;01.10.2025 08:00:00\n")
    files.insert(3, (broken, "Q2"))
    files.insert(8, files[1])                                     # Q2's first file again: a duplicate
    files.insert(9, (write_csv(tmp_path / "nope.csv", rows["Q3"][:2]), "NOPE"))

    outcomes = []
    for concurrent in (False, True):
        url = create_database(server_url, template_db)
        try:
            with psycopg.connect(url) as conn:
                services = _services(conn)
                group_ids = {code: dict(conn.execute("SELECT code, group_id FROM wfm.groups WHERE service_id = %s",
                                                     (sid,)).fetchall()) for code, sid in services.items()}
                conn.rollback()   # the loaders want an idle connection
                outcomes.append((_outcomes(conn, files, concurrent), _state(conn),
                                 {code: (stored_intervals(conn, sid), stored_agents(conn, sid))
                                  for code, sid in services.items()}))
                conn.rollback()
        finally:
            drop_database(server_url, url)
    (sequential, seq_state, _), (parallel, par_state, par_stored) = outcomes
    statuses = [r["status"] for r in parallel]
    assert statuses[3] == "rejected" and parallel[3]["errors"][-1]["code"] == E.MISSING_COLUMN
    assert statuses[8] == "duplicate"
    assert statuses[9] == "rejected" and parallel[9]["errors"][-1]["code"] == E.UNKNOWN_SERVICE
    assert all(s == "completed" for i, s in enumerate(statuses) if i not in (3, 8, 9)), statuses
    assert parallel[6]["rows_updated"] == len(corrected)             # the correction replaced calls
    assert parallel == sequential
    for got, want in zip(par_state, seq_state):                       # calls, intervals, activity, batches, agents
        assert got == want
    # and both are right: every service derives to the independent computation
    for code in CODES:
        batches = [rows[code]] + ([corrected] if code == "Q1" else [])
        calls = current_calls(batches, ZONE)
        intervals, agents = par_stored[code]
        assert intervals == expected_intervals(calls, group_ids[code]), code
        assert agents == expected_agents(calls), code


def test_one_connection_or_one_service_prefetches(conn: psycopg.Connection, tmp_path: Path) -> None:
    """``call_runner`` picks the concurrent scheduler only for two or more services and
    connections; otherwise the one-connection prefetcher that ``wfm import`` uses."""
    files = [(tmp_path / "a.csv", "Q1"), (tmp_path / "b.csv", "Q2")]
    for runner in (call_runner(files, lambda: psycopg.connect(conn.info.dsn)),
                   call_runner(files[:1] * 2, lambda: psycopg.connect(conn.info.dsn), connections=2)):
        with runner:
            assert isinstance(runner, Prefetcher) and not isinstance(runner, ConcurrentRun)


_ORPHAN_SCRIPT = """
import sys, time
from wfm_pipeline.calls.concurrent import ConcurrentRun
from wfm_pipeline.calls.loader import CALL_FILES

if __name__ == "__main__":
    url, first, second = sys.argv[1:]
    run = ConcurrentRun(CALL_FILES, [(first, "Q1"), (second, "Q2")], url, workers=2)
    print(" ".join(str(p._process.pid) for p in run._processes), flush=True)
    time.sleep(600)
"""


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")   # a zombie has ended
    except FileNotFoundError:
        return True


def test_loading_processes_end_when_the_caller_is_killed(db_url: str, conn: psycopg.Connection,
                                                         tmp_path: Path) -> None:
    """A caller killed hard (SIGKILL, OOM, a plain ``kill``) runs no ``close()``: its loading
    processes must still end, with their connections, instead of waiting for work for ever.
    Forked, each one held the caller's end of its own pipe (and of the earlier processes'), so
    the caller's death never reached them as end-of-file: they stayed, orphaned, with an open
    database session each."""
    import os
    import signal
    import subprocess
    import sys
    import time

    _services(conn)
    script = tmp_path / "orphans.py"
    script.write_text(_ORPHAN_SCRIPT, encoding="utf-8")
    first, second = (write_csv(tmp_path / f"{code}.csv", generate(n, ZONE, DAYS[:1], 30, prefix=code))
                     for n, code in enumerate(CODES[:2]))
    caller = subprocess.Popen([sys.executable, str(script), db_url, str(first), str(second)],
                              stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(pid) for pid in caller.stdout.readline().split()]
        assert len(pids) == 2
        database = db_url.split("?")[0].rsplit("/", 1)[1]
        deadline = time.monotonic() + 60          # both files imported, the processes now idle
        while time.monotonic() < deadline and conn.execute(
                "SELECT count(*) FROM wfm.import_batches WHERE status <> 'running'").fetchone()[0] < 2:
            conn.rollback()
            time.sleep(0.2)
        conn.rollback()
    finally:
        caller.send_signal(signal.SIGKILL)
        caller.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not all(_gone(pid) for pid in pids):
        time.sleep(0.2)
    left = [pid for pid in pids if not _gone(pid)]
    for pid in left:                                # the test's own leftovers, never others
        os.kill(pid, signal.SIGKILL)
    assert left == [], "loading processes outlived their caller"
    deadline = time.monotonic() + 10                # their sessions end with them
    while (sessions := conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                                    "AND pid <> pg_backend_pid()", (database,)).fetchone()[0]) \
            and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sessions == 0


def test_a_loading_process_that_dies_mid_file_leaves_a_failed_call_batch(db_url: str, conn: psycopg.Connection,
                                                                         tmp_path: Path) -> None:
    """Loading processes killed while they import a file (here: a load waiting for a lock the
    test holds): those files fail, each audited as a batch of its kind (they were recorded as
    Argus ``intervals`` batches: the CLI's generic fallback does not know the kind), and the file
    after them is still imported (on the caller's connection)."""
    import os
    import signal
    import time

    _services(conn)
    files = [(write_csv(tmp_path / f"{code}.csv", generate(n, ZONE, DAYS[:1], 30, prefix=code)), code)
             for n, code in enumerate(CODES[:2])]
    files.append((write_csv(tmp_path / "Q1-later.csv", generate(9, ZONE, DAYS[1:2], 30, prefix="L")), "Q1"))
    conn.execute("SELECT 1 FROM wfm.services FOR UPDATE")   # every load waits (it locks its service FOR KEY SHARE)
    with ConcurrentRun(CALL_FILES, files, db_url, workers=2) as run:
        deadline = time.monotonic() + 30
        with psycopg.connect(db_url, autocommit=True) as watch:
            while time.monotonic() < deadline and not watch.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'").fetchone()[0]:
                time.sleep(0.05)
        for process in run._processes:               # the test's own children, each inside its file
            os.kill(process._process.pid, signal.SIGKILL)
        conn.rollback()                              # the lock goes
        outcomes = []
        for path, code in files:
            try:
                outcomes.append(run.run(conn, path, code).result.status)
            except ImportFailedError as exc:
                outcomes.append(exc.result.status if exc.result else "failed")
    assert outcomes == ["failed", "failed", "completed"]
    kinds = conn.execute("SELECT file_name, kind FROM wfm.import_batches WHERE status = 'failed' "
                         "ORDER BY file_name").fetchall()
    conn.rollback()
    assert [name for name, _ in kinds] == ["Q1.csv", "Q2.csv"] and {kind for _, kind in kinds} == {"calls"}
