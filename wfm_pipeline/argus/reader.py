"""Reading Argus WFM exports (.xlsx, .xls, .csv) into a raw frame.

``read_argus_file(path) -> RawArgusData``: the first sheet (or the CSV) as a DataFrame with
columns ``row`` (the spreadsheet's own 1-based row number, headers counted) and ``A``-``E``
(the raw cell values: ``datetime`` for date cells, ``float`` for numbers, ``str`` for text,
``None`` for empty cells). Nothing is validated here except the file-level rules:

* leading rows whose column A is not a date are headers and are skipped;
* fully blank rows (A-E empty) are skipped anywhere; columns after E are ignored;
* fewer than five columns -> ``ArgusFileError(TOO_FEW_COLUMNS)``; no row with a date in
  column A -> ``NO_DATA_ROWS``; a file that cannot be parsed -> ``FILE_UNREADABLE``.

Excel files are read with python-calamine (Rust; an order of magnitude faster than
openpyxl). CSV files are read with the csv module: delimiter ``;``, ``,`` or tab, sniffed;
UTF-8 (with or without BOM), falling back to cp1251 (Argus is often run with Russian locales).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from wfm_pipeline.argus import errors as E
from wfm_pipeline.argus.errors import ArgusFileError

COLUMNS = ("A", "B", "C", "D", "E")
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
SUPPORTED_SUFFIXES = EXCEL_SUFFIXES | CSV_SUFFIXES

# Text dates accepted in column A (the Argus format first; seconds may be omitted).
TEXT_DATE_FORMATS = ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M")
_TEXT_DATE_RE = re.compile(r"^\s*\d{1,2}\.\d{1,2}\.\d{4}\s+\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*$")


@dataclass(frozen=True)
class RawArgusData:
    """The data rows of one Argus file, unvalidated."""

    frame: pd.DataFrame        # columns: row (int64), A..E (object)
    file_name: str
    header_rows: int           # leading non-date rows skipped
    blank_rows: int            # fully blank rows skipped (anywhere)
    columns: int               # width of the sheet / widest CSV record

    @property
    def rows_total(self) -> int:
        return len(self.frame)


def file_sha256(path: str | Path) -> str:
    """sha256 of the file content (the duplicate-file key, with service and group)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise ArgusFileError(E.FILE_UNREADABLE, f"{Path(path).name}: cannot read file: {exc.strerror or exc}") from exc
    return digest.hexdigest()


def looks_like_date(value: object) -> bool:
    """Whether a column-A cell is a date (a date cell, or text in DD.MM.YYYY HH:MM[:SS] form)."""
    if isinstance(value, dt.datetime):
        return True
    if isinstance(value, dt.date):
        return True
    if isinstance(value, str) and _TEXT_DATE_RE.match(value):
        return _parse_text_date(value) is not None
    return False


