"""One corpus, two paths: the Argus file import (Python core, pandera) and the SQL JSON
functions must give identical verdicts: same rows, same columns, same codes, same messages,
same values, same data.

The corpus is written as a real .xlsx file (header row + data, date cells and text dates)
and sent as JSON (arrays; date cells as Excel serial numbers). File row = JSON position + 1
(the header row), or = JSON position when the JSON carries the header row too (what a
spreadsheet-to-JSON converter sends): the message tests do that, since messages name rows.

Every error code either path can emit is emitted here at least once, with its one message
template (sql/functions/errors/error_codes.sql); the codes one path cannot emit are listed
with the reason (FILE_ONLY, JSON_ONLY).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import openpyxl
import psycopg
import pytest
from psycopg.types.json import Jsonb

from wfm_pipeline.argus import errors as E
from wfm_pipeline.argus import import_file, read_argus_file, validate_argus
from wfm_pipeline.argus.errors import ArgusFileError
from wfm_pipeline.argus.limits import ReaderLimits
from wfm_pipeline.argus.loader import ImportFailedError, LoadPolicy
from wfm_pipeline_tests.argus_files import write_csv, write_xlsx
from wfm_pipeline_tests.agent_data import AGENT_CORPUS
from wfm_pipeline_tests.call_data import CALL_CORPUS
from wfm_pipeline_tests.months import ensure_months

ZONE = "Europe/Berlin"
EXCEL_EPOCH = dt.datetime(1899, 12, 30)
HEADER = ["Start", "Unique", "Non-unique", "Talk", "Post"]

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
    # and agent-state codes by the agent states' corpus (test_agent_conformance)
    codes |= {code for _, expected in AGENT_CORPUS for _, code in expected}
    row_codes = {c for (c,) in conn.execute("SELECT error_code FROM error_codes WHERE scope = 'row'")}
    # NO_PARTITION (JSON imports only: files create their months in the ETL step) and
    # OUTSIDE_PARTITION_WINDOW (files) depend on the partitions present, not on the row itself
    # (test_api_write and test_import_hardening cover them). WRONG_ROW_LENGTH is about the layout
    # of the compact JSON form, not a row's values (test_api_compact covers it).
    assert row_codes <= codes | {"UNKNOWN_SERVICE", "UNKNOWN_GROUP", "NO_PARTITION", "OUTSIDE_PARTITION_WINDOW",
                                 "WRONG_ROW_LENGTH"}


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


def _file_errors(path: Path) -> set[tuple]:
    """(row, column, code, message, value) of every error the file validator reports."""
    return {(e.row, e.column, e.code, e.message, e.value) for e in validate_argus(read_argus_file(path), ZONE).errors}


def _json_errors(conn: psycopg.Connection, rows: list, service_id: int) -> set[tuple]:
    """The same for the SQL validator."""
    return set(conn.execute("SELECT row_number, column_name, error_code, error_message, raw_value "
                            "FROM validate_argus_format(%s, %s)", (Jsonb(rows), service_id)))


def _template_regex(code: str) -> re.Pattern:
    """Any rendering of the code's template (each placeholder: any text)."""
    template = E.catalog()[code].message_template
    return re.compile(".*".join(re.escape(piece) for piece in re.split(r"\{[a-z_]+\}", template)), re.S)


def _assert_templated(errors) -> None:
    for error in errors:
        row, column, code, message = error[:4]
        assert _template_regex(code).fullmatch(message), (row, column, code, message)


