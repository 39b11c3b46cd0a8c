"""The apply's one-pass summary of a batch (services, intervals touched, agent ranges: one
aggregation of the batch's calls by service and interval) and the agent pieces (one
``generate_series`` row per interval a call's talk and wrap-up cover, clipped to the range being
re-derived), on the edges the bench data rarely hits, against the independent computation in
call_data.py:

* a service whose calls in the batch are all ``other`` (it is in the batch, touches no interval
  and no agent range), and an interval holding only ``other`` calls;
* a call spreading over four intervals with its wrap-up, a call whose wrap-up ends exactly on an
  interval boundary (no piece in the next interval), a handled call with no talk and no wrap-up;
* a later batch whose agent range starts in the middle of an earlier batch's long call (the
  re-derived range is clipped: the long call's earlier intervals are left as they were).
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg.types.json import Jsonb

from wfm_pipeline_tests.call_data import (
    call_row, current_calls, expected_agents, expected_intervals, stored_agents, stored_intervals,
)

ZONE = "Europe/Berlin"


@pytest.fixture
def two_services(conn: psycopg.Connection) -> dict:
    out = {}
    for code in ("EDGE", "ONLYOTHER"):
        sid = conn.execute("INSERT INTO wfm.services (code, name, time_zone) VALUES (%s, %s, %s) "
                           "RETURNING service_id", (code, code, ZONE)).fetchone()[0]
        groups = {g: conn.execute("INSERT INTO wfm.groups (service_id, code, name) VALUES (%s, %s, %s) "
                                  "RETURNING group_id", (sid, g, g)).fetchone()[0] for g in ("G1", "G2")}
        out[code] = {"service_id": sid, "groups": groups}
    conn.execute("SELECT wfm.ensure_monthly_partitions(t, '2026-01-01', '2026-01-31') "
                 "FROM unnest(ARRAY['wfm.call_records', 'wfm.contact_statistics', 'wfm.contact_statistics_history', "
                 "'wfm.agent_activity']::regclass[]) t")
    conn.commit()
    return out


def _send(conn: psycopg.Connection, rows: list[tuple[int, dict]]) -> tuple:
    payload = [{**row, "service_id": sid} for sid, row in rows]
    out = conn.execute("SELECT * FROM wfm.api_batch_insert_call_records(%s, 'test')", (Jsonb(payload),)).fetchone()
    conn.commit()
    return out


def _details(conn: psycopg.Connection, batch_id) -> dict:
    details = conn.execute("SELECT details FROM wfm.import_batches WHERE import_batch_id = %s", (batch_id,)).fetchone()[0]
    conn.rollback()
    return details


def _assert_derived(conn: psycopg.Connection, service: dict, batches_rows: list[list[dict]]) -> None:
    calls = current_calls(batches_rows, ZONE)
    assert stored_intervals(conn, service["service_id"]) == expected_intervals(calls, service["groups"])
    assert stored_agents(conn, service["service_id"]) == expected_agents(calls)
    conn.rollback()


# (local times, January: UTC+1; intervals are UTC 15-minute bins)
FIRST = [
    # over four intervals: talk 10:00:15-10:40:00, wrap-up 330 s to 10:45:30 (local 10:xx = 09:xx UTC)
    call_row("long", offered="05.01.2026 10:00:00", answered="05.01.2026 10:00:15", ended="05.01.2026 10:40:00",
             wrap="330"),
    # talk and wrap-up end exactly on the 10:15 boundary: nothing in the 10:15 interval
    call_row("edge", offered="05.01.2026 10:05:00", answered="05.01.2026 10:05:10", ended="05.01.2026 10:14:00",
             wrap="60", agent="A2", customer="222"),
    # answered, handled, no talk and no wrap-up
    call_row("zero", offered="05.01.2026 10:20:00", answered="05.01.2026 10:20:30", ended="05.01.2026 10:20:30",
             wrap="0", agent="A3", customer="", group="G2"),
    call_row("ab", offered="05.01.2026 10:21:00", answered="", ended="05.01.2026 10:22:00", outcome="abandoned",
             agent="", customer="111", wrap="", group="G2"),
    # an interval with only `other` calls: no row
    call_row("o1", offered="05.01.2026 11:02:00", answered="", ended="", outcome="other", agent="", customer="",
             wrap="", group=""),
]
ONLY_OTHER = [
    call_row(f"x{i}", offered=f"05.01.2026 12:0{i}:00", answered="", ended="", outcome="other", agent="",
             customer="", wrap="", group="G1") for i in range(3)
]
# a later batch whose one agent call lies inside the first batch's long call (10:30 interval)
SECOND = [
    call_row("later", offered="05.01.2026 10:31:00", answered="05.01.2026 10:31:20", ended="05.01.2026 10:33:00",
             wrap="15", agent="A1", customer="333", group="G2"),
]


def test_one_pass_summary_and_agent_pieces_on_the_edges(conn: psycopg.Connection, two_services: dict) -> None:
    edge, only_other = two_services["EDGE"], two_services["ONLYOTHER"]
    out = _send(conn, [(edge["service_id"], r) for r in FIRST] + [(only_other["service_id"], r) for r in ONLY_OTHER])
    assert out[1:] == ("completed", len(FIRST) + len(ONLY_OTHER), len(FIRST) + len(ONLY_OTHER), 0, 0, 0)
    _assert_derived(conn, edge, [FIRST])
    # the only-other service is in the batch (its calls are stored and current) and derives nothing
    assert stored_intervals(conn, only_other["service_id"]) == {}
    assert stored_agents(conn, only_other["service_id"]) == {}
    assert conn.execute("SELECT count(*) FROM wfm.call_records WHERE service_id = %s AND is_current",
                        (only_other["service_id"],)).fetchone()[0] == len(ONLY_OTHER)
    conn.rollback()
    # what the apply reports is what it wrote
    want = expected_intervals(current_calls([FIRST], ZONE), edge["groups"])
    details = _details(conn, out[0])
    assert details["intervals_inserted"] == len(want) and details["intervals_updated"] == 0
    assert details["agent_rows_written"] == len(expected_agents(current_calls([FIRST], ZONE)))
    # the long call has pieces in 09:00, 09:15, 09:30 and 09:45 UTC; "edge" none after 09:00
    agents = stored_agents(conn, edge["service_id"])
    conn.rollback()
    assert sorted(k[1].strftime("%H:%M") for k in agents if k[0] == "A1") == ["09:00", "09:15", "09:30", "09:45"]
    assert [k[1].strftime("%H:%M") for k in agents if k[0] == "A2"] == ["09:00"]
    assert [v for k, v in agents.items() if k[0] == "A3"] == [(0, 0, 1)]

    # the later batch re-derives only the 09:30 interval of EDGE (its range), where the long call
    # and the new one meet; the long call's other intervals stay as the first batch wrote them
    second = _send(conn, [(edge["service_id"], r) for r in SECOND])
    assert second[1] == "completed"
    _assert_derived(conn, edge, [FIRST, SECOND])
    details = _details(conn, second[0])
    assert details["agent_rows_written"] == 1 and details["agent_rows_deleted"] == 0


def _has_statistics(conn: psycopg.Connection, partition: str) -> bool:
    found = conn.execute("SELECT EXISTS (SELECT 1 FROM pg_stats WHERE schemaname = 'wfm' AND tablename = %s)",
                         (partition,)).fetchone()[0]
    conn.rollback()
    return found


def test_a_fresh_months_second_batch_is_planned_with_statistics(conn: psycopg.Connection, two_services: dict) -> None:
    """The apply of a batch that meets earlier batches of its month joins its calls with the
    month's by (service, call_id). On a month partition never analyzed the planner took default
    selectivities and scanned the service's month once per call (a fresh month's second file of
    20,000 calls: 182 s instead of 2 s). That apply now analyzes such a partition first; the first
    batch (nothing to join) does not."""
    sid = two_services["EDGE"]["service_id"]
    partition = "call_records_2026_01"
    conn.execute(f"ALTER TABLE wfm.{partition} SET (autovacuum_enabled = false)")  # no autovacuum race
    conn.commit()
    day1 = [call_row(f"d1-{n}", offered=f"05.01.2026 10:{n:02d}:00", answered=f"05.01.2026 10:{n:02d}:10",
                     ended=f"05.01.2026 10:{n:02d}:50") for n in range(40)]
    day2 = [call_row(f"d2-{n}", offered=f"06.01.2026 10:{n:02d}:00", answered=f"06.01.2026 10:{n:02d}:10",
                     ended=f"06.01.2026 10:{n:02d}:50") for n in range(40)]
    assert _send(conn, [(sid, r) for r in day1])[1] == "completed"
    assert not _has_statistics(conn, partition)  # nothing to join: no ANALYZE on the way
    assert _send(conn, [(sid, r) for r in day2])[1] == "completed"
    assert _has_statistics(conn, partition)
    _assert_derived(conn, two_services["EDGE"], [day1, day2])


def test_analyze_partitions_without_statistics_takes_only_those(conn: psycopg.Connection, two_services: dict) -> None:
    conn.execute("SELECT wfm.ensure_monthly_partitions('wfm.call_records', '2026-02-01', '2026-03-31')")
    conn.commit()

    def analyzed(first: str, end: str) -> int:
        count = conn.execute("SELECT wfm.analyze_partitions_without_statistics('wfm.call_records', %s, %s)",
                             (first, end)).fetchone()[0]
        conn.commit()
        return count
    # January and February (empty: ANALYZE stores no statistics for them, so they stay candidates)
    assert analyzed("2026-01-15", "2026-02-15") == 2
    _send(conn, [(two_services["EDGE"]["service_id"], call_row("feb", offered="02.02.2026 10:00:00",
                                                            answered="02.02.2026 10:00:10", ended="02.02.2026 10:01:00"))])
    assert not _has_statistics(conn, "call_records_2026_02")
    assert analyzed("2026-02-01", "2026-03-01") == 1  # February only
    assert _has_statistics(conn, "call_records_2026_02") and not _has_statistics(conn, "call_records_2026_03")
    assert analyzed("2026-02-01", "2026-03-01") == 0  # it has them now
