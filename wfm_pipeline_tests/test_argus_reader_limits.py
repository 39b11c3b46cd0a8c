"""The file reader cannot be crashed, exhausted or made to block (issue 9).

Hostile workbooks are written as raw XML (``write_raw_xlsx``): each is a few KB on disk and,
before the limits, made python-calamine allocate hundreds of GB (the process aborted). A
regression here shows as a crashed test worker, which pytest reports as a failure.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import struct
import threading
import zipfile
from pathlib import Path

import pytest

from wfm_pipeline.argus import errors as E
from wfm_pipeline.argus.errors import ArgusFileError, RowError, clip
from wfm_pipeline.argus.limits import MAX_STRING_CHARS, ReaderLimits, _screen, sheet_extent
from wfm_pipeline.argus.steps import import_file
from wfm_pipeline.argus.reader import file_sha256, read_argus_file
from wfm_pipeline.argus.validate import validate_argus
from wfm_pipeline.settings import load_settings
from wfm_pipeline_tests.argus_files import argus_rows, raw_rows, write_csv, write_raw_xlsx, write_xlsx

HEADER_AND_ONE_ROW = raw_rows([["Start", "B", "C", "D", "E"], ["05.01.2026 08:00:00", 1, 2, 3, 4]])


def rejected(path: Path, code: str, limits: ReaderLimits | None = None) -> ArgusFileError:
    with pytest.raises(ArgusFileError) as info:
        read_argus_file(path, limits=limits)
    assert info.value.code == code, info.value
    assert path.name in str(info.value)
    return info.value


# ---------------------------------------------------------------- used range
@pytest.mark.parametrize("far_cell", [
    '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>',          # Excel's last cell
    "<row r='1048576'><c r='XFD1048576'><v>1</v></c></row>",          # single quotes
    '<row r="1048576"><c\tr = "xfd1048576"><v>1</v></c></row>',       # tab, spaces, lower case
    '<x:row r="1048576"><x:c r="XFD1048576"><x:v>1</x:v></x:c></x:row>',  # namespace prefix
    '<row r="7"><c r="A7" s="0" r="XFD7"><v>1</v></c></row>',         # a second r attribute wins
    '<row r="3000000"><c><v>1</v></c></row>',                          # a cell without r, far down
    '<row r="9">' + "<c><v>1</v></c>" * 70 + "</row>",                 # 70 cells without r: column BR
    '<row r="9"><c r="A9" foo=">" r="ZZ9"><v>1</v></c></row>',        # '>' inside a quoted value
])
def test_a_far_cell_is_rejected_before_calamine_allocates_the_range(tmp_path: Path, far_cell: str) -> None:
    path = write_raw_xlsx(tmp_path / "far.xlsx", HEADER_AND_ONE_ROW + far_cell)
    assert path.stat().st_size < 3000
    error = rejected(path, E.SHEET_TOO_LARGE)
    assert "used range reaches row" in str(error) and "at most 2,000,000 rows, 64 columns" in str(error)


def test_the_extent_is_calamines_own_for_usual_and_odd_sheets(tmp_path: Path) -> None:
    """Screen (usual form) and exact scan (anything else) find what calamine builds (.end is 0-based)."""
    from python_calamine import CalamineWorkbook

    cases = [
        HEADER_AND_ONE_ROW,                                                                  # screen
        HEADER_AND_ONE_ROW + '<row r="70"><c r="AB70" s="1" t="n"><v>1</v></c></row>',        # screen, wide
        '<row r="12"><c r="c12"><v>1</v></c><c r="B99"><v>1</v></c></row>',                 # screen, lower case
        '<row r="3"><c><v>1</v></c><c><v>2</v></c><c><v>3</v></c></row><row><c><v>4</v></c></row>',
        '<row r="2"><c r="B2"><v>1</v></c><c><v>2</v></c></row><row r="5"><c r="J5"><v>1</v></c></row>',
        "<row r='4'><c r='K4'><v>1</v></c></row>",
        '<row r="2"><c s="3" r="C2"><v>1</v></c><c r="M2"/></row>',  # self-closing cells are ignored
    ]
    for i, data in enumerate(cases):
        path = write_raw_xlsx(tmp_path / f"c{i}.xlsx", data)
        end = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).end
        with zipfile.ZipFile(path) as z:
            xml = z.read("xl/worksheets/sheet1.xml")
        assert sheet_extent(xml, ReaderLimits()) == (end[0] + 1, end[1] + 1), data
        assert (_screen(xml) is not None) == (i < 3), data


def test_a_sheet_written_the_usual_way_with_extra_columns_still_reads(tmp_path: Path) -> None:
    rows = argus_rows(dt.datetime(2026, 1, 5, 8, 0), 3)
    path = write_xlsx(tmp_path / "wide.xlsx", [r + ["note"] * 20 for r in rows])  # columns up to Y
    assert read_argus_file(path).rows_total == 3


def test_an_xls_record_far_to_the_right_is_rejected(tmp_path: Path) -> None:
    import xlwt

    wb = xlwt.Workbook()
    ws = wb.add_sheet("Argus")
    ws.write(0, 0, "Start")
    ws.write(3, 7, 2.5)
    path = tmp_path / "far.xls"
    wb.save(str(path))
    data = bytearray(path.read_bytes())
    at = data.index(struct.pack("<HH", 3, 7))  # the RK record of the cell at row 4, column H
    data[at:at + 4] = struct.pack("<HH", 65535, 65535)  # calamine asked for 137 GB here
    path.write_bytes(bytes(data))
    error = rejected(path, E.SHEET_TOO_LARGE)
    assert "row 65,536, column 65,536" in str(error)


# ---------------------------------------------------------------- shared strings, zip bombs
def test_a_shared_string_beyond_excels_cell_limit_is_rejected(tmp_path: Path) -> None:
    import random

    data = '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
    text = "".join(random.Random(1).choices("abcdefghijklmnopqrstuvwxyz", k=40_000))  # compresses ~2x only
    path = write_raw_xlsx(tmp_path / "long.xlsx", data, shared_strings=["Start", text])
    error = rejected(path, E.FILE_TOO_LARGE)
    assert f"shared string 2 has 40,000 characters; a cell holds at most {MAX_STRING_CHARS:,}" in str(error)
    # The 8 MB string (a 30 KB file) inflates a thousandfold: refused before any parsing.
    bomb = write_raw_xlsx(tmp_path / "eight.xlsx", data, shared_strings=["x" * 8_000_000])
    assert bomb.stat().st_size < 40_000
    assert "sharedStrings.xml inflates" in str(rejected(bomb, E.FILE_TOO_LARGE))


def test_many_cells_cloning_one_long_shared_string_are_rejected(tmp_path: Path) -> None:
    many = "".join(f'<row r="{r}"><c r="A{r}" t="s"><v>1</v></c></row>' for r in range(3, 3003))
    limits = ReaderLimits(max_text_chars=10_000_000)
    path = write_raw_xlsx(tmp_path / "clones.xlsx", HEADER_AND_ONE_ROW + many, shared_strings=["Start", "y" * 30_000])
    error = rejected(path, E.FILE_TOO_LARGE, limits)
    assert re.search(r"would copy up to 90,\d{3},\d{3} characters of shared strings; the reader accepts at most "
                     r"10,000,000", str(error))
    # The same cells on a short string are fine: the bound did not reject on size alone.
    ok = write_raw_xlsx(tmp_path / "short.xlsx", HEADER_AND_ONE_ROW + many, shared_strings=["Start", "y" * 30])
    raw = read_argus_file(ok, limits=limits)
    assert raw.rows_total == 3001 and raw.frame["A"].iloc[-1] == "y" * 30


def test_a_zip_bomb_member_is_rejected(tmp_path: Path) -> None:
    path = write_raw_xlsx(tmp_path / "bomb.xlsx", HEADER_AND_ONE_ROW, extra={"xl/media/pad.bin": b"\0" * 20_000_000})
    assert path.stat().st_size < 60_000
    error = rejected(path, E.FILE_TOO_LARGE)
    assert "xl/media/pad.bin inflates" in str(error) and "a zip bomb?" in str(error)


def test_a_member_holding_more_than_it_declares_is_rejected(tmp_path: Path) -> None:
    path = write_raw_xlsx(tmp_path / "liar.xlsx", HEADER_AND_ONE_ROW)
    data = bytearray(path.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    declared = None
    for sig, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # local header, central directory
        for m in re.finditer(re.escape(sig), bytes(data)):
            name_at = m.start() + (30 if sig == b"PK\x03\x04" else 46)
            if data[name_at:name_at + len(name)] == name:
                declared = struct.unpack_from("<I", data, m.start() + size_at)[0]
                struct.pack_into("<I", data, m.start() + size_at, 100)  # "my content is 100 bytes"
    assert declared and declared > 100
    path.write_bytes(bytes(data))
    error = rejected(path, E.FILE_TOO_LARGE)
    assert "holds more data than the 100 bytes it declares" in str(error)


# ---------------------------------------------------------------- file size, non-regular files
def test_file_size_limit_comes_from_the_setting(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "big.csv", argus_rows(dt.datetime(2026, 1, 5), 200))
    error = rejected(path, E.FILE_TOO_LARGE, ReaderLimits(max_file_bytes=1024))
    assert "at most 0.0 MB (WFM_MAX_FILE_MB)" in str(error)
    assert load_settings({"WFM_MAX_FILE_MB": "2.5"}).max_file_mb == 2.5
    assert load_settings({}).max_file_mb == 100
    with pytest.raises(ValueError, match="WFM_MAX_FILE_MB"):
        load_settings({"WFM_MAX_FILE_MB": "-1"})


def _finishes(fn, seconds: float = 20.0) -> BaseException | None:
    """Run ``fn`` in a thread; fail if it blocks (a FIFO open without O_NONBLOCK hangs forever)."""
    outcome: list = []

    def target() -> None:
        try:
            fn()
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - returned to the test
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "blocked on a non-regular file"
    return outcome[0]


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_fifos_and_devices_never_block_hashing_or_reading(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "argus.csv"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    label = "a FIFO" if kind == "fifo" else "a character device"
    for fn in (lambda: file_sha256(path), lambda: read_argus_file(path)):
        error = _finishes(fn)
        assert isinstance(error, ArgusFileError) and error.code == E.FILE_UNREADABLE
        assert str(error) == f"argus.csv: cannot be read: {label}, not a regular file; only regular files are read"


# ---------------------------------------------------------------- long cells
def test_one_huge_csv_cell_is_a_row_error_with_a_clipped_value(tmp_path: Path) -> None:
    rows = argus_rows(dt.datetime(2026, 1, 5, 8, 0), 3)
    rows[1][1] = "9" * 150_000 + "x"  # beyond the csv module's default field limit (131,072)
    result = validate_argus(read_argus_file(write_csv(tmp_path / "long.csv", rows)), "UTC")
    assert len(result.valid) == 2
    [error] = result.errors
    assert (error.row, error.column, error.code) == (3, "B", E.NOT_INTEGER)
    assert error.value == "9" * 200 + "…(+149801 chars)"
    assert error.message.endswith("…(+149801 chars)' is not a whole number") and len(error.message) < 300


def test_clip_is_idempotent_and_bounds_messages() -> None:
    value = "a" * 1000
    once = clip(value)
    assert once == "a" * 200 + "…(+800 chars)" and clip(once) == once
    assert clip("short") == "short" and clip(None) is None
    error = RowError(5, "B", E.NOT_INTEGER, "m" * 5000, value)
    assert error.value == once and len(error.message) == 1000 + len("…(+4000 chars)")
    assert RowError(*(5, "B", E.NOT_INTEGER, error.message, error.value)) == error  # read back unchanged


def test_a_huge_cell_is_stored_and_printed_clipped(conn, service, tmp_path: Path) -> None:
    rows = argus_rows(dt.datetime(2026, 1, 5, 8, 0), 2)
    rows[0][3] = "z" * 2_000_000
    result = import_file(conn, write_csv(tmp_path / "huge.csv", rows), "S1")
    assert result.status == "completed_with_errors" and result.rows_rejected == 1
    stored = conn.execute("SELECT raw_value, error_message FROM wfm.import_errors WHERE import_batch_id = %s",
                          (result.import_batch_id,)).fetchall()
    assert stored == [("z" * 200 + "…(+1999800 chars)",
                       "column D '" + "z" * 200 + "…(+1999800 chars)' is not a whole number")]
    assert len(json.dumps(result.to_dict())) < 2000


# ---------------------------------------------------------------- pre-1900 local mean time
def test_local_mean_time_instants_are_row_errors_not_a_failed_file(conn, service, tmp_path: Path) -> None:
    rows = [["01.01.1880 00:00:00", 1, 2, 3, 4], ["01.01.1880 00:15:00", 1, 2, 3, 4],
            ["05.01.2026 08:00:00", 1, 2, 3, 4]]
    path = write_csv(tmp_path / "lmt.csv", rows)
    result = validate_argus(read_argus_file(path), "Europe/Berlin")
    assert [(e.row, e.column, e.code) for e in result.errors] == [(2, "A", E.MISALIGNED_INTERVAL),
                                                                  (3, "A", E.MISALIGNED_INTERVAL)]
    # the one MISALIGNED_INTERVAL message names the zone and why an aligned wall-clock time can fail
    assert result.errors[0].message == E.message(E.MISALIGNED_INTERVAL, column="A", value="01.01.1880 00:00:00",
                                                 time_zone="Europe/Berlin")
    assert "time zone Europe/Berlin and in UTC" in result.errors[0].message
    assert "local mean time" in result.errors[0].message
    loaded = import_file(conn, path, "S1")  # the table's alignment CHECK is never reached
    assert (loaded.status, loaded.rows_inserted, loaded.rows_rejected) == ("completed_with_errors", 1, 2)


def test_csv_records_are_bounded_too(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "many.csv", argus_rows(dt.datetime(2026, 1, 5), 30))
    error = rejected(path, E.SHEET_TOO_LARGE, ReaderLimits(max_rows=20))
    assert "the CSV's used range reaches row 21" in str(error)
    assert read_argus_file(path, limits=ReaderLimits(max_rows=31)).rows_total == 30


def test_an_opendocument_sheet_named_xlsx_is_not_read(tmp_path: Path) -> None:
    # calamine recognises ODS by content and expands number-rows-repeated: a 1 KB file asked
    # for a billion cells. Only a zip that is an .xlsx and nothing else reaches calamine.
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
               'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" office:version="1.2">'
               '<office:body><office:spreadsheet><table:table table:name="S">'
               '<table:table-row table:number-rows-repeated="1000000"><table:table-cell office:value-type="float" '
               'office:value="1" table:number-columns-repeated="1000"/></table:table-row>'
               "</table:table></office:spreadsheet></office:body></office:document-content>")
    path = tmp_path / "ods.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", compress_type=zipfile.ZIP_STORED)
        z.writestr("content.xml", content)
    error = rejected(path, E.FILE_UNREADABLE)
    assert "not an .xlsx workbook (zip with OpenDocument content)" in str(error)


def test_files_whose_content_calamine_would_read_as_another_format_are_refused(tmp_path: Path) -> None:
    import xlwt

    wb = xlwt.Workbook()
    wb.add_sheet("Argus").write(0, 0, "Start")
    xls = tmp_path / "real.xls"
    wb.save(str(xls))
    renamed = tmp_path / "renamed.xlsx"
    renamed.write_bytes(xls.read_bytes())  # calamine tries .xls first whatever the name
    assert "an .xls (OLE) file named .xlsx" in str(rejected(renamed, E.FILE_UNREADABLE))
    polyglot = tmp_path / "both.xls"  # OLE at the start, a zip directory at the end
    polyglot.write_bytes(xls.read_bytes() + write_raw_xlsx(tmp_path / "z.xlsx", HEADER_AND_ONE_ROW).read_bytes())
    assert "also a zip archive" in str(rejected(polyglot, E.FILE_UNREADABLE))


def test_xls_cells_cloning_a_long_shared_string_are_counted_like_calamine(tmp_path: Path) -> None:
    import xlwt
    from python_calamine import CalamineWorkbook

    from wfm_pipeline.argus.limits import xls_extent

    wb = xlwt.Workbook()
    ws = wb.add_sheet("Argus")
    long = "ab" * 16_000 + "Ж" * 700  # 32,700 characters, 16-bit: split over CONTINUE records
    ws.write(0, 0, "Start")
    for r in range(1, 301):
        ws.write(r, 0, long)
    path = tmp_path / "clones.xls"
    wb.save(str(path))
    rows, columns, text = xls_extent(path.read_bytes())
    cells = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert (rows, columns) == (301, 1)
    assert text == sum(len(c) for r in cells for c in r if isinstance(c, str))  # exactly what calamine copies
    error = rejected(path, E.FILE_TOO_LARGE, ReaderLimits(max_text_chars=1_000_000))
    assert f"would copy {text:,} characters of shared strings" in str(error)


@pytest.mark.parametrize("sheet_path", ["docProps/custom.rels", "xl/styles2.xml", "xl/worksheets/sheet1.bin"])
def test_a_sheet_stored_under_any_name_is_checked(tmp_path: Path, sheet_path: str) -> None:
    from python_calamine import CalamineWorkbook

    path = write_raw_xlsx(tmp_path / "odd.xlsx", HEADER_AND_ONE_ROW, sheet_path=sheet_path)
    assert CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).end == (1, 4)  # calamine follows the rels
    assert read_argus_file(path).rows_total == 1
    far = write_raw_xlsx(tmp_path / "far.xlsx", HEADER_AND_ONE_ROW + '<row r="9"><c r="XFD9"><v>1</v></c></row>',
                         sheet_path=sheet_path)
    rejected(far, E.SHEET_TOO_LARGE)


@pytest.mark.parametrize("hostile_first", [True, False])
def test_duplicate_zip_entries_are_both_checked(tmp_path: Path, hostile_first: bool) -> None:
    import warnings

    path = write_raw_xlsx(tmp_path / "dup.xlsx", HEADER_AND_ONE_ROW)
    hostile = ('<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
               '<sheetData><row r="1"><c r="A1"><v>1</v></c><c r="XFD1048576"><v>1</v></c></row></sheetData>'
               "</worksheet>")
    with zipfile.ZipFile(path) as z:
        entries = [(i.filename, z.read(i)) for i in z.infolist()]
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        warnings.simplefilter("ignore")  # "Duplicate name": the point of the test
        for member, content in entries:
            if member == "xl/worksheets/sheet1.xml" and hostile_first:
                z.writestr(member, hostile)
            z.writestr(member, content)
            if member == "xl/worksheets/sheet1.xml" and not hostile_first:
                z.writestr(member, hostile)
    rejected(path, E.SHEET_TOO_LARGE)