# One exact message per row code, as the corpus (file rows, header counted) produces them on
# both paths: the text users read.
EXPECTED_MESSAGES = {
    (4, "B", "NOT_INTEGER"): "column B '12.5' is not a whole number",
    (5, "B", "NEGATIVE_VALUE"): "column B '-1' is negative",
    (7, "D", "MISSING_VALUE"): "column D is empty; a value is required (D and E may be empty only when C = 0)",
    (8, "D", "OUT_OF_RANGE"): "column D '90000' is out of range: it must be at most 86,400 seconds",
    (9, "B", "UNIQUE_EXCEEDS_NON_UNIQUE"):
        "column B '5' exceeds column C (3): unique incoming calls cannot exceed non-unique incoming calls",
    (10, "A", "MISALIGNED_INTERVAL"):
        "column A '01.01.2024 12:07:00' is not the start of a 15-minute interval: :00, :15, :30 or :45 and 0 "
        "seconds, in time zone Europe/Berlin and in UTC (which local mean time, before standard time, is not)",
    (11, "A", "INVALID_DATETIME"):
        "column A '32.01.2024 12:00:00' is not a date-time: DD.MM.YYYY HH:MM[:SS], ISO 8601 (API rows: with a "
        "UTC offset), a date cell or an Excel serial date, in the years 1678-2261",
    (12, "A", "INVALID_LOCAL_TIME"):
        "column A '31.03.2024 02:15:00' does not exist in time zone Europe/Berlin: clocks jump over it when "
        "daylight-saving time starts",
    (16, None, "DUPLICATE_ROW"): "interval '02.01.2024 10:00:00' is an exact copy of row 15; the first copy is kept",
    (17, None, "DUPLICATE_INTERVAL"):
        "interval '02.01.2024 10:15:00' appears in rows 17, 18 with different values; all of them are rejected",
    (27, "E", "OUT_OF_RANGE"): "column E '100000' is out of range: it must be at most 86,400 seconds",
}


def test_json_with_the_header_row_numbers_rows_like_the_spreadsheet(conn: psycopg.Connection, two_services,
                                                                    tmp_path: Path) -> None:
    """What a spreadsheet-to-JSON converter sends: the header row too. Then the JSON
    positions are the spreadsheet's row numbers and every error matches without an offset:
    row, column, code, message (rendered from the code's one template) and value."""
    path = tmp_path / "corpus.xlsx"
    _write_xlsx(path)
    file_errors = _file_errors(path)
    json_errors = _json_errors(conn, [HEADER, *_json_rows()], two_services[1])
    assert file_errors == json_errors, (f"only file: {sorted(file_errors - json_errors, key=str)}; "
                                        f"only JSON: {sorted(json_errors - file_errors, key=str)}")
    assert {(r, c, code) for r, c, code, *_ in file_errors} == {
        (pos + 2, column, code) for pos, (_, exp) in enumerate(CORPUS) for column, code in exp}
    _assert_templated(file_errors)
    messages = {(r, c, code): m for r, c, code, m, _ in file_errors}
    assert {k: messages[k] for k in EXPECTED_MESSAGES} == EXPECTED_MESSAGES
    assert {code for _, _, code in EXPECTED_MESSAGES} == {code for _, exp in CORPUS for _, code in exp}


def test_file_and_json_imports_record_the_same_errors(conn: psycopg.Connection, two_services, tmp_path: Path) -> None:
    """What import_errors keeps (and `wfm batches errors` shows) is the same on both paths."""
    file_service, json_service = two_services
    path = tmp_path / "corpus.xlsx"
    _write_xlsx(path)
    file_batch = import_file(conn, path, "FILE").import_batch_id   # creates the corpus' months
    conn.commit()
    json_batch = conn.execute("SELECT import_batch_id FROM import_argus_format_data(%s, %s)",
                              (Jsonb([HEADER, *_json_rows()]), json_service)).fetchone()[0]
    conn.commit()

    def stored(batch_id) -> set[tuple]:
        return set(conn.execute("SELECT row_number, column_name, error_code, error_message, raw_value "
                                "FROM import_errors WHERE import_batch_id = %s", (batch_id,)))

    assert stored(file_batch) == stored(json_batch)
    assert len(stored(file_batch)) == sum(len(exp) for _, exp in CORPUS)


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
    json_errors = _json_errors(conn, [HEADER, *[r for r, _ in EDGE_CASES]], two_services[1])
    assert {(r, c, code) for r, c, code, *_ in json_errors} == {
        (pos + 2, c, code) for pos, (_, exp) in enumerate(EDGE_CASES) for c, code in exp}
    assert _file_errors(path) == json_errors
    _assert_templated(json_errors)


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
    file_errors = _file_errors(path)
    assert {(r, c) for r, c, *_ in file_errors if c == "A"} == {(3, "A"), (4, "A"), (5, "A")}
    assert not any(r in (6, 7, 8) for r, *_ in file_errors)
    assert file_errors == _json_errors(conn, rows, two_services[1])


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


