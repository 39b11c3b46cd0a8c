"""Reading real .xlsx/.xls/.csv files: headers, blank rows, row numbers, file-level rejections."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from wfm_pipeline.argus import errors as E
from wfm_pipeline.argus.errors import ArgusFileError
from wfm_pipeline.argus.reader import read_argus_file, sniff_delimiter
from wfm_pipeline.argus.validate import validate_argus
from wfm_pipeline_tests.argus_files import argus_rows, write_argus, write_csv, write_xlsx

START = dt.datetime(2026, 1, 5, 8, 0)


@pytest.mark.parametrize("suffix", [".xlsx", ".xls", ".csv"])
def test_each_format_reads_the_same_rows_with_spreadsheet_row_numbers(tmp_path: Path, suffix: str) -> None:
    rows = argus_rows(START, 6)
    path = write_argus(tmp_path / f"argus{suffix}", rows)
    raw = read_argus_file(path)
    assert raw.rows_total == 6 and raw.header_rows == 1 and raw.blank_rows == 0
    assert raw.frame["row"].tolist() == [2, 3, 4, 5, 6, 7]  # header is row 1
    result = validate_argus(raw, "Europe/Berlin")
    assert result.errors == [] and len(result.valid) == 6
    # 08:00 Berlin in January is 07:00 UTC; values come through as integers.
    first = result.valid.iloc[0]
    assert first["interval_start_time"] == dt.datetime(2026, 1, 5, 7, 0, tzinfo=dt.timezone.utc)
    assert [int(first[c]) for c in ("unique_incoming", "non_unique_incoming", "avg_talk_time",
                                    "avg_post_processing_time")] == rows[0][1:]


def test_several_header_rows_blank_rows_and_extra_columns(tmp_path: Path) -> None:
    rows = argus_rows(START, 3)
    body = [rows[0] + ["ignored", 99], [None] * 5, rows[1], [None, None, None, None, None, "note in F"], rows[2]]
    path = write_xlsx(tmp_path / "h.xlsx", body,
                      header=[["Argus WFM export"], ["Service: S1", "from", "05.01.2026"], [],
                              ["Start", "B", "C", "D", "E"]])
    raw = read_argus_file(path)
    # Rows 1, 2, 4 are headers (row 3 is blank); data in rows 5, 7, 9; rows 6 and 8 blank.
    assert raw.frame["row"].tolist() == [5, 7, 9]
    assert raw.header_rows == 3 and raw.blank_rows == 3
    assert validate_argus(raw, "UTC").errors == []


def test_a_row_number_in_an_error_is_the_spreadsheet_row(tmp_path: Path) -> None:
    rows = argus_rows(START, 4)
    rows[2][2] = "lots"
    path = write_csv(tmp_path / "e.csv", [rows[0], [], rows[1], rows[2], rows[3]],
                     header=[["export"], ["Start", "B", "C", "D", "E"]])
    errors = validate_argus(read_argus_file(path), "UTC").errors
    assert [(e.row, e.column, e.code, e.value) for e in errors] == [(6, "C", E.NOT_INTEGER, "lots")]


@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
def test_csv_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    path = write_csv(tmp_path / "d.csv", argus_rows(START, 5), delimiter=delimiter)
    raw = read_argus_file(path)
    assert raw.rows_total == 5 and raw.columns == 5
    assert sniff_delimiter(path.read_text()) == delimiter


def test_csv_in_cp1251_with_bom_free_cyrillic_header(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ru.csv", argus_rows(START, 2), header=("Время", "Уник", "Всего", "Разг", "Пост"),
                     encoding="cp1251")
    assert read_argus_file(path).rows_total == 2


def test_date_cells_and_text_dates_are_the_same_interval(tmp_path: Path) -> None:
    rows = [[dt.datetime(2026, 1, 5, 8, 0), 1, 2, 3, 4], ["05.01.2026 08:15:00", 1, 2, 3, 4],
            ["05.01.2026 08:30", "1", "2", "3", "4"]]
    result = validate_argus(read_argus_file(write_xlsx(tmp_path / "mix.xlsx", rows)), "UTC")
    assert result.errors == []
    assert [t.strftime("%H:%M") for t in result.valid["interval_start_time"]] == ["08:00", "08:15", "08:30"]


def test_float_noise_in_date_cells_is_rounded_to_the_second(tmp_path: Path) -> None:
    # 08:15 stored as a serial number a hair below the exact value, as Excel sometimes does.
    from openpyxl import Workbook

    serial = (dt.datetime(2026, 1, 5, 8, 15) - dt.datetime(1899, 12, 30)).total_seconds() / 86400 - 4e-9
    wb = Workbook()
    ws = wb.active
    ws.append(["Start", "B", "C", "D", "E"])
    ws.append([serial, 1, 2, 3, 4])
    ws["A2"].number_format = "DD.MM.YYYY HH:MM:SS"
    ws.append([dt.datetime(2026, 1, 5, 8, 29, 59, 999600), 1, 2, 3, 4])
    ws["A3"].number_format = "DD.MM.YYYY HH:MM:SS"
    path = tmp_path / "noise.xlsx"
    wb.save(path)
    result = validate_argus(read_argus_file(path), "UTC")
    assert result.errors == []
    assert [t.strftime("%H:%M:%S") for t in result.valid["interval_start_time"]] == ["08:15:00", "08:30:00"]


def test_fewer_than_five_columns_is_rejected_as_a_whole(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "four.csv", [r[:4] for r in argus_rows(START, 3)], header=("A", "B", "C", "D"))
    with pytest.raises(ArgusFileError) as info:
        read_argus_file(path)
    assert info.value.code == E.TOO_FEW_COLUMNS and "found 4 column(s)" in str(info.value)


def test_no_data_rows_is_rejected_as_a_whole(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "empty.xlsx", [["total", 1, 2, 3, 4]])
    with pytest.raises(ArgusFileError) as info:
        read_argus_file(path)
    assert info.value.code == E.NO_DATA_ROWS and "empty.xlsx" in str(info.value)


@pytest.mark.parametrize("name,content", [("broken.xlsx", b"this is not a zip file"),
                                          ("broken.xls", b"\xd0\xcf\x11\xe0 not really ole"),
                                          ("binary.csv", b"\x00\x01\x02\x03")])
def test_unreadable_files_are_rejected_as_a_whole(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ArgusFileError) as info:
        read_argus_file(path)
    assert info.value.code == E.FILE_UNREADABLE and name in str(info.value)


def test_unsupported_suffix_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "argus.pdf"
    path.write_bytes(b"%PDF")
    with pytest.raises(ArgusFileError, match="unsupported file type .pdf") as info:
        read_argus_file(path)
    assert info.value.code == E.FILE_UNREADABLE


# ---------------------------------------------------------------- issue 9: leading rows, delimiter, encoding
def test_leading_rows_that_look_like_data_are_row_errors_not_headers(tmp_path: Path) -> None:
    # Two real rows in formats the reader does not accept, before the first recognised date:
    # they used to vanish as "headers" (not counted, no error).
    body = [["2024/03/01 06:00:00", 5, 6, 70, 8], ["01/03/2024 06:15", 4, 4, 60, 9], ["note", "text", None, None, None],
            ["01.03.2024 06:30:00", 3, 3, 50, 5]]
    path = write_csv(tmp_path / "lead.csv", body, header=[["Argus export"], ["Start", "B", "C", "D", "E"]])
    raw = read_argus_file(path)
    assert raw.frame["row"].tolist() == [3, 4, 6] and raw.header_rows == 3  # two headers + "note"
    result = validate_argus(raw, "UTC")
    assert [(e.row, e.column, e.code) for e in result.errors] == [(3, "A", E.INVALID_DATETIME),
                                                                  (4, "A", E.INVALID_DATETIME)]
    assert result.rows_total == 3 and result.rejected == 2 and len(result.valid) == 1


def test_a_quoted_comma_does_not_flip_the_delimiter(tmp_path: Path) -> None:
    # csv.Sniffer saw ', ""after call"",' in one header cell and chose ',': TOO_FEW_COLUMNS.
    path = tmp_path / "quoted.csv"
    path.write_text('Start;Unique;Non-unique;Talk;"Post, ""after call"", s"\n'
                    '05.01.2026 08:00:00;1;2;3;4\n05.01.2026 08:15:00;2;2;3,5;4\n05.01.2026 08:30:00;1;1;3;4\n',
                    encoding="utf-8")
    assert sniff_delimiter(path.read_text()) == ";"
    raw = read_argus_file(path)
    assert raw.rows_total == 3 and raw.columns == 5


def test_comma_files_with_quoted_commas_keep_the_comma(tmp_path: Path) -> None:
    path = tmp_path / "comma.csv"
    path.write_text('Start,Unique,Non-unique,Talk,Post\n"05.01.2026 08:00:00",1,2,3,4\n'
                    '"05.01.2026 08:15:00",1,2,"3,0",4\n', encoding="utf-8")
    assert sniff_delimiter(path.read_text()) == ","
    assert read_argus_file(path).rows_total == 2


def test_latin1_is_told_from_cp1251(tmp_path: Path) -> None:
    header = ("Heure de début", "Appels uniques", "Appels", "Durée moyenne", "Durée post-traitement")
    rows = argus_rows(START, 3)
    rows[1][1] = "12 unités"
    path = write_csv(tmp_path / "fr.csv", rows, header=header, encoding="latin-1")
    [error] = validate_argus(read_argus_file(path), "UTC").errors
    assert error.value == "12 unités"  # read as cp1251 it was "12 unitйs"
    # cp1251 still wins for Russian text (test above), and an explicit encoding is obeyed.
    assert read_argus_file(path, encoding="cp1251").frame["B"].tolist()[1] == "12 unitйs"


def test_an_undecidable_single_byte_encoding_is_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    # One Cyrillic-looking word and one Western-looking word: no way to tell.
    path.write_bytes("Время".encode("cp1251") + b";" + "Durée".encode("latin-1")
                     + b";C;D;E\n05.01.2026 08:00:00;1;2;3;4\n")
    with pytest.raises(ArgusFileError) as info:
        read_argus_file(path)
    assert info.value.code == E.FILE_UNREADABLE
    assert "mixed.csv: cannot be read: cannot tell the CSV's encoding" in str(info.value)
    assert "--encoding" in str(info.value)
    assert read_argus_file(path, encoding="latin-1").rows_total == 1


def test_a_wrong_explicit_encoding_names_the_byte(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ru.csv", argus_rows(START, 1), header=("Время", "B", "C", "D", "E"), encoding="cp1251")
    with pytest.raises(ArgusFileError, match=r"ru.csv: cannot be read: not valid utf-8 text \(byte 0xc2 at offset 0\)"):
        read_argus_file(path, encoding="utf-8")


def test_utf16_with_bom_is_read(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "u16.csv", argus_rows(START, 2), delimiter="\t", encoding="utf-16")
    assert read_argus_file(path).rows_total == 2
