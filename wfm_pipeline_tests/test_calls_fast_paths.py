"""The call-record import's fast paths give exactly what the plain ones give.

* binary COPY (``calls.binary_copy``): what the database stores is the accepted calls, byte for
  byte (non-ASCII, delimiters, quotes, newlines, NULLs, instants before 2000 and nanoseconds);
* the validator's fast parsers (ISO shape on code points, wrap-up digits) agree with the
  Argus parsers they stand in for, cell by cell, on the cells that could tell them apart;
* ``Prefetcher`` (the next file read and validated while one loads): the same results, rows and
  derived figures as importing the files one by one, a rejected, a duplicate and an
  unknown-service file in between; a group added after a file was prefetched is seen;
* agent_activity's statement-level reference checks (sql/220) refuse what the foreign keys did.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pytest

from wfm_pipeline.argus.loader import Target
from wfm_pipeline.argus.validate import _parse_datetime, _parse_number
from wfm_pipeline.calls.loader import (
    call_copy_data, call_prefetcher, copy_calls, import_call_file, prepare_load,
)
from wfm_pipeline.calls.validate import CallValidation, _parse_datetime_fast, _parse_wrap_up
from wfm_pipeline_tests.call_data import (
    current_calls, expected_agents, expected_intervals, generate, stored_agents, stored_intervals, write_csv,
)
from wfm_pipeline_tests.conftest import create_database, drop_database

ZONE = "Europe/Berlin"
UTC = dt.timezone.utc
DAYS = [dt.date(2025, 10, 30), dt.date(2025, 10, 31), dt.date(2025, 11, 1)]   # a month end


def _service(conn: psycopg.Connection, code: str, groups: tuple[str, ...] = ("G1", "G2")) -> dict:
    sid = conn.execute("INSERT INTO wfm.services (code, name, time_zone) VALUES (%s, %s, %s) RETURNING service_id",
                       (code, code, ZONE)).fetchone()[0]
    ids = {g: conn.execute("INSERT INTO wfm.groups (service_id, code, name) VALUES (%s, %s, %s) RETURNING group_id",
                           (sid, g, g)).fetchone()[0] for g in groups}
    conn.commit()
    return {"service_id": sid, "code": code, "groups": ids}


# ---------------------------------------------------------------- binary COPY
def test_binary_copy_stores_the_accepted_calls_exactly(conn: psycopg.Connection) -> None:
    svc = _service(conn, "BIN")
    ts = pd.Timestamp
    valid = pd.DataFrame({
        "call_id": ["Анна-1", 'q"uote;semi', "new\nline\ttab\\back", "x" * 100, "ä"],
        "offered_at": pd.Series([ts("1999-12-31 23:59:59.999999", tz="UTC"), ts("2026-01-05 10:00:00.123456789", tz="UTC"),
                                 ts("2026-01-05 10:00", tz=ZONE).tz_convert("UTC"), ts("1970-01-01 00:00", tz="UTC"),
                                 ts("1969-12-31 23:59:59.5", tz="UTC")], dtype="datetime64[ns, UTC]"),
        "answered_at": pd.Series([ts("2000-01-01 00:00:10", tz="UTC"), pd.NaT, pd.NaT, ts("1970-01-01 00:00:05", tz="UTC"),
                                  pd.NaT], dtype="datetime64[ns, UTC]"),
        "ended_at": pd.Series([ts("2000-01-01 00:05", tz="UTC"), ts("2026-01-05 10:01", tz="UTC"), pd.NaT,
                               ts("1970-01-01 00:10", tz="UTC"), pd.NaT], dtype="datetime64[ns, UTC]"),
        "outcome": ["answered", "abandoned", "other", "answered", "other"],
        "agent_code": ["Ágent ☎", None, None, "A;1", None],
        "customer_id": [None, "c,1", "+49 (30) 1234", None, "😀"],
        "wrap_up_seconds": pd.Series([86_400, None, None, 0, None], dtype="Int64"),
        "group_id": pd.Series([svc["groups"]["G1"], None, svc["groups"]["G2"], None, None], dtype="Int64"),
        "source_row_number": [2, 3, 4, 5, 2_000_000],
    })
    for month in ("1969-12-01", "1970-01-01", "1999-12-01", "2026-01-01"):
        conn.execute("SELECT wfm.ensure_monthly_partitions('wfm.call_records', %s::date, %s::date)", (month, month))
    conn.commit()
    batch = uuid.uuid4()
    target = Target(svc["service_id"], "BIN", ZONE)
    data = call_copy_data(valid, target, batch)
    # the stream worked out before the batch existed, its id patched in, is the same stream
    validation = CallValidation(valid=valid, errors=[], skipped=0, rows_total=5, rejected=0, time_zone=ZONE)
    assert prepare_load(validation, target).copy_data(valid, target, batch) == data
    copy_calls(conn, data, len(valid))
    rows = conn.execute(
        """SELECT call_id, offered_at, answered_at, ended_at, outcome, agent_code, customer_id, wrap_up_seconds,
                  group_id, import_batch_id, source_row_number, service_id
           FROM wfm.call_records ORDER BY source_row_number""").fetchall()
    conn.rollback()

    def instant(value: pd.Timestamp) -> dt.datetime | None:  # microseconds, as the CSV path's text had them
        return None if pd.isna(value) else value.floor("us").to_pydatetime()

    want = [(r.call_id, instant(r.offered_at), instant(r.answered_at), instant(r.ended_at), r.outcome, r.agent_code,
             r.customer_id, None if pd.isna(r.wrap_up_seconds) else int(r.wrap_up_seconds),
             None if pd.isna(r.group_id) else int(r.group_id), batch, r.source_row_number, svc["service_id"])
            for r in valid.itertuples()]
    assert rows == want


# ---------------------------------------------------------------- fast parsers
TIME_CELLS = [
    "2026-01-05T10:00:00", "2026-01-05T10:00:59", "2026-01-05T10:00:60", "2026-02-30T10:00:00",
    "2026-13-05T10:00:00", "2026-01-05T24:00:00", "2026-01-05 10:00:00", "2026-01-05T10:00:0Z",
    "２０２６-01-05T10:00:00", "2026-01-05T10:00:0٣", "1677-12-31T23:59:59", "2262-01-01T00:00:00",
    "2261-12-31T23:59:59", "1678-01-01T00:00:00", "2026-1-05T10:00:00", "2026-01-05T10:00:00Z",
    "05.01.2026 10:00:00", "2026-01-05T10:00:00.5", "abcdefghijklmnopqrs", None,
    dt.datetime(2026, 1, 5, 10, 0), 45000.5,
]


def test_the_iso_fast_path_parses_every_cell_as_the_argus_parser_does() -> None:
    cells = pd.Series(TIME_CELLS, dtype=object)
    fast = _parse_datetime_fast(cells)
    slow = _parse_datetime(cells)
    for i, cell in enumerate(TIME_CELLS):
        got = (fast[0].iloc[i], bool(fast[1][i]), bool(fast[2][i]))
        want = (slow[0].iloc[i], bool(slow[1][i]), bool(slow[2][i]))
        assert (pd.isna(got[0]) and pd.isna(want[0]) or got[0] == want[0]) and got[1:] == want[1:], (cell, got, want)
    # the text-only column (the CSV case) takes the other branch of the type check
    text = [c for c in TIME_CELLS if isinstance(c, str) or c is None]
    fast, slow = _parse_datetime_fast(pd.Series(text, dtype=object)), _parse_datetime(pd.Series(text, dtype=object))
    assert fast[0].equals(slow[0]) and (fast[1] == slow[1]).all() and (fast[2] == slow[2]).all()


@pytest.mark.parametrize("cells", [
    ["0", "7", "60", "007", "86400", "86401", None],                 # the fast path
    ["5", "+5", "-1", "1,5", "1.0", " 3", "1e3", "٣", None],          # the Argus parser
    ["5", "", None], ["123456789012345678"], [None, None], ["4", 4.0],
])
def test_the_wrap_up_fast_path_agrees_with_the_argus_number_parser(cells: list) -> None:
    column = pd.Series(cells, dtype=object)
    values, unparseable = _parse_wrap_up(column)
    want, want_unparseable, _keys = _parse_number(column)
    assert np.array_equal(values.to_numpy(), want.to_numpy(), equal_nan=True)
    assert (unparseable == want_unparseable).all()


# ---------------------------------------------------------------- prefetching
def _import_list(conn: psycopg.Connection, files: list[tuple[Path, str]], prefetch: bool) -> list[dict]:
    out = []
    if prefetch:
        with call_prefetcher(files, lambda: psycopg.connect(conn.info.dsn)) as prefetcher:
            results = [prefetcher.run(conn, path, code).result for path, code in files]
    else:
        results = [import_call_file(conn, path, code) for path, code in files]
    for r in results:
        d = r.to_dict()
        for key in ("import_batch_id", "duplicate_of"):
            d.pop(key)
        d["error_message"] = re.sub(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", "<batch>", d["error_message"] or "")
        out.append(d)
    return out


def _state(conn: psycopg.Connection) -> tuple:
    services = conn.execute("SELECT service_id, code FROM wfm.services ORDER BY code").fetchall()
    state = tuple((code, stored_intervals(conn, sid), stored_agents(conn, sid)) for sid, code in services)
    calls = conn.execute("SELECT call_id, offered_at, outcome, is_current, source_row_number FROM wfm.call_records "
                         "ORDER BY call_id, offered_at, is_current").fetchall()
    conn.rollback()
    return state, calls


def test_prefetched_files_import_exactly_as_one_by_one(server_url: str, template_db: str, tmp_path: Path) -> None:
    a1 = generate(11, ZONE, DAYS, 90, prefix="a")
    b1 = generate(12, ZONE, DAYS, 70, prefix="b")
    a2 = [dict(r) for r in a1[::3]]                     # a correction: a third of A's calls again
    for r in a2[::2]:
        r["agent"] = "A-CORRECTED" if r["agent"] else r["agent"]
    a2[0]["outcome"] = "lost"                           # one invalid row
    files = [(write_csv(tmp_path / "a1.csv", a1), "A"), (write_csv(tmp_path / "b1.csv", b1), "B"),
             (tmp_path / "bad.csv", "A"), (tmp_path / "a1.csv", "A"), (write_csv(tmp_path / "x.csv", b1[:5]), "NOPE"),
             (write_csv(tmp_path / "a2.csv", a2), "A")]
    (tmp_path / "bad.csv").write_text("call_id;offered_at\nx;05.01.2026 10:00:00\n", encoding="utf-8")

    outcomes = []
    for prefetch in (False, True):
        url = create_database(server_url, template_db)
        try:
            with psycopg.connect(url) as conn:
                services = {code: _service(conn, code) for code in ("A", "B")}
                results = _import_list(conn, files, prefetch)
                outcomes.append((results, _state(conn)))
        finally:
            drop_database(server_url, url)
    (sequential, seq_state), (prefetched, pre_state) = outcomes
    assert [r["status"] for r in prefetched] == ["completed", "completed", "rejected", "duplicate", "rejected",
                                                 "completed_with_errors"]
    assert prefetched == sequential
    assert pre_state == seq_state
    # and both are right: the independent computation of what the current calls derive to
    calls = current_calls([a1, a2[1:]], ZONE)
    by_code = {code: (iv, ag) for code, iv, ag in pre_state[0]}
    assert by_code["A"] == (expected_intervals(calls, services["A"]["groups"]), expected_agents(calls))


def test_a_group_added_after_prefetching_is_seen_by_the_files_turn(conn: psycopg.Connection, tmp_path: Path) -> None:
    svc = _service(conn, "P")
    first = write_csv(tmp_path / "first.csv", generate(21, ZONE, DAYS[:1], 20, prefix="f"))
    rows = generate(22, ZONE, DAYS[1:2], 20, prefix="s")
    for r in rows:
        r["group"] = "G3"
    second = write_csv(tmp_path / "second.csv", rows)
    files = [(first, "P"), (second, "P")]
    with call_prefetcher(files, lambda: psycopg.connect(conn.info.dsn)) as prefetcher:
        assert prefetcher.run(conn, first, "P").result.status == "completed"   # the second is being prepared now
        g3 = conn.execute("INSERT INTO wfm.groups (service_id, code, name) VALUES (%s, 'G3', 'g') RETURNING group_id",
                          (svc["service_id"],)).fetchone()[0]
        conn.commit()
        result = prefetcher.run(conn, second, "P").result
    assert (result.status, result.rows_inserted, result.errors) == ("completed", 20, [])
    assert conn.execute("SELECT count(*) FROM wfm.call_records WHERE group_id = %s", (g3,)).fetchone()[0] == 20


# ---------------------------------------------------------------- agent_activity references
def test_agent_activity_references_are_checked_per_statement(conn: psycopg.Connection) -> None:
    svc = _service(conn, "R")
    other = _service(conn, "R2")
    agent = conn.execute("INSERT INTO wfm.agents (code) VALUES ('r1') RETURNING agent_id").fetchone()[0]
    conn.commit()
    insert = ("INSERT INTO wfm.agent_activity (interval_start_time, agent_id, service_id, group_id, logged_in_seconds, "
              "talk_seconds, import_batch_id) VALUES ('2026-01-05 10:00+00', %s, %s, %s, NULL, 60, gen_random_uuid())")
    for args, message in [((agent + 1000, svc["service_id"], None), "unknown agent_id"),
                          ((agent, 999_999, None), "unknown service_id 999999"),
                          ((agent, svc["service_id"], other["groups"]["G1"]), "not a group of service_id")]:
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match=message):
            conn.execute(insert, args)
        conn.rollback()
    conn.execute(insert, (agent, svc["service_id"], svc["groups"]["G1"]))
    conn.commit()
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="unknown agent_id"):
        conn.execute("UPDATE wfm.agent_activity SET agent_id = agent_id + 1000")
    conn.rollback()
    for statement, message in [
            ("DELETE FROM wfm.agents WHERE agent_id = %(a)s", "agent .* still has agent_activity rows"),
            ("UPDATE wfm.agents SET agent_id = agent_id + 1000 WHERE agent_id = %(a)s", "still has agent_activity rows"),
            ("DELETE FROM wfm.groups WHERE group_id = %(g)s", "group .* still has agent_activity rows"),
            ("UPDATE wfm.groups SET service_id = %(o)s WHERE group_id = %(g)s", "still has agent_activity rows"),
            ("DELETE FROM wfm.services WHERE service_id = %(s)s", "still has agent_activity rows")]:
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match=message):
            conn.execute(statement, {"a": agent, "g": svc["groups"]["G1"], "s": svc["service_id"],
                                     "o": other["service_id"]})
        conn.rollback()
    # what keeps the keys is fine, and so is deleting what no row refers to
    conn.execute("UPDATE wfm.agents SET name = 'Renamed', agent_id = agent_id WHERE agent_id = %s", (agent,))
    conn.execute("UPDATE wfm.groups SET name = 'x' WHERE group_id = %s", (svc["groups"]["G1"],))
    conn.execute("DELETE FROM wfm.groups WHERE group_id = %s", (svc["groups"]["G2"],))
    conn.commit()
    assert conn.execute("SELECT name FROM wfm.agents WHERE agent_id = %s", (agent,)).fetchone() == ("Renamed",)


def test_calls_outside_the_partition_window_leave_the_rest_loaded_from_a_fresh_stream(
        conn: psycopg.Connection, tmp_path: Path) -> None:
    """The partition plan drops a call: the COPY stream worked out ahead (for every accepted
    call) is not used; the calls kept are stored exactly, each with its own row number."""
    _service(conn, "W")
    rows = generate(31, ZONE, DAYS[:1], 30, prefix="w")
    rows[4].update(offered_at="05.01.1999 10:00:00", answered_at="", ended_at="05.01.1999 10:01:00",
                   outcome="abandoned", agent="", wrap_up_seconds="")
    path = write_csv(tmp_path / "w.csv", rows)
    result = import_call_file(conn, path, "W")
    assert result.status == "completed_with_errors"
    assert [(e.row, e.code) for e in result.errors] == [(6, "OUTSIDE_PARTITION_WINDOW")]
    stored = conn.execute("SELECT call_id, source_row_number FROM wfm.call_records ORDER BY source_row_number").fetchall()
    assert stored == [(r["call_id"], i + 2) for i, r in enumerate(rows) if i != 4]