# ---------------------------------------------------------------- every code, both paths
# The codes one path cannot emit, and why. Every other code is emitted below through both.
FILE_ONLY = {
    E.FILE_UNREADABLE: "JSON arrives parsed; a payload that is not a JSON array is an SQL error (22023), not a code",
    E.TOO_FEW_COLUMNS: "a short JSON row has empty cells: MISSING_VALUE per required cell",
    E.FILE_TOO_LARGE: "a payload beyond wfm.api_write_limits is an SQL error (54000) before any row is read",
    E.SHEET_TOO_LARGE: "likewise: rows per call are bounded by wfm.api_write_limits (54000)",
    E.OUTSIDE_PARTITION_WINDOW: "only the file path creates months; the JSON functions report NO_PARTITION instead",
    E.TOO_MANY_NEW_MONTHS: "likewise: the JSON functions create no month at all",
    E.IMPORT_FAILED: "a JSON call is one transaction: a failure raises and rolls its batch row back",
}
JSON_ONLY = {
    E.NO_PARTITION: "files create their months in the import (within the on-demand window); JSON calls never do",
    E.WRONG_ROW_LENGTH: "the compact form of api_batch_insert_calls only (a header, then one array per row)",
}
CORPUS_MONTHS = ("2024-01", "2024-10")


@pytest.fixture
def admin(db_url: str):
    """A second, autocommit session (holds a lock for the IMPORT_FAILED case)."""
    with psycopg.connect(db_url, autocommit=True) as c:
        yield c


class _Seen(dict):
    """code -> messages seen; each must be a rendering of the code's one template."""

    def add(self, code: str, message: str) -> str:
        assert _template_regex(code).fullmatch(message), (code, message)
        self.setdefault(code, []).append(message)
        return message


def _file_error(fn) -> E.RowError:
    with pytest.raises(ArgusFileError) as info:
        fn()
    return info.value.error


