"""Agent state events in, state intervals and per-interval agent time out (issue 14).

Hand-computed cases first (every figure below was worked out on paper from the events), then a
generated month-end with night shifts split into daily files, checked against an independent
computation (agent_data.expected_state_seconds), corrections, reverts, and the combination with
call records in either order.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg
import pytest

from wfm_pipeline.argus import batches
from wfm_pipeline.argus import errors as E
from wfm_pipeline.calls.agent_loader import import_agent_file
from wfm_pipeline.calls.loader import import_call_file
from wfm_pipeline_tests.agent_data import (
    combined, event, expected_state_seconds, generate_shifts, split_by_local_day, stored_activity, write_csv,
)

ZONE = "Europe/Berlin"
UTC = dt.timezone.utc


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def svc(conn: psycopg.Connection) -> dict:
    sid = conn.execute("INSERT INTO wfm.services (code, name, time_zone) VALUES ('DESK', 'Desk', %s) "
                       "RETURNING service_id", (ZONE,)).fetchone()[0]
    conn.execute("INSERT INTO wfm.groups (service_id, code, name) VALUES (%s, 'G1', 'g')", (sid,))
    conn.execute("SELECT wfm.ensure_monthly_partitions(t, '2025-09-01', '2025-12-31') "
                 "FROM unnest(ARRAY['wfm.agent_activity', 'wfm.agent_state_transitions', 'wfm.call_records', "
                 "'wfm.contact_statistics', 'wfm.contact_statistics_history']::regclass[]) t")
    conn.commit()
    return {"service_id": sid, "code": "DESK"}


# One day of two agents, Europe/Berlin (UTC+2 on 1 October 2025).
DAY_ONE = [
    event("A1", "logged_in", "01.10.2025 08:00:00"),
    event("A1", "ready", "01.10.2025 08:00:30"),
    event("A1", "not_ready", "01.10.2025 08:20:00", "BREAK"),
    event("A1", "ready", "01.10.2025 08:35:00"),
    event("A1", "talking", "01.10.2025 08:50:00"),
    event("A1", "post_processing", "01.10.2025 08:55:00"),
    event("A1", "ready", "01.10.2025 08:56:40"),
    event("A1", "logged_out", "01.10.2025 09:10:00"),
    event("A2", "logged_in", "01.10.2025 08:40:00"),
    event("A2", "ready", "01.10.2025 08:41:00"),       # still ready when the file ends: open
]
# (state_logged_in, ready, not_ready, talking, post_processing) per UTC interval, by hand
A1_STATES = {
    utc("2025-10-01 06:00"): (900, 870, 0, 0, 0),      # 30 s logged_in, 870 s ready
    utc("2025-10-01 06:15"): (900, 300, 600, 0, 0),
    utc("2025-10-01 06:30"): (900, 600, 300, 0, 0),
    utc("2025-10-01 06:45"): (900, 500, 0, 300, 100),  # ready 300 + 200, talking 300, post 100
    utc("2025-10-01 07:00"): (600, 600, 0, 0, 0),      # logged out at 07:10 UTC
}


def test_events_become_state_intervals_and_interval_seconds(conn, svc, tmp_path: Path) -> None:
    result = import_agent_file(conn, write_csv(tmp_path / "day1.csv", DAY_ONE), "DESK")
    assert result.status == "completed", result.errors
    assert (result.rows_total, result.rows_inserted, result.rows_updated, result.rows_rejected) == (10, 10, 0, 0)

    spans = conn.execute("SELECT agent_code, state, started_at, ended_at, reason FROM wfm.agent_state_transitions "
                         "WHERE is_current ORDER BY agent_code, started_at").fetchall()
    assert spans[2] == ("A1", "not_ready", utc("2025-10-01 06:20"), utc("2025-10-01 06:35"), "BREAK")
    assert spans[7] == ("A1", "logged_out", utc("2025-10-01 07:10"), None, None)    # the last event: open
    assert spans[9] == ("A2", "ready", utc("2025-10-01 06:41"), None, None)         # never guessed
    assert all(s[3] is not None for s in spans[:7]) and spans[8][3] == utc("2025-10-01 06:41")

    got = stored_activity(conn, svc["service_id"])
    want = {("A1", iv): (*s, *combined(s, None, None), 0, "states") for iv, s in A1_STATES.items()}
    assert got == want
    # the talking state fills talk/post-processing when there are no call records: ready is idle time
    assert got[("A1", utc("2025-10-01 06:45"))][5:10] == (900, 500, 0, 300, 100)
    # A2's interval with the open state says nothing yet: no row, not a guess
    assert not any(agent == "A2" for agent, _ in got)
    batch = conn.execute("SELECT kind, first_interval, last_interval, details FROM wfm.import_batches "
                         "WHERE import_batch_id = %s", (result.import_batch_id,)).fetchone()
    assert batch[:3] == ("agent_states", utc("2025-10-01 06:00"), utc("2025-10-01 07:00"))
    assert batch[3]["agent_rows_written"] == 5


def test_a_later_file_closes_an_open_state(conn, svc, tmp_path: Path) -> None:
    import_agent_file(conn, write_csv(tmp_path / "day1.csv", DAY_ONE), "DESK")
    later = [event("A2", "not_ready", "01.10.2025 09:05:00", "LUNCH"), event("A2", "logged_out", "01.10.2025 09:20:00")]
    result = import_agent_file(conn, write_csv(tmp_path / "day1b.csv", later), "DESK")
    assert result.status == "completed", result.errors
    got = stored_activity(conn, svc["service_id"])
    a2 = {iv: v[:5] for (agent, iv), v in got.items() if agent == "A2"}
    assert a2 == {utc("2025-10-01 06:30"): (300, 240, 0, 0, 0),    # 60 s logged_in + 240 s ready
                  utc("2025-10-01 06:45"): (900, 900, 0, 0, 0),
                  utc("2025-10-01 07:00"): (900, 300, 600, 0, 0),
                  utc("2025-10-01 07:15"): (300, 0, 300, 0, 0)}
    assert conn.execute("SELECT ended_at FROM wfm.agent_state_transitions WHERE agent_code = 'A2' "
                        "AND state = 'ready'").fetchone()[0] == utc("2025-10-01 07:05")
    # A1 untouched
    assert {iv: v[:5] for (agent, iv), v in got.items() if agent == "A1"} == A1_STATES


def test_session_rules_hold_against_stored_events(conn, svc, tmp_path: Path) -> None:
    """The previous event of an agent may be in an earlier file: a login while the stored
    timeline has the agent logged in overlaps; a state after a stored logout needs a login."""
    import_agent_file(conn, write_csv(tmp_path / "day1.csv", DAY_ONE), "DESK")
    nxt = [event("A2", "logged_in", "01.10.2025 09:00:00"),           # A2 is still ready (stored)
           event("A1", "ready", "01.10.2025 09:30:00"),               # A1 logged out at 09:10 (stored)
           event("A1", "logged_in", "01.10.2025 09:40:00"),
           event("A1", "ready", "01.10.2025 09:41:00")]
    result = import_agent_file(conn, write_csv(tmp_path / "day1c.csv", nxt), "DESK")
    assert result.status == "completed_with_errors"
    assert [(e.row, e.column, e.code) for e in result.errors] == [
        (2, "state", E.OVERLAPPING_SESSION), (3, "state", E.NOT_LOGGED_IN)]
    assert result.errors[0].message == E.message(
        E.OVERLAPPING_SESSION, column="state", value="logged_in",
        reason="ready at 2025-10-01 08:41:00, stored")
    assert result.errors[1].message == E.message(
        E.NOT_LOGGED_IN, column="state", value="ready",
        reason="logged_out at 2025-10-01 09:10:00, stored")
    assert (result.rows_inserted, result.rows_rejected) == (2, 2)


def test_row_errors_name_row_column_and_value(conn, svc, tmp_path: Path) -> None:
    rows = [event("A1", "logged_in", "01.10.2025 08:00:00"),
            event("A1", "ready", "01.10.2025 08:05:00"),
            event("A1", "ready", "01.10.2025 08:03:00"),                  # out of order
            event("A1", "ready", "01.10.2025 08:05:00", "R2"),            # same time and state, other reason
            event("A1", "logged_out", "01.10.2025 09:00:00"),
            event("A1", "logged_out", "01.10.2025 09:01:00"),             # logout without login
            event("A1", "logged_in", "01.10.2025 09:05:00"),
            event("A1", "logged_in", "01.10.2025 09:06:00"),              # overlapping session
            event("A1", "logged_in", "01.10.2025 09:06:00"),              # exact copy: skipped
            event("A1", "break", "01.10.2025 09:07:00")]
    result = import_agent_file(conn, write_csv(tmp_path / "bad.csv", rows), "DESK")
    assert [(e.row, e.column, e.code) for e in result.errors] == [
        (3, "at", E.DUPLICATE_EVENT), (4, "at", E.EVENT_OUT_OF_ORDER), (5, "at", E.DUPLICATE_EVENT),
        (7, "state", E.NOT_LOGGED_IN), (9, "state", E.OVERLAPPING_SESSION), (10, None, E.DUPLICATE_ROW),
        (11, "state", E.INVALID_STATE)]
    messages = {e.row: e.message for e in result.errors}
    assert messages[4] == E.message(E.EVENT_OUT_OF_ORDER, column="at", value="01.10.2025 08:03:00", first_row=3)
    assert messages[3] == E.message(E.DUPLICATE_EVENT, column="at", value="01.10.2025 08:05:00", rows="3, 5")
    assert messages[10] == E.message(E.DUPLICATE_ROW, value="01.10.2025 09:06:00", first_row=9)
    assert messages[7] == E.message(E.NOT_LOGGED_IN, column="state", value="logged_out",
                                    reason="logged_out at 2025-10-01 09:00:00, row 6")
    assert (result.rows_total, result.rows_inserted, result.rows_rejected, result.rows_skipped) == (10, 3, 6, 1)
    stored = conn.execute("SELECT count(*), count(*) FILTER (WHERE state = 'logged_in') "
                          "FROM wfm.agent_state_transitions").fetchone()
    assert stored == (3, 2)
    errors = conn.execute("SELECT row_number, column_name, error_code FROM wfm.import_errors "
                          "WHERE import_batch_id = %s ORDER BY row_number", (result.import_batch_id,)).fetchall()
    assert [tuple(e) for e in errors] == [(e.row, e.column, e.code) for e in result.errors]


def test_states_in_the_same_second_keep_the_input_order(conn, svc, tmp_path: Path) -> None:
    """An ACD often logs an agent in and makes them ready in the same second: both count, in the
    file's order (the login lasts no time), and a correction sending them again replaces both."""
    rows = [event("A1", "logged_in", "01.10.2025 08:00:00"), event("A1", "ready", "01.10.2025 08:00:00"),
            event("A1", "not_ready", "01.10.2025 08:10:00", "BREAK"), event("A1", "ready", "01.10.2025 08:10:00"),
            event("A1", "logged_out", "01.10.2025 08:20:00")]
    result = import_agent_file(conn, write_csv(tmp_path / "same.csv", rows), "DESK")
    assert result.status == "completed", result.errors
    spans = conn.execute("SELECT state, started_at, ended_at FROM wfm.agent_state_transitions "
                         "ORDER BY started_at").fetchall()
    us = dt.timedelta(microseconds=1)
    assert spans == [("logged_in", utc("2025-10-01 06:00"), utc("2025-10-01 06:00") + us),
                     ("ready", utc("2025-10-01 06:00") + us, utc("2025-10-01 06:10")),
                     ("not_ready", utc("2025-10-01 06:10"), utc("2025-10-01 06:10") + us),
                     ("ready", utc("2025-10-01 06:10") + us, utc("2025-10-01 06:20")),
                     ("logged_out", utc("2025-10-01 06:20"), None)]
    got = stored_activity(conn, svc["service_id"])
    assert got[("A1", utc("2025-10-01 06:00"))][:5] == (900, 900, 0, 0, 0)
    assert got[("A1", utc("2025-10-01 06:15"))][:5] == (300, 300, 0, 0, 0)
    again = import_agent_file(conn, write_csv(tmp_path / "same2.csv", rows[:2]), "DESK")
    assert (again.rows_inserted, again.rows_updated) == (0, 2)


