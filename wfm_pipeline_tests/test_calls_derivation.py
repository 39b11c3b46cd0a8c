"""Call records in, intervals and agent activity out: every figure the SQL derives equals an
independent computation (wfm_pipeline_tests/call_data.py) exactly, after a first import, a
correction file (re-import replaces), a revert (re-derives) and through the JSON path.

Data: a bank-like day mix in Europe/Berlin around the end of daylight-saving time (the repeated
hour) and a month end, and around the spring gap and the next month end.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb

from wfm_pipeline.argus import batches
from wfm_pipeline.argus import import_file
from wfm_pipeline.calls.loader import import_call_file
from wfm_pipeline_tests.argus_files import argus_rows, write_csv as write_argus_csv
from wfm_pipeline_tests.call_data import (
    current_calls, expected_agents, expected_intervals, generate, stored_agents, stored_intervals, write_csv,
)

ZONE = "Europe/Berlin"
AUTUMN = [dt.date(2025, 10, 25) + dt.timedelta(days=i) for i in range(8)]   # DST ends 26.10, month ends 31.10
SPRING = [dt.date(2026, 3, 28) + dt.timedelta(days=i) for i in range(5)]    # DST starts 29.03, month ends 31.03


@pytest.fixture
def calls_service(conn: psycopg.Connection) -> dict:
    sid = conn.execute("INSERT INTO wfm.services (code, name, time_zone) VALUES ('BANK', 'Bank', %s) "
                       "RETURNING service_id", (ZONE,)).fetchone()[0]
    groups = {}
    for code in ("G1", "G2"):
        groups[code] = conn.execute("INSERT INTO wfm.groups (service_id, code, name) VALUES (%s, %s, %s) "
                                    "RETURNING group_id", (sid, code, code)).fetchone()[0]
    conn.commit()
    return {"service_id": sid, "code": "BANK", "groups": groups}


def _check(conn: psycopg.Connection, service: dict, batches_rows: list[list[dict]]) -> list[dict]:
    calls = current_calls(batches_rows, ZONE)
    want = expected_intervals(calls, service["groups"])
    got = stored_intervals(conn, service["service_id"])
    conn.rollback()
    assert got.keys() == want.keys()
    bad = {k: (got[k], want[k]) for k in want if got[k] != want[k]}
    assert not bad, f"{len(bad)} intervals differ, e.g. {next(iter(bad.items()))}"
    want_agents = expected_agents(calls)
    got_agents = stored_agents(conn, service["service_id"])
    conn.rollback()
    assert got_agents.keys() == want_agents.keys()
    bad = {k: (got_agents[k], want_agents[k]) for k in want_agents if got_agents[k] != want_agents[k]}
    assert not bad, f"{len(bad)} agent intervals differ, e.g. {next(iter(bad.items()))}"
    return calls


def _corrections(rows: list[dict], seed: int) -> list[dict]:
    """A correction file: some calls sent again changed (moved, outcome, agent, group, wrap-up),
    some unchanged, a few new ones."""
    rng = random.Random(seed)
    out = []
    for row in rng.sample(rows, 60):
        new = dict(row)
        change = rng.choice(("move", "outcome", "agent", "group", "wrap", "same"))
        if change == "move" and new["offered_at"][:2].isdigit() and "." in new["offered_at"][:3]:
            day = dt.datetime.strptime(new["offered_at"], "%d.%m.%Y %H:%M:%S")
            moved = day + dt.timedelta(minutes=rng.choice((-40, -16, 17, 45)))
            if moved.month == day.month and moved.hour not in (2, 3):
                new["offered_at"] = moved.strftime("%d.%m.%Y %H:%M:%S")
                if new["answered_at"]:
                    new["answered_at"] = ""
                    new["outcome"] = "abandoned"
                    new["agent"] = ""
                    new["wrap_up_seconds"] = ""
                new["ended_at"] = (moved + dt.timedelta(seconds=30)).strftime("%d.%m.%Y %H:%M:%S")
        elif change == "outcome" and new["outcome"].lower() == "answered":
            new.update(outcome="abandoned", answered_at="", agent="", wrap_up_seconds="")
        elif change == "agent" and new["agent"]:
            new["agent"] = "A99"
        elif change == "group":
            new["group"] = {"G1": "G2", "G2": "", "": "G1"}[new["group"]]
        elif change == "wrap" and new["outcome"].lower() == "answered":
            new["wrap_up_seconds"] = str(rng.randint(0, 900))
        out.append(new)
    out += generate(seed + 1, ZONE, AUTUMN[2:4], 15, prefix="new")
    return out


def test_file_import_correction_and_revert_match_an_independent_computation(conn, calls_service,
                                                                           tmp_path: Path) -> None:
    first = generate(11, ZONE, AUTUMN, 260)
    result = import_call_file(conn, write_csv(tmp_path / "autumn.csv", first, extra=True), "BANK")
    assert result.status == "completed", result.errors[:3]
    assert (result.rows_total, result.rows_inserted, result.rows_updated) == (len(first), len(first), 0)
    calls = _check(conn, calls_service, [first])
    # the data covers what the issue lists
    assert {c["outcome"] for c in calls} == {"answered", "abandoned", "other"}
    assert any(c["outcome"] == "answered" and c["agent"] is None for c in calls)
    assert any(c["ended"] and c["ended"].month == 11 and c["offered"].month == 10 for c in calls)
    assert conn.execute("SELECT count(*) FROM wfm.agent_activity WHERE interval_start_time >= '2025-11-01+00' "
                        "AND interval_start_time < '2025-11-01 01:00+00'").fetchone()[0] > 0
    batch = conn.execute("SELECT kind, first_interval, details FROM wfm.import_batches WHERE import_batch_id = %s",
                         (result.import_batch_id,)).fetchone()
    assert batch[0] == "calls" and batch[2]["intervals_inserted"] == len(stored_intervals(conn, calls_service["service_id"]))
    conn.rollback()

    fixes = _corrections(first, 12)
    second = import_call_file(conn, write_csv(tmp_path / "fix.csv", fixes, delimiter=","), "BANK")
    assert second.status == "completed", second.errors[:3]
    assert second.rows_updated == 60 and second.rows_inserted == len(fixes) - 60
    _check(conn, calls_service, [first, fixes])
    versions = conn.execute("SELECT count(*), count(*) FILTER (WHERE is_current) FROM wfm.call_records").fetchone()
    assert versions == (len(first) + len(fixes), len(first) + len(fixes) - 60)
    conn.rollback()

    reverted = batches.revert_batch(conn, second.import_batch_id)
    conn.commit()
    assert not reverted.already_reverted and reverted.rows_restored + reverted.rows_deleted > 0
    _check(conn, calls_service, [first])
    assert batches.revert_batch(conn, second.import_batch_id).already_reverted
    conn.commit()

    batches.revert_batch(conn, result.import_batch_id)
    conn.commit()
    assert stored_intervals(conn, calls_service["service_id"]) == {}
    assert stored_agents(conn, calls_service["service_id"]) == {}
    assert conn.execute("SELECT count(*) FROM wfm.call_records WHERE is_current").fetchone()[0] == 0


def test_reverting_an_older_batch_rederives_what_a_newer_one_shares(conn, calls_service, tmp_path: Path) -> None:
    """Two batches with different calls in the same intervals: reverting the OLDER one must
    take its calls out of intervals whose current row belongs to the newer one."""
    a = generate(21, ZONE, AUTUMN[:2], 150, prefix="a")
    b = generate(22, ZONE, AUTUMN[:2], 150, prefix="b")
    ra = import_call_file(conn, write_csv(tmp_path / "a.csv", a), "BANK")
    rb = import_call_file(conn, write_csv(tmp_path / "b.csv", b), "BANK")
    assert (ra.status, rb.status) == ("completed", "completed")
    _check(conn, calls_service, [a, b])
    batches.revert_batch(conn, ra.import_batch_id)
    conn.commit()
    _check(conn, calls_service, [b])
    # a month rebuild from the history gives the same figures (one live derived row per interval)
    before = stored_intervals(conn, calls_service["service_id"])
    conn.rollback()
    batches.rebuild_month(conn, dt.date(2025, 10, 1))
    batches.rebuild_month(conn, dt.date(2025, 11, 1))
    conn.commit()
    assert stored_intervals(conn, calls_service["service_id"]) == before


def test_spring_gap_and_month_end_through_the_json_path(conn, calls_service) -> None:
    rows = generate(31, ZONE, SPRING, 200)
    conn.execute("SELECT wfm.ensure_monthly_partitions(t, '2026-03-01', '2026-04-30') "
                 "FROM unnest(ARRAY['wfm.call_records', 'wfm.contact_statistics', 'wfm.contact_statistics_history', "
                 "'wfm.agent_activity']::regclass[]) t")
    conn.commit()
    payload = [{**r, "service_id": calls_service["service_id"]} for r in rows]
    out = conn.execute("SELECT * FROM wfm.api_batch_insert_call_records(%s, 'test')", (Jsonb(payload),)).fetchone()
    conn.commit()
    assert out[1:] == ("completed", len(rows), len(rows), 0, 0, 0)
    _check(conn, calls_service, [rows])
    # a wall-clock time in the gap is a row error, not a shifted call
    gap = [{**rows[0], "call_id": "gap", "offered_at": "29.03.2026 02:30:00", "answered_at": "29.03.2026 02:31:00",
            "ended_at": "29.03.2026 03:40:00", "service_id": calls_service["service_id"]}]
    out = conn.execute("SELECT * FROM wfm.api_batch_insert_call_records(%s)", (Jsonb(gap),)).fetchone()
    errors = conn.execute("SELECT column_name, error_code FROM wfm.import_errors WHERE import_batch_id = %s "
                          "ORDER BY 1", (out[0],)).fetchall()
    conn.commit()
    assert out[1] == "rejected" and errors == [("answered_at", "INVALID_LOCAL_TIME"), ("offered_at", "INVALID_LOCAL_TIME")]


@pytest.mark.parametrize("setting", ["on", "off"])
def test_the_derivation_leaves_the_callers_planner_settings_alone(conn, calls_service, setting: str) -> None:
    # derive_agent_activity turns enable_sort off for its figures query only: the caller's value,
    # whatever it was, holds again afterwards in the same transaction
    rows = generate(32, ZONE, SPRING[:2], 50)
    conn.execute("SELECT wfm.ensure_monthly_partitions(t, '2026-03-01', '2026-04-30') "
                 "FROM unnest(ARRAY['wfm.call_records', 'wfm.contact_statistics', 'wfm.contact_statistics_history', "
                 "'wfm.agent_activity']::regclass[]) t")
    conn.commit()
    conn.execute(f"SET enable_sort = {setting}")
    payload = [{**r, "service_id": calls_service["service_id"]} for r in rows]
    out = conn.execute("SELECT * FROM wfm.api_batch_insert_call_records(%s, 'test')", (Jsonb(payload),)).fetchone()
    assert out[1] == "completed"
    assert conn.execute("SELECT current_setting('enable_sort')").fetchone()[0] == setting
    conn.commit()
    conn.execute("RESET enable_sort")
    _check(conn, calls_service, [rows])


def test_latest_batch_wins_between_call_records_and_argus_rows(conn, calls_service, tmp_path: Path) -> None:
    rows = generate(41, ZONE, [dt.date(2026, 1, 5)], 400)
    calls = import_call_file(conn, write_csv(tmp_path / "calls.csv", rows), "BANK")
    assert calls.status == "completed"
    derived = stored_intervals(conn, calls_service["service_id"])
    conn.rollback()
    t0 = dt.datetime(2026, 1, 5, 10, 0)
    argus = import_file(conn, write_argus_csv(tmp_path / "argus.csv", argus_rows(t0, 4)), "BANK")
    assert argus.status == "completed"
    utc = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.timezone.utc)   # 10:00 Berlin
    now = stored_intervals(conn, calls_service["service_id"])
    conn.rollback()
    assert now[(None, utc)][:4] == tuple(argus_rows(t0, 4)[0][1:5]) and now[(None, utc)][4] is None
    # group rows derived from calls stay (the Argus file wrote service rows only)
    assert {k for k in now if k[0] is not None} == {k for k in derived if k[0] is not None}
    batches.revert_batch(conn, argus.import_batch_id)
    conn.commit()
    assert stored_intervals(conn, calls_service["service_id"]) == derived
    conn.rollback()
    # and calls re-imported after the Argus file win over it
    argus2 = import_file(conn, write_argus_csv(tmp_path / "argus2.csv", argus_rows(t0, 4, seed=3)), "BANK")
    again = import_call_file(conn, write_csv(tmp_path / "calls2.csv", rows[:50]), "BANK")
    assert (argus2.status, again.status) == ("completed", "completed")
    later = stored_intervals(conn, calls_service["service_id"])
    conn.rollback()
    touched = {(None, c["offered"].replace(minute=c["offered"].minute // 15 * 15, second=0, microsecond=0))
               for c in current_calls([rows[:50]], ZONE) if c["outcome"] != "other"}
    overlap = touched & {(None, utc + dt.timedelta(minutes=15 * i)) for i in range(4)}
    assert overlap and {k: later[k] for k in overlap} == {k: derived[k] for k in overlap}
    untouched = {(None, utc + dt.timedelta(minutes=15 * i)) for i in range(4)} - touched
    assert all(later[key][4] is None for key in untouched)   # still the second Argus file's


def test_validate_only_and_strict_write_no_calls(conn, calls_service, tmp_path: Path) -> None:
    rows = generate(51, ZONE, [dt.date(2026, 1, 6)], 50)
    path = write_csv(tmp_path / "v.csv", rows)
    dry = import_call_file(conn, path, "BANK", validate_only=True)
    assert (dry.status, dry.rows_inserted, dry.rows_updated) == ("validated", 50, 0)
    real = import_call_file(conn, path, "BANK")
    assert real.status == "completed"
    bad = [dict(r) for r in rows]
    bad[3]["outcome"] = "lost"
    strict = import_call_file(conn, write_csv(tmp_path / "bad.csv", bad), "BANK", strict=True)
    assert strict.status == "rejected" and strict.rows_rejected == 50
    again = import_call_file(conn, write_csv(tmp_path / "dry.csv", bad), "BANK", validate_only=True)
    assert (again.status, again.rows_updated, again.rows_rejected) == ("validated", 49, 1)
    dup = import_call_file(conn, path, "BANK")
    assert dup.status == "duplicate"
    kinds = conn.execute("SELECT DISTINCT kind FROM wfm.import_batches").fetchall()
    assert kinds == [("calls",)]
    assert conn.execute("SELECT count(*) FROM wfm.call_records").fetchone()[0] == 50