def test_every_code_of_the_file_path_has_its_template_message(conn: psycopg.Connection, two_services, admin,
                                                              tmp_path: Path) -> None:
    seen = _Seen()
    path = tmp_path / "corpus.xlsx"
    _write_xlsx(path)
    for e in validate_argus(read_argus_file(path), ZONE).errors:        # the row codes
        seen.add(e.code, e.message)

    # the reader's codes: messages name the file
    empty = write_xlsx(tmp_path / "empty.xlsx", [], header=HEADER)
    assert seen.add(E.NO_DATA_ROWS, _file_error(lambda: read_argus_file(empty)).message) == \
        E.message(E.NO_DATA_ROWS, file="empty.xlsx")
    four = write_xlsx(tmp_path / "four.xlsx", [[dt.datetime(2024, 1, 1, 10), 1, 2, 3]], header=HEADER[:4])
    assert seen.add(E.TOO_FEW_COLUMNS, _file_error(lambda: read_argus_file(four)).message) == \
        E.message(E.TOO_FEW_COLUMNS, file="four.xlsx", columns=4)
    pdf = tmp_path / "corpus.pdf"
    pdf.write_bytes(b"%PDF-1.7")
    assert seen.add(E.FILE_UNREADABLE, _file_error(lambda: read_argus_file(pdf)).message) == \
        E.message(E.FILE_UNREADABLE, file="corpus.pdf", reason="unsupported file type .pdf; expected .xlsx, .xls or .csv")
    size = path.stat().st_size
    big = _file_error(lambda: read_argus_file(path, limits=ReaderLimits(max_file_bytes=1024)))
    assert seen.add(E.FILE_TOO_LARGE, big.message) == E.message(
        E.FILE_TOO_LARGE, file="corpus.xlsx",
        reason=f"{size / 1_048_576:,.1f} MB; the reader accepts at most 0.0 MB (WFM_MAX_FILE_MB)")
    rows = write_csv(tmp_path / "rows.csv", [["01.01.2024 10:00:00", 1, 2, 3, 4]] * 3, header=HEADER)
    wide = _file_error(lambda: read_argus_file(rows, limits=ReaderLimits(max_rows=2)))
    assert seen.add(E.SHEET_TOO_LARGE, wide.message) == E.message(
        E.SHEET_TOO_LARGE, file="rows.csv", where="CSV", last_row="3", last_column="5", cells="15",
        max_rows="2", max_columns=64, max_cells="16,000,000")

    # the import's codes (argus/loader.py builds these texts; they must equal the templates)
    for service, group in (("NOPE", None), ("FILE", "G9")):
        [error] = import_file(conn, path, service, group).errors
        seen.add(error.code, error.message)
    assert seen[E.UNKNOWN_SERVICE][0].startswith(E.message(E.UNKNOWN_SERVICE, value="NOPE"))
    conn.execute("UPDATE partition_config SET ondemand_max_new_months = 1")
    conn.commit()
    error = import_file(conn, path, "FILE").errors[-1]                  # the corpus needs 2024-01 and 2024-10
    assert seen.add(error.code, error.message) == E.message(E.TOO_MANY_NEW_MONTHS, count=2, first="2024-01",
                                                            last="2024-10", limit=1)
    conn.execute("UPDATE partition_config SET ondemand_max_new_months = 36")
    conn.commit()
    far = write_xlsx(tmp_path / "far.xlsx", [["01.01.2200 10:00:00", 1, 2, 3, 4]], header=HEADER)
    [error] = import_file(conn, far, "FILE").errors
    assert seen.add(error.code, error.message).startswith("interval 2200-01-01 09:00 UTC is in month 2200-01, ")
    ensure_months(conn, *CORPUS_MONTHS)
    error = import_file(conn, path, "FILE", strict=True).errors[-1]
    seen.add(error.code, error.message)                                 # exact text: the strict-mode test below
    admin.execute("BEGIN")
    admin.execute("SELECT count(*) FROM wfm.contact_statistics")       # blocks creating a partition
    try:
        month = write_xlsx(tmp_path / "may.xlsx", [["02.05.2024 10:00:00", 1, 2, 3, 4]], header=HEADER)
        with pytest.raises(ImportFailedError) as info:
            import_file(conn, month, "FILE", policy=LoadPolicy(lock_timeout_ms=100, retries=0, backoff_s=0))
    finally:
        admin.execute("ROLLBACK")
    failed = info.value.result
    assert seen.add(failed.errors[-1].code, failed.errors[-1].message) == \
        E.message(E.IMPORT_FAILED, reason=failed.error_message)

    # (the call records' and agent states' codes: test_calls_conformance and test_agent_conformance
    # emit them through both of their paths)
    assert set(seen) == E.ALL_CODES - set(JSON_ONLY) - E.CALL_CODES - E.AGENT_CODES


