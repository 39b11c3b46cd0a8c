"""``wfm.derive_agent_states`` reads events within bounds given as values (so the planner leaves
out the months' partitions outside them): the event that holds the first interval's state may lie
in an earlier month, the last interval's events must all be read, and plans made in one session
for one service and month stay right for other services and months (a long-lived connection
imports file after file: ``wfm import FILE...``, the benchmark)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg
import pytest

from wfm_pipeline.calls.agent_loader import agent_prefetcher, import_agent_file
from wfm_pipeline_tests.agent_data import (
    event, expected_state_seconds, generate_shifts, split_by_local_day, stored_activity, write_csv,
)

UTC = dt.timezone.utc
ZONE = "UTC"


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def _service(conn: psycopg.Connection, code: str, zone: str = ZONE) -> int:
    return conn.execute("INSERT INTO wfm.services (code, name, time_zone) VALUES (%s, %s, %s) RETURNING service_id",
                        (code, code, zone)).fetchone()[0]


@pytest.fixture
def months(conn: psycopg.Connection) -> None:
    conn.execute("SELECT wfm.ensure_monthly_partitions(t, '2025-08-01', '2026-03-31') "
                 "FROM unnest(ARRAY['wfm.agent_activity', 'wfm.agent_state_transitions']::regclass[]) t")
    conn.commit()


def test_first_state_from_an_earlier_month_and_the_last_interval(conn, months, tmp_path: Path) -> None:
    """By hand (UTC service): the last file's first change at 00:07 on 1 November re-derives
    from the interval of the event before it (ready, 31 October 23:50: interval 23:45), whose
    start is held by the logged_in of 30 September 23:40 - a month earlier, read from the
    September partition for a span that begins in October. Its last interval (00:15) holds a
    talking state that starts inside it (00:20): every event up to the interval's end is read."""
    sid = _service(conn, "BOUND")
    conn.commit()
    files = [[event("A1", "logged_in", "30.09.2025 23:40:00")],
             [event("A1", "ready", "31.10.2025 23:50:00")],
             [event("A1", "not_ready", "01.11.2025 00:07:00", "BREAK"), event("A1", "talking", "01.11.2025 00:20:00"),
              event("A1", "logged_out", "01.11.2025 00:25:00")]]
    for n, rows in enumerate(files):
        result = import_agent_file(conn, write_csv(tmp_path / f"{n}.csv", rows), "BOUND")
        assert result.status == "completed", result.errors
    got = {iv: v[:5] for (_agent, iv), v in stored_activity(conn, sid).items()}
    # every interval from 30 September 23:30 to 1 November 00:15
    assert len(got) == (utc("2025-11-01 00:15") - utc("2025-09-30 23:30")) // dt.timedelta(minutes=15) + 1
    assert got[utc("2025-09-30 23:30")] == (300, 0, 0, 0, 0)        # logged in from 23:40
    assert got[utc("2025-10-15 12:00")] == (900, 0, 0, 0, 0)
    assert {iv: got[iv] for iv in sorted(got)[-3:]} == {
        # logged_in until 23:50 (300 s), ready 23:50-00:00 (600 s)
        utc("2025-10-31 23:45"): (900, 600, 0, 0, 0),
        # ready 00:00-00:07, not_ready 00:07-00:15
        utc("2025-11-01 00:00"): (900, 420, 480, 0, 0),
        # not_ready 00:15-00:20, talking 00:20-00:25, logged out
        utc("2025-11-01 00:15"): (600, 0, 300, 300, 0),
    }