def test_file_level_problems_reject_the_file(conn, svc, tmp_path: Path) -> None:
    path = tmp_path / "nocol.csv"
    path.write_text("agent;status;at\nA1;ready;01.10.2025 08:00:00\n")
    result = import_agent_file(conn, path, "DESK")
    assert result.status == "rejected"
    assert result.errors[-1].code == E.MISSING_EVENT_COLUMN
    assert result.errors[-1].message == E.message(E.MISSING_EVENT_COLUMN, file="nocol.csv", columns="state")
    kind = conn.execute("SELECT kind FROM wfm.import_batches WHERE import_batch_id = %s",
                        (result.import_batch_id,)).fetchone()[0]
    assert kind == "agent_states"


def test_corrections_replace_events_and_revert_restores(conn, svc, tmp_path: Path) -> None:
    first = import_agent_file(conn, write_csv(tmp_path / "day1.csv", DAY_ONE), "DESK")
    before = stored_activity(conn, svc["service_id"])
    # the break was sent as 08:20 but was 08:25; the 08:35 ready becomes not_ready (a longer break)
    fix = [event("A1", "not_ready", "01.10.2025 08:35:00", "MEETING"),
           event("A1", "ready", "01.10.2025 08:45:00")]
    second = import_agent_file(conn, write_csv(tmp_path / "fix.csv", fix), "DESK")
    assert second.status == "completed", second.errors
    assert (second.rows_inserted, second.rows_updated) == (1, 1)
    got = stored_activity(conn, svc["service_id"])
    assert got[("A1", utc("2025-10-01 06:30"))][:5] == (900, 0, 900, 0, 0)     # not ready 06:30-06:45
    assert got[("A1", utc("2025-10-01 06:45"))][:5] == (900, 500, 0, 300, 100)
    assert conn.execute("SELECT count(*) FILTER (WHERE is_current), count(*) FROM wfm.agent_state_transitions "
                        "WHERE agent_code = 'A1'").fetchone() == (9, 10)

    reverted = batches.revert_batch(conn, second.import_batch_id)
    conn.commit()
    assert not reverted.already_reverted
    assert stored_activity(conn, svc["service_id"]) == before
    spans = conn.execute("SELECT state, started_at, ended_at FROM wfm.agent_state_transitions "
                         "WHERE agent_code = 'A1' AND is_current ORDER BY started_at").fetchall()
    assert [s[0] for s in spans] == [e["state"] for e in DAY_ONE[:8]]
    assert all(a[2] == b[1] for a, b in zip(spans, spans[1:]))
    assert batches.revert_batch(conn, second.import_batch_id).already_reverted
    conn.commit()

    batches.revert_batch(conn, first.import_batch_id)
    conn.commit()
    assert stored_activity(conn, svc["service_id"]) == {}
    assert conn.execute("SELECT count(*) FROM wfm.agent_state_transitions WHERE is_current").fetchone()[0] == 0


