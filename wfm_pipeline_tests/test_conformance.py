"""One corpus, two paths: the Argus file import (Python core, pandera) and the SQL JSON
functions must give identical verdicts: same rows, same columns, same codes, same data.

The corpus is written as a real .xlsx file (header row + data, date cells and text dates)
and sent as JSON (arrays; date cells as Excel serial numbers). File row = JSON position + 1
(the header row).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import psycopg
import pytest
from psycopg.types.json import Jsonb

from wfm_pipeline.argus import import_file, read_argus_file, validate_argus
from wfm_pipeline_tests.call_data import CALL_CORPUS

ZONE = "Europe/Berlin"
EXCEL_EPOCH = dt.datetime(1899, 12, 30)

# (row values A-E, expected codes as (column, code) pairs) - the expectations document intent;
# the assertion that matters is file verdicts == JSON verdicts.
CORPUS: list[tuple[list, set]] = [
    (["01.01.2024 10:00:00", 10, 12, 120, 30], set()),
    (["01.01.2024 10:15:00", 5, 12.0, 100, 20], set()),                       # 12.0 is an integer
    (["01.01.2024 10:30:00", 12.5, 13, 100, 20], {("B", "NOT_INTEGER")}),
    (["01.01.2024 10:45:00", -1, 3, 10, 10], {("B", "NEGATIVE_VALUE")}),
    (["01.01.2024 11:00:00", 0, 0, None, None], set()),                       # D, E blank when C = 0
    (["01.01.2024 11:15:00", 1, 2, None, 5], {("D", "MISSING_VALUE")}),
    (["01.01.2024 11:30:00", 1, 2, 90000, 5], {("D", "OUT_OF_RANGE")}),
    (["01.01.2024 11:45:00", 5, 3, 10, 10], {("B", "UNIQUE_EXCEEDS_NON_UNIQUE")}),
    (["01.01.2024 12:07:00", 1, 2, 3, 4], {("A", "MISALIGNED_INTERVAL")}),
    (["32.01.2024 12:00:00", 1, 2, 3, 4], {("A", "INVALID_DATETIME")}),
    (["31.03.2024 02:15:00", 1, 2, 3, 4], {("A", "INVALID_LOCAL_TIME")}),     # DST gap
    (["27.10.2024 02:15:00", 1, 2, 3, 4], set()),                             # fall-back: earlier
    (["27.10.2024 02:15:00", 1, 2, 3, 4], set()),                             # then later instant
    (["02.01.2024 10:00:00", 1, 2, 3, 4], set()),
    (["02.01.2024 10:00:00", 1, 2, 3, 4], {(None, "DUPLICATE_ROW")}),
    (["02.01.2024 10:15:00", 1, 2, 3, 4], {(None, "DUPLICATE_INTERVAL")}),
    (["02.01.2024 10:15:00", 1, 3, 3, 4], {(None, "DUPLICATE_INTERVAL")}),
    ([None, 1, 2, 3, 4], {("A", "MISSING_VALUE")}),
    (["02.01.2024 11:00:00", "abc", None, 3, 4], {("B", "NOT_INTEGER"), ("C", "MISSING_VALUE")}),
    ([dt.datetime(2024, 1, 3, 10, 30), 2, 3, 40, 5], set()),                  # date cell
    ([dt.datetime(2024, 1, 3, 10, 44, 59, 999000), 2, 3, 40, 5], set()),      # float noise -> 10:45
    (["03.01.2024 11:00:00", "7", "9", "60", "15"], set()),                   # integers as text
    (["03.01.2024 11:15:00", 1, 2, -1.5, 3], {("D", "NOT_INTEGER")}),
    ([None, None, None, None, None], set()),                                  # blank row: skipped
    (["03.01.2024 11:30:00", 1, 2, 3, 4], set()),
    (["03.01.2024 11:45:00", -1, -2, -5, 100000],
     # B > C, but C >= B only speaks when B and C are themselves valid
     {("B", "NEGATIVE_VALUE"), ("C", "NEGATIVE_VALUE"), ("D", "NEGATIVE_VALUE"), ("E", "OUT_OF_RANGE")}),
    # issue 9: what PostgreSQL's own input functions take but no path may accept
    (["2024-01-04T24:00:00+00:00", 1, 2, 3, 4], {("A", "INVALID_DATETIME")}),   # 24:00
    (["2024-01-04T23:59:60Z", 1, 2, 3, 4], {("A", "INVALID_DATETIME")}),        # leap second
    (["06/01/2024 00:00:00+00:00", 1, 2, 3, 4], {("A", "INVALID_DATETIME")}),   # DateStyle-dependent
    (["0001-01-01T00:00:00Z", 1, 2, 3, 4], {("A", "INVALID_DATETIME")}),        # outside 1678-2261
    (["01.01.0001 10:00:00", 1, 2, 3, 4], {("A", "INVALID_DATETIME")}),
    (["04.01.2024 10:00:00", "0x10", 20, 3, 4], {("B", "NOT_INTEGER")}),
    (["04.01.2024 10:15:00", "1_000", 2000, 3, 4], {("B", "NOT_INTEGER")}),
    (["04.01.2024 10:30:00", 1, "0o17", 3, 4], {("C", "NOT_INTEGER")}),
    (["04.01.2024 10:45:00", 1, 2, "0b1000", 4], {("D", "NOT_INTEGER")}),
    (["04.01.2024 11:00:00", 1, 2, "1e400", "1e-400"], {("D", "OUT_OF_RANGE"), ("E", "NOT_INTEGER")}),
    (["04.01.2024 11:15:00", "0.0000000000000000000001", 2, 3, 4], {("B", "NOT_INTEGER")}),
    (["04.01.2024 11:30:00", 1, "２", 3, "١"], {("C", "NOT_INTEGER"), ("E", "NOT_INTEGER")}),  # non-ASCII digits
    (["04.01.2024 11:45:0", 1, 2, 3, 4], {("A", "INVALID_DATETIME")}),           # one-digit seconds
    (["04.01.2024\u00a012:00:00", " 1 ", "\u00a02", 3, 4], set()),                # Unicode white space
    (["2024-01-04T12:15:00+01:00", 1, 2, 3, 4], set()),                         # ISO 8601 instant
    (["2024-01-04 12:30", 1, 2, 3, 4], set()),                                  # ISO 8601 wall clock
    (["01.01.1850 10:00:00", 1, 2, 3, 4], {("A", "MISALIGNED_INTERVAL")}),      # LMT: UTC+00:53:28
]


def _json_cell(value):
    if isinstance(value, dt.datetime):
        return (value - EXCEL_EPOCH).total_seconds() / 86400  # Excel serial date
    return value


def _write_xlsx(path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Start", "Unique", "Non-unique", "Talk", "Post"])
    for row, _ in CORPUS:
        ws.append(row)
    wb.save(path)


@pytest.fixture
def two_services(conn: psycopg.Connection) -> tuple[int, int]:
    ids = [conn.execute("INSERT INTO services (code, name, time_zone) VALUES (%s, %s, %s) RETURNING service_id",
                        (code, code, ZONE)).fetchone()[0] for code in ("FILE", "JSON")]
    conn.commit()
    return ids[0], ids[1]


def _json_rows() -> list[list]:
    return [[_json_cell(v) for v in row] for row, _ in CORPUS]


def test_corpus_expectations_cover_every_row_code(conn: psycopg.Connection) -> None:
    codes = {code for _, expected in CORPUS for _, code in expected}
    # call-record codes are covered by the call records' own corpus (test_calls_conformance)
    codes |= {code for _, expected in CALL_CORPUS for _, code in expected}
    row_codes = {c for (c,) in conn.execute("SELECT error_code FROM error_codes WHERE scope = 'row'")}
    # NO_PARTITION (JSON imports only: files create their months in the ETL step) and
    # OUTSIDE_PARTITION_WINDOW (files) depend on the partitions present, not on the row itself
    # (test_api_write and test_import_hardening cover them).
    assert row_codes <= codes | {"UNKNOWN_SERVICE", "UNKNOWN_GROUP", "NO_PARTITION", "OUTSIDE_PARTITION_WINDOW"}


def test_file_and_json_give_identical_verdicts(conn: psycopg.Connection, two_services, tmp_path: Path) -> None:
    path = tmp_path / "corpus.xlsx"
    _write_xlsx(path)
    file_result = validate_argus(read_argus_file(path), ZONE)
    file_verdicts = {(e.row, e.column, e.code) for e in file_result.errors}

    json_verdicts = {(row + 1, column, code) for row, column, code, *_ in conn.execute(
        "SELECT * FROM validate_argus_format(%s, %s)", (Jsonb(_json_rows()), two_services[1]))}

    expected = {(pos + 2, column, code) for pos, (_, exp) in enumerate(CORPUS) for column, code in exp}
    assert json_verdicts == expected, "JSON path differs from the corpus expectations"
    assert file_verdicts == json_verdicts, (
        f"only file: {sorted(file_verdicts - json_verdicts, key=str)}; "
        f"only JSON: {sorted(json_verdicts - file_verdicts, key=str)}")


def test_json_with_the_header_row_numbers_rows_like_the_spreadsheet(conn: psycopg.Connection, two_services,
                                                                    tmp_path: Path) -> None:
    """What a spreadsheet-to-JSON converter sends: the header row too. Then the JSON
    positions are the spreadsheet's row numbers and the verdicts match without an offset."""
    path = tmp_path / "corpus.xlsx"
    _write_xlsx(path)
    file_verdicts = {(e.row, e.column, e.code) for e in validate_argus(read_argus_file(path), ZONE).errors}
    with_header = [["Start", "Unique", "Non-unique", "Talk", "Post"], *_json_rows()]
    json_verdicts = {(row, column, code) for row, column, code, *_ in conn.execute(
        "SELECT * FROM validate_argus_format(%s, %s)", (Jsonb(with_header), two_services[1]))}
    assert json_verdicts == file_verdicts


