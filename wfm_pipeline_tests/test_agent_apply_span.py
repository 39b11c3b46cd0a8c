"""``wfm.apply_agent_states_batch`` with the span of the events written (the file loader passes
the first and last event time and their number, so the batch's events are read from those months
only): the same outcome as without it, and a span or count that does not match the batch raises
before anything is applied."""

from __future__ import annotations

import datetime as dt
import uuid

import psycopg
import pytest

from wfm_pipeline.argus.loader import Target
from wfm_pipeline.calls.agent_loader import _copy_events, validate_file
from wfm_pipeline.calls.agent_reader import read_agent_file
from wfm_pipeline_tests.agent_data import event, write_csv

ZONE = "Europe/Berlin"
# over the month end (UTC): the span covers two monthly partitions
EVENTS = [event("A1", "logged_in", "31.10.2025 22:00:00"), event("A1", "ready", "31.10.2025 23:30:00"),
          event("A1", "not_ready", "01.11.2025 01:10:00", "BREAK"), event("A1", "logged_out", "01.11.2025 02:00:00"),
          event("A2", "logged_in", "01.11.2025 00:20:00")]


@pytest.fixture
def loaded(conn: psycopg.Connection, tmp_path) -> tuple[uuid.UUID, object]:
    """A running batch whose events were COPYed in the open transaction (not applied yet)."""
    sid = conn.execute("INSERT INTO wfm.services (code, name, time_zone) VALUES ('DESK', 'Desk', %s) "
                       "RETURNING service_id", (ZONE,)).fetchone()[0]
    conn.execute("SELECT wfm.ensure_monthly_partitions(t, '2025-09-01', '2025-12-31') "
                 "FROM unnest(ARRAY['wfm.agent_activity', 'wfm.agent_state_transitions']::regclass[]) t")
    conn.commit()
    target = Target(sid, "DESK", ZONE)
    valid = validate_file(conn, read_agent_file(write_csv(tmp_path / "a.csv", EVENTS)), target).valid
    assert len(valid) == len(EVENTS)
    batch = conn.execute("INSERT INTO wfm.import_batches (source, status, kind, service_id) "
                         "VALUES ('file', 'running', 'agent_states', %s) RETURNING import_batch_id", (sid,)).fetchone()[0]
    _copy_events(conn, valid, batch)
    return batch, valid


def _derived(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute("SELECT g.code, a.interval_start_time, a.state_logged_in_seconds, a.state_ready_seconds, "
                        "a.state_not_ready_seconds, a.logged_in_seconds FROM wfm.agent_activity a "
                        "JOIN wfm.agents g USING (agent_id) ORDER BY 1, 2").fetchall()


def test_the_span_gives_what_the_batch_alone_gives(conn: psycopg.Connection, loaded) -> None:
    batch, valid = loaded
    first, last = valid["at"].min().to_pydatetime(), valid["at"].max().to_pydatetime()
    assert first.astimezone(dt.timezone.utc).month == 10 and last.astimezone(dt.timezone.utc).month == 11
    with conn.transaction(force_rollback=True):
        alone = conn.execute("SELECT * FROM wfm.apply_agent_states_batch(%s)", (batch,)).fetchone()
        alone_rows = _derived(conn)
    with_span = conn.execute("SELECT * FROM wfm.apply_agent_states_batch(%s, %s, %s, %s)",
                             (batch, first, last, len(valid))).fetchone()
    assert with_span == alone and with_span[0] == 5
    assert _derived(conn) == alone_rows and len(alone_rows) == 16   # A1 from 21:00 to 01:00 UTC (A2 open)


@pytest.mark.parametrize("shift", ["late_first", "early_last", "count"])
def test_a_span_that_misses_events_raises(conn: psycopg.Connection, loaded, shift: str) -> None:
    batch, valid = loaded
    first, last = valid["at"].min().to_pydatetime(), valid["at"].max().to_pydatetime()
    count = len(valid)
    if shift == "late_first":
        first += dt.timedelta(seconds=1)
    elif shift == "early_last":
        last -= dt.timedelta(seconds=1)
    else:
        count += 1
    with pytest.raises(psycopg.errors.DataException, match="not the"):
        conn.execute("SELECT * FROM wfm.apply_agent_states_batch(%s, %s, %s, %s)", (batch, first, last, count))
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM wfm.agent_activity").fetchone()[0] == 0


def test_a_batch_without_events_applies_as_empty(conn: psycopg.Connection) -> None:
    """No events written (every row of a JSON batch rejected): nothing derived, the batch applied
    with no interval range; with a span and a count of 0 alike."""
    for span in ((), (dt.datetime(2025, 11, 1, tzinfo=dt.timezone.utc), dt.datetime(2025, 11, 2, tzinfo=dt.timezone.utc), 0)):
        batch = conn.execute("INSERT INTO wfm.import_batches (source, status, kind) "
                             "VALUES ('api', 'running', 'agent_states') RETURNING import_batch_id").fetchone()[0]
        sql = "SELECT * FROM wfm.apply_agent_states_batch(%s" + ", %s" * len(span) + ")"
        assert conn.execute(sql, (batch, *span)).fetchone() == (0, 0, 0, 0, 0)
        row = conn.execute("SELECT apply_seq IS NOT NULL, first_interval, last_interval FROM wfm.import_batches "
                           "WHERE import_batch_id = %s", (batch,)).fetchone()
        assert row == (True, None, None)
    conn.rollback()
