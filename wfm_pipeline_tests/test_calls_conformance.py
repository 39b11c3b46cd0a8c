"""One corpus of call records, two paths: the file import (wfm_pipeline/calls) and the SQL API
(wfm.api_batch_insert_call_records) give the same verdicts (row, field, code) and store the same
calls. File row = JSON position + 1 (the header row)."""

from __future__ import annotations

import csv
from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb

from wfm_pipeline.argus import errors as E
from wfm_pipeline.calls.loader import import_call_file
from wfm_pipeline_tests.call_data import CALL_CORPUS as CORPUS
from wfm_pipeline_tests.call_data import FIELDS, call_row as row

ZONE = "Europe/Berlin"


@pytest.fixture
def two_services(conn: psycopg.Connection) -> dict[str, int]:
    ids = {}
    for code in ("FILE", "JSON"):
        ids[code] = conn.execute("INSERT INTO wfm.services (code, name, time_zone) VALUES (%s, %s, %s) "
                                 "RETURNING service_id", (code, code, ZONE)).fetchone()[0]
        conn.execute("INSERT INTO wfm.groups (service_id, code, name) VALUES (%s, 'G1', 'g')", (ids[code],))
    conn.execute("SELECT wfm.ensure_monthly_partitions(t, '2025-10-01', '2026-04-30') "
                 "FROM unnest(ARRAY['wfm.call_records', 'wfm.contact_statistics', 'wfm.contact_statistics_history', "
                 "'wfm.agent_activity']::regclass[]) t")
    conn.commit()
    return ids


def _stored(conn: psycopg.Connection, service_id: int) -> set[tuple]:
    rows = conn.execute(
        """SELECT c.call_id, c.offered_at, c.answered_at, c.ended_at, c.outcome, c.agent_code, c.customer_id,
                  c.wrap_up_seconds, g.code, c.source_row_number
           FROM wfm.call_records c LEFT JOIN wfm.groups g USING (group_id) WHERE c.service_id = %s""",
        (service_id,)).fetchall()
    return set(rows)


def test_file_and_json_give_the_same_verdicts_and_store_the_same_calls(conn, two_services, tmp_path: Path) -> None:
    path = tmp_path / "corpus.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(FIELDS)
        for r, _ in CORPUS:
            w.writerow([r[f] for f in FIELDS])
    result = import_call_file(conn, path, "FILE")
    file_verdicts = {(e.row - 1, e.column, e.code) for e in result.errors}

    payload = [{**r, "service_id": two_services["JSON"]} for r, _ in CORPUS]
    out = conn.execute("SELECT * FROM wfm.api_batch_insert_call_records(%s, 'conformance')", (Jsonb(payload),)).fetchone()
    json_errors = conn.execute("SELECT row_number, column_name, error_code, error_message, raw_value "
                               "FROM wfm.import_errors WHERE import_batch_id = %s", (out[0],)).fetchall()
    json_verdicts = {e[:3] for e in json_errors}
    conn.commit()

    # the same message and value (the codes' templates; row numbers in the duplicate messages are
    # each path's own: file rows count the header) - the services' codes differ, so compare
    # UNKNOWN_GROUP through its parameters
    file_texts = {(e.row - 1, e.column, e.code): (e.message, e.value) for e in result.errors}
    for position, column, code, message, value in json_errors:
        file_message, file_value = file_texts[(position, column, code)]
        assert value == file_value, (position, column, code)
        if code == E.DUPLICATE_CALL_ID:
            rows = [r for r, c, k, *_ in json_errors if k == code and _[1] == value]
            assert message == E.message(code, value=value, rows=", ".join(map(str, sorted(rows))))
            assert file_message == E.message(code, value=value, rows=", ".join(str(r + 1) for r in sorted(rows)))
        elif code == E.DUPLICATE_ROW:
            first = min(r for r, c, k, *_ in json_errors if k == E.DUPLICATE_ROW and _[1] == value) - 1
            assert message == E.message(code, value=value, first_row=first)
            assert file_message == E.message(code, value=value, first_row=first + 1)
        elif code == E.UNKNOWN_GROUP:
            assert message == E.message(code, value=value, service="JSON")
            assert file_message == E.message(code, value=value, service="FILE")
        else:
            assert message == file_message, (position, column, code)

    expected = {(i + 1, col, code) for i, (_, codes) in enumerate(CORPUS) for col, code in codes}
    assert file_verdicts == expected
    assert json_verdicts == file_verdicts
    assert (out[2], out[3] + out[4], out[5], out[6]) == (result.rows_total, result.rows_inserted + result.rows_updated,
                                                          result.rows_rejected, result.rows_skipped)
    file_calls = {c[:-1] + (c[-1] - 1,) for c in _stored(conn, two_services["FILE"])}
    assert file_calls == _stored(conn, two_services["JSON"])
    assert len(file_calls) == sum(1 for _, codes in CORPUS if not codes)
    # and the same intervals were derived from them
    stats = "SELECT interval_start_time, g.code, unique_incoming, non_unique_incoming, avg_talk_time, " \
            "avg_post_processing_time, answered_calls, answered_within_sl, abandoned_calls " \
            "FROM wfm.contact_statistics LEFT JOIN wfm.groups g USING (group_id) WHERE contact_statistics.service_id = %s"
    assert set(conn.execute(stats, (two_services["FILE"],)).fetchall()) == \
        set(conn.execute(stats, (two_services["JSON"],)).fetchall())


