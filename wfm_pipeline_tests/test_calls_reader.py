"""Reading call-record files: header rules, Excel and CSV, bounds, and file-level rejections
recorded as batches."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from wfm_pipeline.argus import errors as E
from wfm_pipeline.argus.errors import ArgusFileError
from wfm_pipeline.argus.limits import ReaderLimits
from wfm_pipeline.calls.agent_reader import read_agent_file
from wfm_pipeline.calls.loader import import_call_file
from wfm_pipeline.calls.reader import read_call_file
from wfm_pipeline.calls.validate import validate_calls
from wfm_pipeline_tests.call_data import FIELDS, generate, write_csv

ZONE = "Europe/Berlin"


def test_header_names_are_case_insensitive_and_extra_columns_ignored(tmp_path: Path) -> None:
    rows = generate(1, ZONE, [dt.date(2026, 1, 5)], 20)
    raw = read_call_file(write_csv(tmp_path / "c.csv", rows, header_case="upper", extra=True))
    assert list(raw.frame.columns) == ["row", *FIELDS]
    assert raw.ignored_columns == ("comment",) and raw.header_row == 1
    assert raw.frame["row"].tolist() == list(range(2, 22))
    assert raw.frame["call_id"].tolist() == [r["call_id"] for r in rows]


def test_blank_rows_are_skipped_and_row_numbers_stay_the_files(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("\n , \ncall_id,offered_at,answered_at,ended_at,outcome,agent\n"
                    "a, 05.01.2026 10:00:00 ,,05.01.2026 10:01:00,abandoned,\n\n"
                    "b,05.01.2026 10:02:00,,05.01.2026 10:03:00,abandoned,,surplus\n", encoding="utf-8")
    raw = read_call_file(path)
    assert raw.header_row == 3 and raw.blank_rows == 1
    assert raw.frame["row"].tolist() == [4, 6]
    assert raw.frame["offered_at"].tolist() == ["05.01.2026 10:00:00", "05.01.2026 10:02:00"]   # stripped
    assert raw.frame["agent"].tolist() == [None, None]


@pytest.mark.parametrize("header, code", [
    ("call_id;offered_at;answered_at;ended_at;outcome", E.MISSING_COLUMN),
    ("call_id;offered_at;answered_at;ended_at;outcome;agent;AGENT", E.DUPLICATE_COLUMN),
])
def test_bad_headers_reject_the_file(tmp_path: Path, header: str, code: str) -> None:
    path = tmp_path / "c.csv"
    path.write_text(header + "\na;05.01.2026 10:00:00;;05.01.2026 10:01:00;abandoned;x;y\n", encoding="utf-8")
    with pytest.raises(ArgusFileError) as info:
        read_call_file(path)
    assert info.value.code == code and "agent" in str(info.value)


@pytest.mark.parametrize("content, code", [
    ("", E.NO_DATA_ROWS),
    ("call_id;offered_at;answered_at;ended_at;outcome;agent\n\n", E.NO_DATA_ROWS),
])
def test_files_without_calls_are_rejected(tmp_path: Path, content: str, code: str) -> None:
    path = tmp_path / "c.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ArgusFileError) as info:
        read_call_file(path)
    assert info.value.code == code


def test_size_and_row_bounds_are_checked_before_parsing(tmp_path: Path) -> None:
    rows = generate(2, ZONE, [dt.date(2026, 1, 5)], 50)
    path = write_csv(tmp_path / "c.csv", rows)
    with pytest.raises(ArgusFileError) as info:
        read_call_file(path, limits=ReaderLimits(max_file_bytes=1000))
    assert info.value.code == E.FILE_TOO_LARGE
    with pytest.raises(ArgusFileError) as info:
        read_call_file(path, limits=ReaderLimits(max_rows=20))
    assert info.value.code == E.SHEET_TOO_LARGE


def test_xlsx_with_date_cells_and_numbers_reads_like_the_csv(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Call_Id", "Offered_At", "Answered_At", "Ended_At", "Outcome", "Agent", "Customer_ID",
               "Wrap_Up_Seconds", "Note"])
    ws.append([1001, dt.datetime(2026, 1, 5, 10, 0, 0), dt.datetime(2026, 1, 5, 10, 0, 14, 999990),
               "05.01.2026 10:05:00", "answered", 7, 0, 30.0, "x"])
    ws.append(["1002", "05.01.2026 10:01:00", None, dt.datetime(2026, 1, 5, 10, 2), "abandoned", None, 555, None, None])
    path = tmp_path / "c.xlsx"
    wb.save(path)
    raw = read_call_file(path)
    result = validate_calls(raw, ZONE)
    assert result.errors == [] and result.rows_total == 2
    v = result.valid
    assert v["call_id"].tolist() == ["1001", "1002"] and v["agent_code"].tolist() == ["7", None]
    assert v["customer_id"].tolist() == [None, "555"] and v["wrap_up_seconds"].tolist()[0] == 30
    assert v["answered_at"][0] == dt.datetime(2026, 1, 5, 9, 0, 15, tzinfo=dt.timezone.utc)   # float noise rounded
    assert v["ended_at"][1] == dt.datetime(2026, 1, 5, 9, 2, tzinfo=dt.timezone.utc)


def test_file_level_problems_are_recorded_as_rejected_call_batches(conn, service, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("call_id;offered_at\nx;05.01.2026 10:00:00\n", encoding="utf-8")
    result = import_call_file(conn, path, "S1")
    assert result.status == "rejected" and result.errors[-1].code == E.MISSING_COLUMN
    unknown = import_call_file(conn, write_csv(tmp_path / "d.csv", generate(3, ZONE, [dt.date(2026, 1, 5)], 3)), "NOPE")
    assert unknown.status == "rejected" and unknown.errors[-1].code == E.UNKNOWN_SERVICE
    rows = conn.execute("SELECT kind, status, rows_total FROM wfm.import_batches ORDER BY created_at").fetchall()
    assert rows == [("calls", "rejected", 0), ("calls", "rejected", 0)]
    assert conn.execute("SELECT count(*) FROM wfm.import_errors").fetchone()[0] == 2


@pytest.mark.parametrize("header", ["call_id", '"call_id"'])   # plain text, and quoted (pandas' way)
def test_a_csv_too_wide_is_refused_before_a_column_is_made(tmp_path: Path, no_hang, header: str) -> None:
    """An 8 MB file whose first record names two million columns: quoted, pandas built a column
    per field first and was still busy after five minutes (the reader's bound was checked after
    the parse); plain, it cost 0.8 GB. Now the width is found from the delimiters outside
    quoted fields, before parsing: SHEET_TOO_LARGE in well under a second."""
    wide = 2_000_000
    for reader_of, name in ((read_call_file, "calls.csv"), (read_agent_file, "agents.csv")):
        path = tmp_path / name
        path.write_text(header + ";x" * wide + "\nc1" + ";y" * wide + "\n", encoding="utf-8")
        with pytest.raises(ArgusFileError) as info:
            reader_of(path)
        assert info.value.code == E.SHEET_TOO_LARGE
        assert f"reaches row 2, column {wide + 1:,}" in info.value.error.message


def test_delimiters_and_line_breaks_inside_quoted_fields_are_no_columns(tmp_path: Path) -> None:
    rows = generate(3, ZONE, [dt.date(2026, 1, 5)], 5)
    rows[0]["agent"] = "A;" * 500 + "\n" + ";" * 500                  # one quoted cell, wider than any limit
    path = write_csv(tmp_path / "c.csv", rows)
    assert '"A;A;' in path.read_text(encoding="utf-8")
    raw = read_call_file(path)
    assert raw.rows_total == 5 and raw.frame["agent"].iloc[0].startswith("A;A;")