def test_every_code_of_the_json_path_has_its_template_message(conn: psycopg.Connection, two_services) -> None:
    seen = _Seen()
    json_service = two_services[1]
    for _, _, code, message, _ in _json_errors(conn, _json_rows(), json_service):   # the row codes
        seen.add(code, message)

    assert seen.add(E.NO_DATA_ROWS, _json_errors(conn, [HEADER], json_service).pop()[3]) == \
        E.message(E.NO_DATA_ROWS, file="JSON input")

    def import_errors(sql: str, *params) -> list[tuple]:
        batch = conn.execute(sql, params).fetchone()[0]
        return conn.execute("SELECT row_number, column_name, error_code, error_message FROM import_errors "
                            "WHERE import_batch_id = %s ORDER BY 1, 2", (batch,)).fetchall()

    [(_, _, code, message)] = import_errors("SELECT import_batch_id FROM import_argus_format_data(%s, %s)",
                                            Jsonb([["01.01.2100 10:00:00", 1, 2, 3, 4]]), json_service)
    assert seen.add(code, message) == E.message(E.NO_PARTITION, column="A", month="2100-01",
                                                value="01.01.2100 10:00:00")
    ensure_months(conn, *CORPUS_MONTHS)
    strict = import_errors("SELECT import_batch_id FROM import_argus_format_data(%s, %s, p_strict => true)",
                           Jsonb(_json_rows()), json_service)
    seen.add(strict[-1][2], strict[-1][3])                              # exact text: the strict-mode test below
    row = {"interval_start": "2024-01-02T10:00:00+00:00", "unique_incoming": 1, "non_unique_incoming": 2,
           "avg_talk_time": 3, "avg_post_processing_time": 4}
    api = import_errors("SELECT import_batch_id FROM api_batch_insert_calls(%s)",
                        Jsonb([{**row, "service_id": 999999}, {**row, "service_id": json_service, "group_id": 77}]))
    assert api == [(1, "service_id", E.UNKNOWN_SERVICE, E.message(E.UNKNOWN_SERVICE, column="service_id", value="999999")),
                   (2, "group_id", E.UNKNOWN_GROUP,
                    E.message(E.UNKNOWN_GROUP, column="group_id", value="77", service=json_service))]
    for _, _, code, message in api:
        seen.add(code, message)
    compact = import_errors("SELECT import_batch_id FROM api_batch_insert_calls(%s)",
                            Jsonb([list(row) + ["service_id"], [*row.values(), json_service],
                                   [*row.values()]]))
    assert compact == [(2, None, E.WRONG_ROW_LENGTH, E.message(E.WRONG_ROW_LENGTH, rows=2, count=5, columns=6))]
    seen.add(compact[0][2], compact[0][3])

    assert set(seen) == E.ALL_CODES - set(FILE_ONLY) - E.CALL_CODES - E.AGENT_CODES


def test_strict_mode_gives_the_same_message_on_both_paths(conn: psycopg.Connection, two_services,
                                                          tmp_path: Path) -> None:
    path = tmp_path / "corpus.xlsx"
    _write_xlsx(path)
    ensure_months(conn, *CORPUS_MONTHS)
    expected = validate_argus(read_argus_file(path), ZONE)
    message = E.message(E.STRICT_MODE, rejected=expected.rejected, total=expected.rows_total,
                        valid=len(expected.valid))
    file_result = import_file(conn, path, "FILE", strict=True)
    conn.commit()
    assert (file_result.status, file_result.errors[-1].code, file_result.errors[-1].message) == \
        ("rejected", E.STRICT_MODE, message)
    batch, status = conn.execute("SELECT import_batch_id, status FROM import_argus_format_data(%s, %s, p_strict => true)",
                                 (Jsonb(_json_rows()), two_services[1])).fetchone()
    stored = conn.execute("SELECT error_message FROM import_errors WHERE import_batch_id = %s AND error_code = %s",
                          (batch, E.STRICT_MODE)).fetchall()
    batch_message = conn.execute("SELECT error_message FROM import_batches WHERE import_batch_id = %s",
                                 (batch,)).fetchone()[0]
    assert (status, stored, batch_message) == ("rejected", [(message,)], message)
    assert file_result.error_message == message
