"""Agent state files of different services loaded on two connections at once
(``calls.concurrent.ConcurrentRun`` through ``agent_loader.agent_runner``: the benchmark's import)
give exactly what importing them one by one gives: the same verdicts in the same order, the same
stored events (versions, state ends), agent activity and batches - with night shifts open from
one file of a service into its next (checked across files: a service's files load in order), a
correction re-sending events of one service, a rejected file, a duplicate, an unknown service and
agent codes shared by the services (created by both at once)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg
import pytest

from wfm_pipeline.argus import errors as E
from wfm_pipeline.calls.agent_loader import AGENT_FILES, agent_runner, import_agent_file
from wfm_pipeline.calls.concurrent import ConcurrentRun
from wfm_pipeline_tests.agent_data import (
    event, expected_state_seconds, generate_shifts, split_by_local_day, stored_activity, write_csv,
)
from wfm_pipeline_tests.concurrent_runs import batches_in_apply_order, run_outcomes
from wfm_pipeline_tests.conftest import create_database, drop_database

ZONE = "Europe/Berlin"
CODES = ("DESK", "DESK2", "DESK3")
DAYS = [dt.date(2025, 10, 29) + dt.timedelta(days=i) for i in range(4)]   # over the month end


def _services(conn: psycopg.Connection) -> dict[str, int]:
    ids = {code: conn.execute("INSERT INTO wfm.services (code, name, time_zone) VALUES (%s, %s, %s) "
                              "RETURNING service_id", (code, code, ZONE)).fetchone()[0] for code in CODES}
    conn.execute("SELECT wfm.ensure_monthly_partitions(t, '2025-09-01', '2025-12-31') "
                 "FROM unnest(ARRAY['wfm.agent_activity', 'wfm.agent_state_transitions']::regclass[]) t")
    conn.commit()
    return ids


def _outcomes(conn: psycopg.Connection, files: list[tuple[Path, str]], concurrent: bool) -> list[dict]:
    return run_outcomes(conn, files, concurrent=concurrent, runner=agent_runner, import_file=import_agent_file)


def _state(conn: psycopg.Connection) -> tuple:
    """Everything the imports stored, batch ids replaced by their file names."""
    events = conn.execute(
        """SELECT s.code, t.agent_code, t.started_at, t.ended_at, t.state, t.reason, t.is_current,
                  t.source_row_number, b.file_name
           FROM wfm.agent_state_transitions t JOIN wfm.services s USING (service_id)
           JOIN wfm.import_batches b USING (import_batch_id)
           ORDER BY 1, 2, 3, t.is_current, 9""").fetchall()
    activity = conn.execute(
        """SELECT s.code, a.code, aa.interval_start_time, aa.logged_in_seconds, aa.ready_seconds,
                  aa.not_ready_seconds, aa.talk_seconds, aa.post_processing_seconds, aa.state_logged_in_seconds,
                  aa.state_ready_seconds, aa.state_not_ready_seconds, aa.state_talking_seconds,
                  aa.state_post_processing_seconds, aa.handling_source, b.file_name
           FROM wfm.agent_activity aa JOIN wfm.agents a USING (agent_id) JOIN wfm.services s USING (service_id)
           JOIN wfm.import_batches b USING (import_batch_id)
           ORDER BY 1, 2, 3""").fetchall()
    # per service, its batches (file, status, counts, range) in apply order: "latest batch wins"
    batches = batches_in_apply_order(conn, "first_interval", "last_interval")
    agents = conn.execute("SELECT code FROM wfm.agents ORDER BY code").fetchall()
    conn.rollback()
    return events, activity, batches, agents


def test_concurrent_files_import_exactly_as_one_by_one(server_url: str, template_db: str, tmp_path: Path) -> None:
    # the three services share agent codes N000..N005: their first files create them at once
    rows = {code: generate_shifts(seed, ZONE, DAYS, 6, prefix="N", night_share=0.5)
            for seed, code in zip((11, 12, 13), CODES)}
    files: list[tuple[Path, str]] = []
    daily = {code: split_by_local_day(rows[code]) for code in CODES}
    for day in sorted({d for parts in daily.values() for d in parts}):
        for code in CODES:
            if part := daily[code].get(day):
                files.append((write_csv(tmp_path / f"{code}-{day:%Y%m%d}.csv", part), code))
    # a correction of DESK's first day: every third event again, the breaks now meetings
    first_day = min(daily["DESK"])
    corrected = [dict(r, reason="MEETING" if r["reason"] else "") for r in daily["DESK"][first_day][::3]
                 if r["state"] != "logged_out"]
    files.insert(7, (write_csv(tmp_path / "DESK-correction.csv", corrected), "DESK"))
    broken = tmp_path / "broken.csv"
    broken.write_text("agent;status;at\nA1;ready;01.10.2025 08:00:00\n")
    files.insert(4, (broken, "DESK2"))                            # the correction is now at 8
    files.insert(9, files[1])                                     # DESK2's first file again: a duplicate
    files.insert(10, (write_csv(tmp_path / "nope.csv", [event("X1", "logged_in", "30.10.2025 08:00:00")]), "NOPE"))
    assert {r["agent"] for r in rows["DESK"]} & {r["agent"] for r in rows["DESK2"]} & {r["agent"] for r in rows["DESK3"]}

    outcomes = []
    for concurrent in (False, True):
        url = create_database(server_url, template_db)
        try:
            with psycopg.connect(url) as conn:
                services = _services(conn)
                outcomes.append((_outcomes(conn, files, concurrent), _state(conn),
                                 {code: stored_activity(conn, sid) for code, sid in services.items()}))
        finally:
            drop_database(server_url, url)
    (sequential, seq_state, _), (parallel, par_state, par_activity) = outcomes
    statuses = [r["status"] for r in parallel]
    assert statuses[4] == "rejected" and parallel[4]["errors"][-1]["code"] == E.MISSING_EVENT_COLUMN
    assert statuses[9] == "duplicate"
    assert statuses[10] == "rejected" and parallel[10]["errors"][-1]["code"] == E.UNKNOWN_SERVICE
    assert all(s == "completed" for i, s in enumerate(statuses) if i not in (4, 9, 10)), parallel
    assert parallel[8]["rows_updated"] == len(corrected)             # the correction replaced versions
    assert parallel == sequential
    for got, want in zip(par_state, seq_state):                       # events, activity, batches, agents
        assert got == want
    # and both are right: DESK2 and DESK3 derive to the independent computation
    for code in ("DESK2", "DESK3"):
        assert {k: v[:5] for k, v in par_activity[code].items()} == expected_state_seconds(rows[code], ZONE), code


@pytest.mark.parametrize("start_method", ["spawn", "fork"])
def test_a_file_waits_for_the_earlier_files_of_its_service(conn: psycopg.Connection, tmp_path: Path,
                                                           start_method: str) -> None:
    """Three files of one service and one of another on three loading processes (spawned, or
    forked as from a single-threaded CLI): the service's files still load one after the other,
    in order - the second needs the first's login, the third's versions replace the second's."""
    services = _services(conn)
    files = [
        (write_csv(tmp_path / "s0.csv", [event("A1", "logged_in", "01.10.2025 08:00:00")]), "DESK"),
        (write_csv(tmp_path / "t.csv", [event("B1", "logged_in", "01.10.2025 08:00:00"),
                                        event("B1", "logged_out", "01.10.2025 09:00:00")]), "DESK2"),
        (write_csv(tmp_path / "s1.csv", [event("A1", "ready", "01.10.2025 09:00:00")]), "DESK"),
        (write_csv(tmp_path / "s2.csv", [event("A1", "not_ready", "01.10.2025 09:00:00", "BREAK"),
                                         event("A1", "logged_out", "01.10.2025 10:00:00")]), "DESK"),
    ]
    with ConcurrentRun(AGENT_FILES, files, conn.info.dsn, workers=3, start_method=start_method) as runner:
        results = [runner.run(conn, path, code).result for path, code in files]
    assert [r.status for r in results] == ["completed"] * 4, [r.errors for r in results]
    assert results[3].rows_updated == 1
    order = [r[0] for r in conn.execute("SELECT file_name FROM wfm.import_batches WHERE service_id = %s "
                                        "ORDER BY apply_seq", (services["DESK"],)).fetchall()]
    assert order == ["s0.csv", "s1.csv", "s2.csv"]
    current = conn.execute("SELECT state, reason FROM wfm.agent_state_transitions WHERE service_id = %s "
                           "AND is_current ORDER BY started_at", (services["DESK"],)).fetchall()
    assert current == [("logged_in", None), ("not_ready", "BREAK"), ("logged_out", None)]


def test_without_a_second_connection_the_files_run_on_the_callers(conn: psycopg.Connection,
                                                                  tmp_path: Path) -> None:
    """No worker can connect: every file runs on the caller's connection, in order, audited."""
    _services(conn)

    def refuse() -> psycopg.Connection:
        raise psycopg.OperationalError("no second connection")
    nowhere = f"host={tmp_path / 'no-server'} dbname=wfm connect_timeout=2"   # the loading processes' too

    files = [(write_csv(tmp_path / "a.csv", [event("A1", "logged_in", "01.10.2025 08:00:00")]), "DESK"),
             (write_csv(tmp_path / "b.csv", [event("B1", "logged_in", "01.10.2025 08:00:00")]), "DESK2"),
             (write_csv(tmp_path / "c.csv", [event("A1", "logged_out", "01.10.2025 09:00:00")]), "DESK")]
    with agent_runner(files, refuse, conninfo=nowhere, connections=2) as runner:
        results = [runner.run(conn, path, code).result for path, code in files]
    assert [r.status for r in results] == ["completed"] * 3, [r.errors for r in results]
    assert conn.execute("SELECT count(*) FROM wfm.agent_state_transitions").fetchone()[0] == 3