def test_daily_files_with_night_shifts_match_an_independent_computation(conn, svc, tmp_path: Path) -> None:
    """Ten days over a month end, agents on day and night shifts, one file per local day (a night
    shift's session is open at the end of a file until the next file closes it); states with and
    without talking. Every interval equals the independent computation, and a file imported
    again is a duplicate that changes nothing."""
    days = [dt.date(2025, 10, 24) + dt.timedelta(days=i) for i in range(10)]    # DST ends 26.10; month end
    rows = generate_shifts(7, ZONE, days, 12, prefix="N", night_share=0.4)
    rows += generate_shifts(8, ZONE, days, 6, talking=True, prefix="T", night_share=0.0)
    rows = [r for r in rows if not r["at"].startswith("26.10.2025 02:")]   # the repeated hour: its own test
    results = []
    for day, part in split_by_local_day(rows).items():
        results.append(import_agent_file(conn, write_csv(tmp_path / f"{day:%Y%m%d}.csv", part), "DESK"))
    assert all(r.status == "completed" for r in results), [e for r in results for e in r.errors][:5]
    want = expected_state_seconds(rows, ZONE)
    got = {k: v[:5] for k, v in stored_activity(conn, svc["service_id"]).items()}
    assert got.keys() == want.keys()
    bad = {k: (got[k], want[k]) for k in want if got[k] != want[k]}
    assert not bad, f"{len(bad)} intervals differ, e.g. {next(iter(bad.items()))}"
    # the derivation's invariant: state seconds fit in the logged-in time (the table's CHECK too)
    assert conn.execute("SELECT count(*) FROM wfm.agent_activity WHERE ready_seconds + talk_seconds "
                        "+ post_processing_seconds + not_ready_seconds > logged_in_seconds").fetchone()[0] == 0
    # crossing the month end: a night shift's intervals in November came from two files
    assert any(iv.month == 11 and agent.startswith("N") for agent, iv in got)
    conn.rollback()
    again = import_agent_file(conn, tmp_path / f"{days[3]:%Y%m%d}.csv", "DESK")
    assert again.status == "duplicate"


