"""Call-record files of different services loaded on two connections at once
(``calls.files.ConcurrentRun`` through ``calls.loader.call_runner``) give exactly what importing
them one by one gives: the same verdicts in the same order, the same stored calls, intervals and
agent activity - with a correction (same-service order kept: latest batch wins), a duplicate, a
rejected file and agents shared by the services (created concurrently)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import psycopg

from wfm_pipeline.calls.files import ConcurrentRun
from wfm_pipeline.calls.loader import CALL_FILES, call_runner, import_call_file
from wfm_pipeline_tests.call_data import (
    current_calls, expected_agents, expected_intervals, generate, stored_agents, stored_intervals, write_csv,
)
from wfm_pipeline_tests.conftest import create_database, drop_database

ZONE = "Europe/Berlin"
DAYS = [dt.date(2025, 10, 30), dt.date(2025, 10, 31), dt.date(2025, 11, 1)]   # a month end


def _service(conn: psycopg.Connection, code: str, groups: tuple[str, ...] = ("G1", "G2")) -> dict:
    sid = conn.execute("INSERT INTO wfm.services (code, name, time_zone) VALUES (%s, %s, %s) RETURNING service_id",
                       (code, code, ZONE)).fetchone()[0]
    ids = {g: conn.execute("INSERT INTO wfm.groups (service_id, code, name) VALUES (%s, %s, %s) RETURNING group_id",
                           (sid, g, g)).fetchone()[0] for g in groups}
    conn.commit()
    return {"service_id": sid, "code": code, "groups": ids}


def _state(conn: psycopg.Connection) -> tuple:
    services = conn.execute("SELECT service_id, code FROM wfm.services ORDER BY code").fetchall()
    state = tuple((code, stored_intervals(conn, sid), stored_agents(conn, sid)) for sid, code in services)
    calls = conn.execute("SELECT call_id, offered_at, outcome, is_current, source_row_number FROM wfm.call_records "
                         "ORDER BY call_id, offered_at, is_current").fetchall()
    conn.rollback()
    return state, calls


def _outcomes(conn: psycopg.Connection, files: list[tuple[Path, str]], concurrent: bool) -> list[dict]:
    if concurrent:
        with call_runner(files, lambda: psycopg.connect(conn.info.dsn), connections=2) as runner:
            assert isinstance(runner, ConcurrentRun)
            results = [runner.run(conn, path, code).result for path, code in files]
    else:
        results = [import_call_file(conn, path, code) for path, code in files]
    out = []
    for r in results:
        d = r.to_dict()
        for key in ("import_batch_id", "duplicate_of", "timings"):
            d.pop(key, None)
        d["error_message"] = re.sub(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", "<batch>", d["error_message"] or "")
        out.append(d)
    return out


def _batches(conn: psycopg.Connection) -> list[tuple]:
    """Per service, its batches' (file, status) in apply order: what "latest batch wins" follows."""
    rows = conn.execute("""SELECT s.code, b.file_name, b.status FROM wfm.import_batches b
                           LEFT JOIN wfm.services s USING (service_id)
                           ORDER BY s.code, b.apply_seq NULLS LAST, b.created_at""").fetchall()
    conn.rollback()
    return rows