def test_json_rows_name_their_service_and_bad_shapes_are_row_errors(conn, two_services) -> None:
    payload = [row("a") | {"service_id": two_services["JSON"]}, row("b") | {"service_id": 987654},
               row("c") | {"service_id": "x"}, row("d"), ["not", "an", "object"], None]
    out = conn.execute("SELECT * FROM wfm.api_batch_insert_call_records(%s)", (Jsonb(payload),)).fetchone()
    errors = set(conn.execute("SELECT row_number, column_name, error_code FROM wfm.import_errors "
                              "WHERE import_batch_id = %s", (out[0],)).fetchall())
    conn.commit()
    assert out[1:] == ("completed_with_errors", 6, 1, 0, 5, 0)
    assert errors == {(2, "service_id", "UNKNOWN_SERVICE"), (3, "service_id", "NOT_INTEGER"),
                      (4, "service_id", "MISSING_VALUE"), (5, None, "MISSING_VALUE"), (6, None, "MISSING_VALUE")}


def test_json_rows_of_a_month_without_partition_are_rejected_not_created(conn, two_services) -> None:
    payload = [row("far", offered="05.01.2035 10:00:00", answered="05.01.2035 10:00:15", ended="05.01.2035 10:05:00")
               | {"service_id": two_services["JSON"]}]
    before = conn.execute("SELECT count(*) FROM wfm.partitions").fetchone()[0]
    out = conn.execute("SELECT * FROM wfm.api_batch_insert_call_records(%s)", (Jsonb(payload),)).fetchone()
    codes = conn.execute("SELECT error_code FROM wfm.import_errors WHERE import_batch_id = %s", (out[0],)).fetchall()
    assert out[1] == "rejected" and codes == [("NO_PARTITION",)]
    assert conn.execute("SELECT count(*) FROM wfm.partitions").fetchone()[0] == before


def test_corpus_covers_every_call_record_code() -> None:
    codes = {code for _, expected in CORPUS for _, code in expected}
    assert E.CALL_ROW_CODES | {E.MISSING_VALUE, E.INVALID_DATETIME, E.INVALID_LOCAL_TIME, E.OUT_OF_RANGE,
                               E.NOT_INTEGER, E.NEGATIVE_VALUE, E.UNKNOWN_GROUP, E.DUPLICATE_ROW} <= codes


@pytest.mark.parametrize("payload, sqlstate", [(None, "22004"), ({"a": 1}, "22023")])
def test_json_api_rejects_bad_arguments(conn, payload, sqlstate) -> None:
    with pytest.raises(psycopg.Error) as info:
        conn.execute("SELECT * FROM wfm.api_batch_insert_call_records(%s)",
                     (None if payload is None else Jsonb(payload),))
    assert info.value.sqlstate == sqlstate