def test_repeated_hour_takes_the_later_instant_when_time_goes_on(conn, svc, tmp_path: Path) -> None:
    """26.10.2025 02:00-03:00 happens twice in Europe/Berlin: 02:50 then 02:10 is the second pass."""
    rows = [event("A1", "logged_in", "26.10.2025 01:55:00"),
            event("A1", "ready", "26.10.2025 02:50:00"),          # CEST: 00:50 UTC
            event("A1", "not_ready", "26.10.2025 02:10:00"),      # CET: 01:10 UTC
            event("A1", "ready", "26.10.2025 02:20:00"),          # CET: 01:20 UTC
            event("A1", "logged_out", "26.10.2025 03:00:00")]     # CET: 02:00 UTC
    result = import_agent_file(conn, write_csv(tmp_path / "dst.csv", rows), "DESK")
    assert result.status == "completed", result.errors
    starts = [r[0] for r in conn.execute("SELECT started_at FROM wfm.agent_state_transitions ORDER BY 1")]
    assert starts == [utc("2025-10-25 23:55"), utc("2025-10-26 00:50"), utc("2025-10-26 01:10"),
                      utc("2025-10-26 01:20"), utc("2025-10-26 02:00")]


def test_states_and_calls_combine_the_same_in_either_order(conn, svc, tmp_path: Path) -> None:
    """Call records and states of the same agents, loaded calls-first into one service and
    states-first into another: identical agent_activity, by the documented rule."""
    other = conn.execute("INSERT INTO wfm.services (code, name, time_zone) VALUES ('DESK2', 'Desk 2', %s) "
                         "RETURNING service_id", (ZONE,)).fetchone()[0]
    conn.commit()
    states = DAY_ONE[:8] + [
        event("A3", "logged_in", "01.10.2025 10:00:00"), event("A3", "ready", "01.10.2025 10:00:10"),
        event("A3", "not_ready", "01.10.2025 10:01:00"), event("A3", "logged_out", "01.10.2025 10:02:00")]
    calls = tmp_path / "calls.csv"
    calls.write_text(
        "call_id;offered_at;answered_at;ended_at;outcome;agent;wrap_up_seconds\n"
        "c1;01.10.2025 08:09:50;01.10.2025 08:10:00;01.10.2025 08:14:00;answered;A1;30\n"    # while ready
        "c2;01.10.2025 08:49:55;01.10.2025 08:50:00;01.10.2025 08:55:00;answered;A1;100\n"   # = talking state
        "c3;01.10.2025 10:02:30;01.10.2025 10:03:00;01.10.2025 10:13:00;answered;A3;0\n"     # after logout
        "c4;01.10.2025 07:00:00;01.10.2025 07:00:10;01.10.2025 07:02:00;answered;A1;0\n")    # before login
    state_file = write_csv(tmp_path / "states.csv", states)
    assert import_call_file(conn, calls, "DESK").status == "completed"
    assert import_agent_file(conn, state_file, "DESK").status == "completed"
    assert import_agent_file(conn, state_file, "DESK2").status == "completed"
    assert import_call_file(conn, calls, "DESK2").status == "completed"
    first = stored_activity(conn, svc["service_id"])
    assert first == stored_activity(conn, other)

    a1 = {iv: v for (agent, iv), v in first.items() if agent == "A1"}
    # 06:00: ready 870 s of which the call took 240 + 30: idle ready 600
    assert a1[utc("2025-10-01 06:00")][5:] == (900, 600, 0, 240, 30, 1, "calls")
    # 06:45: the call matches the talking/post_processing states: the same figures as states alone
    assert a1[utc("2025-10-01 06:45")][5:] == (900, 500, 0, 300, 100, 1, "calls")
    # 05:00: a call before the login, no state figures: logged-in unknown
    assert a1[utc("2025-10-01 05:00")][:8] == (None, None, None, None, None, None, None, None)
    # A3: logged in 120 s (ready 50, not ready 60); the call talks 600 s: logged-in raised to 600
    a3 = first[("A3", utc("2025-10-01 08:00"))]
    assert a3[:5] == (120, 50, 60, 0, 0) and a3[5:10] == (600, 0, 0, 600, 0)
    assert a3[5:10] == combined(a3[:5], 600, 0)
    # intervals without calls keep the states' figures
    assert a1[utc("2025-10-01 06:15")][5:] == (900, 300, 600, 0, 0, 0, "states")

    # reverting the calls: talk falls back to the states, rows only calls made go
    call_batch = conn.execute("SELECT import_batch_id FROM wfm.import_batches WHERE kind = 'calls' "
                              "AND service_id = %s", (svc["service_id"],)).fetchone()[0]
    batches.revert_batch(conn, call_batch)
    conn.commit()
    only_states = stored_activity(conn, svc["service_id"])
    assert {k: v[:5] for k, v in only_states.items()} == {
        k: v[:5] for k, v in first.items() if v[0] is not None}
    assert all(v[10:] == (0, "states") and v[5:10] == combined(v[:5], None, None) for v in only_states.values())