def test_file_and_json_imports_store_the_same_rows(conn: psycopg.Connection, two_services, tmp_path: Path) -> None:
    file_service, json_service = two_services
    path = tmp_path / "corpus.xlsx"
    _write_xlsx(path)
    loaded = import_file(conn, path, "FILE")
    conn.commit()
    # the file import created its months (ETL step); the JSON functions never create any
    assert not conn.execute("SELECT * FROM months_without_partition(ARRAY['2024-01-01 00:00+00', "
                            "'2024-10-01 00:00+00']::timestamptz[])").fetchone()[0]
    batch_id, status, total, inserted, updated, rejected = conn.execute(
        "SELECT * FROM import_argus_format_data(%s, %s)", (Jsonb(_json_rows()), json_service)).fetchone()
    conn.commit()
    file_dict = loaded.to_dict()
    assert (status, total, inserted, updated, rejected) == (
        file_dict["status"], file_dict["rows_total"], file_dict["rows_inserted"], file_dict["rows_updated"],
        file_dict["rows_rejected"])

    def stored(service_id: int) -> list[tuple]:
        return conn.execute(
            """SELECT cs.interval_start_time, cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time,
                      cs.avg_post_processing_time, h.source_row_number
               FROM contact_statistics cs
               JOIN contact_statistics_history h USING (import_batch_id, interval_start_time, service_id)
               WHERE cs.service_id = %s ORDER BY 1""", (service_id,)).fetchall()

    file_rows, json_rows = stored(file_service), stored(json_service)
    assert len(json_rows) == inserted
    # source_row_number: file rows count the header row
    assert file_rows == [(*r[:5], r[5] + 1) for r in json_rows]
    # both fall-back rows were stored, an hour apart
    fall_back = [r[0] for r in json_rows if r[0].date() == dt.date(2024, 10, 27)]
    assert len(fall_back) == 2 and fall_back[1] - fall_back[0] == dt.timedelta(hours=1)