def test_one_session_over_services_and_months_matches_an_independent_computation(
        conn, months, tmp_path: Path) -> None:
    """Daily files of two services in different time zones (without daylight saving) over two month ends, imported on one
    connection (its cached plans made on the first files), then a correction of a day in the
    earlier month after the later months are in: every interval equals the independent
    computation."""
    zones = {"EAST": "Asia/Tokyo", "WEST": "America/Bogota"}
    days = [dt.date(2025, 10, 29) + dt.timedelta(days=i) for i in range(5)]
    days += [dt.date(2025, 12, 30) + dt.timedelta(days=i) for i in range(4)]
    rows = {code: generate_shifts(11 + i, zone, days, 6, talking=True, prefix=code[0], night_share=0.5)
            for i, (code, zone) in enumerate(zones.items())}
    ids = {code: _service(conn, code, zone) for code, zone in zones.items()}
    conn.commit()
    files = []
    per_day = {code: split_by_local_day(r) for code, r in rows.items()}
    for day in sorted({d for parts in per_day.values() for d in parts}):
        for code, parts in per_day.items():
            if day in parts:
                files.append((write_csv(tmp_path / f"{code}-{day:%Y%m%d}.csv", parts[day]), code))
    with agent_prefetcher(files, lambda: psycopg.connect(conn.info.dsn)) as runner:
        for path, code in files:
            result = runner.run(conn, path, code).result
            assert result.status == "completed", (path.name, result.errors[:3])
    # a corrected day of October, after December is in: its agents' spans lie in an earlier month
    # than the plans of the files just before
    day = dt.date(2025, 10, 31)
    fix = [dict(r) for r in per_day["EAST"][day]]
    for r in fix:
        if r["state"] == "ready":
            r["state"] = "not_ready"
            r["reason"] = "MEETING"
            break
    result = import_agent_file(conn, write_csv(tmp_path / "EAST-fix.csv", fix), "EAST")
    assert result.status == "completed" and result.rows_updated == len(fix), result.errors[:3]
    corrected = {code: r for code, r in rows.items()}
    corrected["EAST"] = [r for r in rows["EAST"] if r not in per_day["EAST"][day]] + fix
    for code, sid in ids.items():
        want = expected_state_seconds(corrected[code], zones[code])
        got = {k: v[:5] for k, v in stored_activity(conn, sid).items()}
        assert got.keys() == want.keys()
        bad = {k: (got[k], want[k]) for k in want if got[k] != want[k]}
        assert not bad, f"{code}: {len(bad)} intervals differ, e.g. {next(iter(bad.items()))}"
        assert {iv.month for _, iv in got} >= {10, 11, 12, 1}


def test_the_derivation_is_planned_against_the_files_months_only(conn, months, tmp_path: Path) -> None:
    """The plan of the derivation statement (auto_explain of the nested statements, as the
    server made it for this file) names no partition of agent_state_transitions or agent_activity
    after the file's month: those months were left out at planning, not pruned at run time."""
    _service(conn, "PLAN")
    conn.commit()
    notes: list[str] = []
    conn.add_notice_handler(lambda d: notes.append(d.message_primary or ""))
    conn.execute("LOAD 'auto_explain'")
    for setting in ("auto_explain.log_min_duration = 0", "auto_explain.log_nested_statements = on",
                    "auto_explain.log_level = notice"):
        conn.execute("SET " + setting)
    conn.commit()
    rows = [event("A1", "logged_in", "10.11.2025 08:00:00"), event("A1", "ready", "10.11.2025 08:05:00"),
            event("A1", "logged_out", "10.11.2025 09:00:00")]
    for n in range(2):   # the second file: a span with an event before it
        day = [dict(r, at=r["at"].replace("10.11", f"{10 + n}.11")) for r in rows]
        result = import_agent_file(conn, write_csv(tmp_path / f"{n}.csv", day), "PLAN")
        assert result.status == "completed", result.errors
    plans = [p for p in notes if "Query Text: WITH spans AS MATERIALIZED" in p]
    assert len(plans) == 2
    for plan in plans:
        assert "agent_state_transitions_2025_11" in plan and "agent_activity_2025_11" in plan
        for later in ("2025_12", "2026_01", "2026_03"):
            assert f"agent_state_transitions_{later}" not in plan and f"agent_activity_{later}" not in plan, later