def test_concurrent_files_import_exactly_as_one_by_one(server_url: str, template_db: str, tmp_path: Path) -> None:
    a1 = generate(31, ZONE, DAYS, 90, prefix="a")
    b1 = generate(32, ZONE, DAYS, 80, prefix="b")
    c1 = generate(33, ZONE, DAYS, 60, prefix="c")
    a2 = [dict(r) for r in a1[::3]]                     # a correction of A: a third of its calls again
    for r in a2[::2]:
        r["agent"] = "A-CORRECTED" if r["agent"] else r["agent"]
    a2[0]["outcome"] = "lost"                           # one invalid row
    b2 = [dict(r) for r in b1[::4]]                     # and one of B, moved to other agents
    for r in b2:
        r["agent"] = "A05" if r["agent"] else r["agent"]
    (tmp_path / "bad.csv").write_text("call_id;offered_at\nx;05.01.2026 10:00:00\n", encoding="utf-8")
    files = [(write_csv(tmp_path / "a1.csv", a1), "A"), (write_csv(tmp_path / "b1.csv", b1), "B"),
             (write_csv(tmp_path / "c1.csv", c1), "C"), (write_csv(tmp_path / "a2.csv", a2), "A"),
             (tmp_path / "bad.csv", "B"), (tmp_path / "a1.csv", "A"), (write_csv(tmp_path / "b2.csv", b2), "B"),
             (write_csv(tmp_path / "x.csv", c1[:5]), "NOPE"), (tmp_path / "b1.csv", "C")]
    # the services share agents A01..A12: their first files create them at the same time
    assert {r["agent"] for r in a1} & {r["agent"] for r in b1} & {r["agent"] for r in c1} - {""}

    outcomes = []
    for concurrent in (False, True):
        url = create_database(server_url, template_db)
        try:
            with psycopg.connect(url) as conn:
                services = {code: _service(conn, code) for code in ("A", "B", "C")}
                results = _outcomes(conn, files, concurrent)
                outcomes.append((results, _state(conn), _batches(conn)))
        finally:
            drop_database(server_url, url)
    (sequential, seq_state, seq_batches), (parallel, par_state, par_batches) = outcomes
    assert [r["status"] for r in parallel] == ["completed", "completed", "completed", "completed_with_errors",
                                               "rejected", "duplicate", "completed", "rejected", "completed"]
    assert parallel == sequential
    assert par_state[0] == seq_state[0]                       # intervals and agent activity per service
    assert sorted(par_state[1]) == sorted(seq_state[1])       # the calls (B's and C's share call ids)
    assert par_batches == seq_batches
    # and both are right: the current calls derive to what an independent computation gives
    by_code = {code: (iv, ag) for code, iv, ag in par_state[0]}
    calls_a = current_calls([a1, a2[1:]], ZONE)
    assert by_code["A"] == (expected_intervals(calls_a, services["A"]["groups"]), expected_agents(calls_a))
    calls_b = current_calls([b1, b2], ZONE)
    assert by_code["B"] == (expected_intervals(calls_b, services["B"]["groups"]), expected_agents(calls_b))


def test_a_file_waits_for_the_earlier_file_of_its_service(conn: psycopg.Connection, tmp_path: Path) -> None:
    """Three files of one service and one of another on three connections: the service's files
    still load one after the other, in order (their apply order is the given order)."""
    svc = _service(conn, "S")
    _service(conn, "T")
    rows = generate(41, ZONE, DAYS[:1], 30, prefix="s")
    paths = []
    for n in range(3):
        for r in rows:
            r["agent"] = f"V{n}" if r["agent"] else ""
        paths.append((write_csv(tmp_path / f"s{n}.csv", rows), "S"))
    files = [paths[0], (write_csv(tmp_path / "t.csv", generate(42, ZONE, DAYS[:1], 30, prefix="t")), "T"),
             paths[1], paths[2]]
    with ConcurrentRun(CALL_FILES, files, lambda: psycopg.connect(conn.info.dsn),
                       workers=3) as runner:
        statuses = [runner.run(conn, path, code).result.status for path, code in files]
    assert statuses == ["completed"] * 4
    order = [r[0] for r in conn.execute("SELECT file_name FROM wfm.import_batches WHERE service_id = %s "
                                        "ORDER BY apply_seq", (svc["service_id"],)).fetchall()]
    assert order == ["s0.csv", "s1.csv", "s2.csv"]
    # the last file won: every answered call with an agent is now V2's
    agents = conn.execute("SELECT DISTINCT agent_code FROM wfm.call_records WHERE service_id = %s AND is_current "
                          "AND agent_code IS NOT NULL", (svc["service_id"],)).fetchall()
    assert agents == [("V2",)]