# Cells where the two paths once disagreed; the issue's rules decide: "inf" is not a whole
# number (NOT_INTEGER, not OUT_OF_RANGE / NEGATIVE_VALUE), and 10:45:60 is not a time of day
# (INVALID_DATETIME, not MISALIGNED_INTERVAL).
EDGE_CASES: list[tuple[list, set]] = [
    (["31.12.2261 23:45:00", 1, 2, 3, 4], set()),                               # the supported range
    (["01.01.2262 00:00:00", 1, 2, 3, 4], {("A", "INVALID_DATETIME")}),
    (["31.12.1677 23:45:00", 1, 2, 3, 4], {("A", "INVALID_DATETIME")}),
    # duplicates compare exact values (as SQL numerics do), not floats
    (["06.01.2024 10:00:00", "12.5", 20, 1, 1], {("B", "NOT_INTEGER"), (None, "DUPLICATE_INTERVAL")}),
    (["06.01.2024 10:00:00", "12.7", 20, 1, 1], {("B", "NOT_INTEGER"), (None, "DUPLICATE_INTERVAL")}),
    (["06.01.2024 10:15:00", 12.5, 20, 1, 1], {("B", "NOT_INTEGER")}),
    (["06.01.2024 10:15:00", "12,5", 20, 1, 1], {("B", "NOT_INTEGER"), (None, "DUPLICATE_ROW")}),
    (["06.01.2024 10:30:00", 1, "1e400", 1, 1], {("C", "OUT_OF_RANGE"), (None, "DUPLICATE_INTERVAL")}),
    (["06.01.2024 10:30:00", 1, "1e401", 1, 1], {("C", "OUT_OF_RANGE"), (None, "DUPLICATE_INTERVAL")}),
    (["05.01.2024 10:00:00", 1, "inf", 3, 4], {("C", "NOT_INTEGER")}),
    (["05.01.2024 10:15:00", 1, "-inf", 3, 4], {("C", "NOT_INTEGER")}),
    (["05.01.2024 10:45:60", 1, 2, 3, 4], {("A", "INVALID_DATETIME")}),
]


