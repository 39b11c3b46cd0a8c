"""One corpus of agent state events, two paths: a file (``wfm import --kind agent-states``) and
the SQL API (``wfm.api_batch_insert_agent_events``) give the same verdicts (row, column, code,
message, value), store the same events and derive the same agent time. File row = JSON position
+ 1 (the header row); messages that name rows name each path's own."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb

from wfm_pipeline.argus import errors as E
from wfm_pipeline.calls.agent_loader import import_agent_file
from wfm_pipeline_tests.agent_data import AGENT_CORPUS, stored_activity, write_csv

ZONE = "Europe/Berlin"


@pytest.fixture
def two_services(conn: psycopg.Connection) -> dict[str, int]:
    ids = {}
    for code in ("FILE", "JSON"):
        ids[code] = conn.execute("INSERT INTO wfm.services (code, name, time_zone) VALUES (%s, %s, %s) "
                                 "RETURNING service_id", (code, code, ZONE)).fetchone()[0]
        conn.execute("INSERT INTO wfm.groups (service_id, code, name) VALUES (%s, 'G1', 'g')", (ids[code],))
    conn.execute("SELECT wfm.ensure_monthly_partitions(t, '2025-03-01', '2025-11-30') "
                 "FROM unnest(ARRAY['wfm.agent_activity', 'wfm.agent_state_transitions']::regclass[]) t")
    conn.commit()
    return ids


def _events(conn: psycopg.Connection, service_id: int) -> set[tuple]:
    rows = conn.execute(
        """SELECT t.agent_code, t.state, t.started_at, t.ended_at, t.reason, g.code
           FROM wfm.agent_state_transitions t LEFT JOIN wfm.groups g USING (group_id) WHERE t.service_id = %s""",
        (service_id,)).fetchall()
    conn.rollback()
    return {r[:6] for r in rows}


def _json_row(row: dict[str, str], service_id: int) -> dict[str, object]:
    return {"service_id": service_id, **{k: v for k, v in row.items() if v != ""}}


def test_file_and_json_give_the_same_verdicts_and_store_the_same_events(conn, two_services, tmp_path: Path) -> None:
    rows = [r for r, _ in AGENT_CORPUS]
    result = import_agent_file(conn, write_csv(tmp_path / "corpus.csv", rows), "FILE")
    assert result.status == "completed_with_errors"
    file_errors = {(e.row - 1, e.column, e.code): (e.message, e.value) for e in result.errors}
    expected = {(i + 1, column, code) for i, (_, want) in enumerate(AGENT_CORPUS) for column, code in want}
    assert set(file_errors) == expected

    out = conn.execute("SELECT * FROM wfm.api_batch_insert_agent_events(%s, 'conformance')",
                       (Jsonb([_json_row(r, two_services["JSON"]) for r in rows]),)).fetchone()
    conn.commit()
    assert out[1] == "completed_with_errors"
    assert (out[2], out[3] + out[4], out[5], out[6]) == (
        result.rows_total, result.rows_inserted + result.rows_updated, result.rows_rejected, result.rows_skipped)
    json_errors = conn.execute("SELECT row_number, column_name, error_code, error_message, raw_value "
                               "FROM wfm.import_errors WHERE import_batch_id = %s", (out[0],)).fetchall()
    assert {e[:3] for e in json_errors} == expected
    for position, column, code, message, value in json_errors:
        file_message, file_value = file_errors[(position, column, code)]
        assert value == file_value, (position, column, code)
        if code in (E.DUPLICATE_EVENT, E.DUPLICATE_ROW, E.EVENT_OUT_OF_ORDER, E.NOT_LOGGED_IN,
                    E.OVERLAPPING_SESSION):
            # the rows they name are each path's own: file rows count the header
            assert message == _shift_rows(file_message), (code, message, file_message)
        elif code == E.UNKNOWN_GROUP:
            assert message == E.message(code, column=column, value=value, service="JSON")
            assert file_message == E.message(code, column=column, value=value, service="FILE")
        else:
            assert message == file_message, code

    # the same events and the same agent time
    file_events = _events(conn, two_services["FILE"])
    json_events = _events(conn, two_services["JSON"])
    assert file_events == json_events and len(file_events) == result.rows_inserted
    file_time = {k: v[:10] for k, v in stored_activity(conn, two_services["FILE"]).items()}
    assert file_time == {k: v[:10] for k, v in stored_activity(conn, two_services["JSON"]).items()}
    assert file_time  # something was derived


def _shift_rows(message: str) -> str:
    """A file message with every 'row N' / 'rows N, M' made JSON positions (N - 1)."""
    def one(m: re.Match) -> str:
        return str(int(m.group(0)) - 1)

    return re.sub(r"(?<=row )\d+|(?<=rows )[\d, ]+", lambda m: re.sub(r"\d+", one, m.group(0)), message)


def test_json_path_never_creates_partitions(conn, two_services) -> None:
    rows = [{"service_id": two_services["JSON"], "agent": "A1", "state": "logged_in", "at": "01.01.2100 08:00:00"},
            {"service_id": two_services["JSON"], "agent": "A2", "state": "logged_out", "at": "01.10.2025 08:00:00"},
            {"service_id": 999999, "agent": "A1", "state": "ready", "at": "01.10.2025 08:00:00"},
            "not an object"]
    out = conn.execute("SELECT * FROM wfm.api_batch_insert_agent_events(%s)", (Jsonb(rows),)).fetchone()
    errors = conn.execute("SELECT row_number, column_name, error_code, error_message FROM wfm.import_errors "
                          "WHERE import_batch_id = %s ORDER BY 1", (out[0],)).fetchall()
    conn.commit()
    assert out[1:] == ("rejected", 4, 0, 0, 4, 0)
    assert [e[:3] for e in errors] == [(1, "at", E.NO_PARTITION), (2, "state", E.NOT_LOGGED_IN),
                                       (3, "service_id", E.UNKNOWN_SERVICE), (4, None, E.MISSING_VALUE)]
    assert errors[0][3] == E.message(E.NO_PARTITION, column="at", value="2100-01-01T07:00:00Z", month="2100-01")
    assert conn.execute("SELECT count(*) FROM wfm.partitions WHERE range_start >= '2100-01-01' "
                        "AND NOT is_guard").fetchone()[0] == 0
    conn.rollback()


def test_json_path_replaces_and_reverts_like_files(conn, two_services) -> None:
    sid = two_services["JSON"]
    day = [{"service_id": sid, "agent": "A1", "state": s, "at": t} for s, t in (
        ("logged_in", "2025-10-01T08:00:00"), ("ready", "2025-10-01T08:05:00"), ("logged_out", "2025-10-01T09:00:00"))]
    first = conn.execute("SELECT * FROM wfm.api_batch_insert_agent_events(%s)", (Jsonb(day),)).fetchone()
    conn.commit()
    assert first[1:5] == ("completed", 3, 3, 0)
    fix = [{"service_id": sid, "agent": "A1", "state": "not_ready", "at": "2025-10-01T08:05:00", "reason": "BREAK"}]
    second = conn.execute("SELECT * FROM wfm.api_batch_insert_agent_events(%s)", (Jsonb(fix),)).fetchone()
    conn.commit()
    assert second[1:5] == ("completed", 1, 0, 1)
    after = stored_activity(conn, sid)
    assert sum(v[2] for v in after.values()) == 3300 and sum(v[1] for v in after.values()) == 0
    reverted = conn.execute("SELECT * FROM wfm.revert_import_batch(%s)", (second[0],)).fetchone()
    conn.commit()
    assert reverted[2] is False
    back = stored_activity(conn, sid)
    assert sum(v[1] for v in back.values()) == 3300 and sum(v[2] for v in back.values()) == 0