def test_validate_only_and_strict_write_nothing_but_the_audit(conn, svc, tmp_path: Path) -> None:
    rows = DAY_ONE + [event("A9", "ready", "01.10.2025 09:00:00")]          # NOT_LOGGED_IN
    path = write_csv(tmp_path / "day1.csv", rows)
    checked = import_agent_file(conn, path, "DESK", validate_only=True)
    assert (checked.status, checked.rows_inserted, checked.rows_rejected) == ("validated", 10, 1)
    strict = import_agent_file(conn, path, "DESK", strict=True)
    assert strict.status == "rejected" and strict.errors[-1].code == E.STRICT_MODE
    assert conn.execute("SELECT count(*) FROM wfm.agent_state_transitions").fetchone()[0] == 0
    assert stored_activity(conn, svc["service_id"]) == {}
    kinds = conn.execute("SELECT kind, status FROM wfm.import_batches ORDER BY created_at").fetchall()
    assert kinds == [("agent_states", "validated"), ("agent_states", "rejected")]
    conn.rollback()
    done = import_agent_file(conn, path, "DESK")
    assert (done.status, done.rows_inserted) == ("completed_with_errors", 10)
    again = import_agent_file(conn, write_csv(tmp_path / "fix.csv", DAY_ONE[:2]), "DESK", validate_only=True)
    assert (again.status, again.rows_inserted, again.rows_updated) == ("validated", 0, 2)