def test_edge_cases_get_identical_verdicts(conn: psycopg.Connection, two_services, tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Start", "Unique", "Non-unique", "Talk", "Post"])
    for row, _ in EDGE_CASES:
        ws.append(row)
    path = tmp_path / "edge.xlsx"
    wb.save(path)
    json_verdicts = {(row + 1, column, code) for row, column, code, *_ in conn.execute(
        "SELECT * FROM validate_argus_format(%s, %s)", (Jsonb([r for r, _ in EDGE_CASES]), two_services[1]))}
    assert json_verdicts == {(pos + 2, c, code) for pos, (_, exp) in enumerate(EDGE_CASES) for c, code in exp}
    file_verdicts = {(e.row, e.column, e.code) for e in validate_argus(read_argus_file(path), ZONE).errors}
    assert file_verdicts == json_verdicts


def test_leading_rows_that_look_like_data_get_the_same_verdicts(conn: psycopg.Connection, two_services,
                                                                 tmp_path: Path) -> None:
    """Rows above the first date row are headers unless they look like data (a count in B or
    C): then both paths report them instead of skipping them, with the same row numbers."""
    rows = [["Argus export", None, None, None, None],
            ["Start", "Unique", "Non-unique", "Talk", "Post"],
            ["2024/03/01 06:00", "5", "6", "70", "8"],          # data with an unreadable A
            ["01/03/2024 06:15", 4, 4, 60, 9],                  # likewise (DateStyle-dependent)
            ["note", " 1 000,5 ", None, None, None],            # a count with spaces and a comma
            ["total", "1e5", "n/a", None, None],                # not counts: a header
            ["2024-03-01T06:30:00", 3, 3, 50, 5],               # ISO 8601: the first data row
            ["01.03.2024 06:45:00", 3, 3, 50, 5]]
    path = tmp_path / "leading.xlsx"
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    file_verdicts = {(e.row, e.column, e.code) for e in validate_argus(read_argus_file(path), ZONE).errors}
    json_verdicts = {(row, column, code) for row, column, code, *_ in conn.execute(
        "SELECT * FROM validate_argus_format(%s, %s)", (Jsonb(rows), two_services[1]))}
    assert {(r, c) for r, c, _ in file_verdicts if c == "A"} == {(3, "A"), (4, "A"), (5, "A")}
    assert not any(r in (6, 7, 8) for r, _, _ in file_verdicts)
    assert file_verdicts == json_verdicts


def test_long_cells_are_clipped_alike_on_both_paths(conn: psycopg.Connection, two_services, tmp_path: Path) -> None:
    """A huge cell is stored and returned as 200 characters plus '…(+N chars)' by both paths."""
    from wfm_pipeline.argus.errors import clip

    long_value = "x" * 5000
    rows = [["01.03.2024 06:00:00", long_value, 6, 70, 8], ["01.03.2024 06:15:00", 4, 4, 60, 9]]
    path = tmp_path / "long.xlsx"
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    [file_error] = validate_argus(read_argus_file(path), ZONE).errors
    [(json_value, json_message)] = conn.execute(
        "SELECT raw_value, error_message FROM validate_argus_format(%s, %s)", (Jsonb(rows), two_services[1])).fetchall()
    assert file_error.value == json_value == clip(long_value) == "x" * 200 + "…(+4800 chars)"
    assert len(json_message) < 400 and "…(+4800 chars)" in json_message
    assert conn.execute("SELECT wfm.clip_text(%s)", (json_value,)).fetchone()[0] == json_value  # idempotent
    batch_id = conn.execute("SELECT import_batch_id FROM import_argus_format_data(%s, %s)",
                            (Jsonb(rows), two_services[1])).fetchone()[0]
    stored = conn.execute("SELECT raw_value FROM import_errors WHERE import_batch_id = %s AND column_name = 'B'",
                          (batch_id,)).fetchall()
    assert stored == [(json_value,)]