def _parse_text_date(text: str) -> dt.datetime | None:
    text = " ".join(text.split())
    for fmt in TEXT_DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def read_argus_file(path: str | Path) -> RawArgusData:
    """Read the first sheet of an .xlsx/.xls file or a .csv file (see the module docstring)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        rows, width = _read_csv(path)
    elif suffix in EXCEL_SUFFIXES:
        rows, width = _read_excel(path)
    else:
        raise ArgusFileError(
            E.FILE_UNREADABLE,
            f"{path.name}: unsupported file type {suffix or '(none)'}; expected .xlsx, .xls or .csv",
            path.suffix)
    return _to_raw(rows, width, path.name)


def _read_excel(path: Path) -> tuple[list[list], int]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        if not workbook.sheet_names:
            raise ArgusFileError(E.NO_DATA_ROWS, f"{path.name}: the workbook has no sheet")
        sheet = workbook.get_sheet_by_index(0)
        # skip_empty_area=False keeps row 1 / column A at index 0, so row numbers and column
        # letters stay the spreadsheet's own even when the used range starts further down.
        rows = sheet.to_python(skip_empty_area=False)
    except ArgusFileError:
        raise
    except Exception as exc:  # calamine raises several error types (zip, xml, cfb, ...)
        raise ArgusFileError(E.FILE_UNREADABLE, f"{path.name}: not a readable Excel file: {exc}") from exc
    width = max((len(r) for r in rows), default=0)
    # Trailing all-empty columns are not columns of the data.
    while width and all(len(r) < width or _is_blank(r[width - 1]) for r in rows):
        width -= 1
    return rows, width


def _decode(data: bytes, name: str) -> str:
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ArgusFileError(E.FILE_UNREADABLE, f"{name}: cannot decode the CSV as UTF-8 or cp1251")


def sniff_delimiter(text: str) -> str:
    """``;``, ``,`` or tab: the candidate that splits the first lines most consistently."""
    lines = [ln for ln in text.splitlines()[:200] if ln.strip()]
    if not lines:
        return ";"
    try:
        return csv.Sniffer().sniff("\n".join(lines[:50]), delimiters=";,\t").delimiter
    except csv.Error:
        pass
    best, best_score = ";", (-1, -1)
    for candidate in (";", "\t", ","):
        counts = [ln.count(candidate) for ln in lines]
        modal = max(set(counts), key=counts.count)
        score = (int(modal >= 4), counts.count(modal) if modal else 0)
        if score > best_score:
            best, best_score = candidate, score
    return best


def _read_csv(path: Path) -> tuple[list[list], int]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ArgusFileError(E.FILE_UNREADABLE, f"{path.name}: cannot read file: {exc.strerror or exc}") from exc
    if b"\x00" in data[:4096]:
        raise ArgusFileError(E.FILE_UNREADABLE, f"{path.name}: binary content, not a CSV file")
    text = _decode(data, path.name)
    delimiter = sniff_delimiter(text)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise ArgusFileError(E.FILE_UNREADABLE, f"{path.name}: malformed CSV: {exc}") from exc
    width = 0
    for r in rows:
        n = len(r)
        while n and not r[n - 1].strip():
            n -= 1
        width = max(width, n)
    return rows, width


def _to_raw(rows: list[list], width: int, name: str) -> RawArgusData:
    if width < len(COLUMNS):
        raise ArgusFileError(
            E.TOO_FEW_COLUMNS,
            f"{name}: found {width} column(s); an Argus export has five (A start time, B unique calls, "
            "C non-unique calls, D average talk time, E average post-processing time)",
            str(width))

    # Leading headers: everything above the first row whose column A is a date.
    first = None
    blank_before = 0
    for i, r in enumerate(rows):
        cells = (list(r[:5]) + [None] * 5)[:5]
        if all(_is_blank(c) for c in cells):
            blank_before += 1
            continue
        if looks_like_date(cells[0]):
            first = i
            break
    if first is None:
        raise ArgusFileError(
            E.NO_DATA_ROWS,
            f"{name}: no data row found: no row has a date (DD.MM.YYYY HH:MM:SS or a date cell) in column A")
    header_rows = first - blank_before

    body = rows[first:]
    # Pad short records (CSV) to five cells; drop columns after E.
    cells = [(list(r[:5]) + ["", "", "", "", ""])[:5] if len(r) < 5 else r[:5] for r in body]
    frame = pd.DataFrame(cells, columns=list(COLUMNS), dtype=object)
    frame.insert(0, "row", pd.RangeIndex(first + 1, first + 1 + len(frame), dtype="int64"))
    # Empty cells are None; whitespace-only text is empty too.
    for col in COLUMNS:
        s = frame[col]
        is_str = s.map(type) == str
        if is_str.any():
            stripped = s[is_str].str.strip()
            s = s.copy()
            s[is_str] = stripped.where(stripped != "", None)
            frame[col] = s
    blank = frame[list(COLUMNS)].isna().all(axis=1)
    blank_rows = int(blank.sum()) + blank_before
    frame = frame[~blank].reset_index(drop=True)
    return RawArgusData(frame=frame, file_name=name, header_rows=header_rows, blank_rows=blank_rows,
                        columns=width)
