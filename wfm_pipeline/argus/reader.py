"""Reading Argus WFM exports (.xlsx, .xls, .csv) into a raw frame, within bounds.

``read_argus_file(path) -> RawArgusData`` (or ``parse_argus(read_file(path))``: the import reads
a file once, hashes those bytes and parses the same bytes): the first sheet (or the CSV) as a DataFrame with
columns ``row`` (the spreadsheet's own 1-based row number, headers counted) and ``A``-``E``
(the raw cell values: ``datetime`` for date cells, ``float`` for numbers, ``str`` for text,
``None`` for empty cells). Nothing is validated here except the file-level rules:

* leading rows whose column A is not a date are headers and are skipped, unless they look
  like data (a number in B or C): those are data rows, and the validator reports column A;
* fully blank rows (A-E empty) are skipped anywhere; columns after E are ignored;
* fewer than five columns -> ``ArgusFileError(TOO_FEW_COLUMNS)``; no row with a date in
  column A -> ``NO_DATA_ROWS``; a file that cannot be parsed -> ``FILE_UNREADABLE``.

Bounds (``limits.ReaderLimits``), all checked before anything is materialized: only regular
files are opened (``O_NONBLOCK`` + ``S_ISREG`` on the descriptor: a FIFO or a device never
blocks), at most ``WFM_MAX_FILE_MB`` on disk (``FILE_TOO_LARGE``); for Excel files the
uncompressed size, compression ratio, used range (``SHEET_TOO_LARGE``) and shared-string text
(``limits.check_xlsx`` / ``check_xls``); for CSV files the record count. Cell text itself is
bounded where it leaves the reader: ``RowError`` clips values (``errors.clip``).

Excel files are read with python-calamine (Rust; an order of magnitude faster than
openpyxl), from the bytes the limits checked. CSV files are read with the csv module:
delimiter ``;``, ``,`` or tab, chosen by a quote-aware split of the first 1,000 lines; encoding
given (``--encoding``, ``WFM_CSV_ENCODING``) or detected: UTF-16 with BOM, UTF-8 (with or without
BOM), else cp1251 (Argus with Russian locales) or cp1252/latin-1 told apart by their words, or
refused with an error asking for the encoding.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import itertools
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

from wfm_pipeline.argus import errors as E
from wfm_pipeline.argus.errors import ArgusFileError
from wfm_pipeline.settings import get_settings
from wfm_pipeline.argus.limits import ReaderLimits, check_dimensions, check_xls, check_xlsx

COLUMNS = ("A", "B", "C", "D", "E")
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls"}  # .xlsb/.ods: no pre-check, not accepted
CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
SUPPORTED_SUFFIXES = EXCEL_SUFFIXES | CSV_SUFFIXES

# Text dates accepted in column A (the Argus format first; seconds may be omitted).
TEXT_DATE_FORMATS = ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M")
# ISO 8601 text in column A, as wfm.json_cell_local_ts / wfm.json_cell_instant accept it (ASCII
# digits, no white space inside): a wall-clock time, or an instant with a UTC offset (Z, +01,
# +0100, +01:00). The validator parses it with the same patterns.
ISO_LOCAL_PATTERN = (r"(?P<Y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})[T ](?P<H>[0-9]{2}):(?P<M>[0-9]{2})"
              r"(?::(?P<S>[0-9]{2})(?:\.(?P<f>[0-9]{1,6}))?)?")
ISO_INSTANT_PATTERN = (r"(?P<Y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})[T ](?P<H>[0-9]{2}):(?P<M>[0-9]{2})"
                r"(?::(?P<S>[0-5][0-9])(?:\.(?P<f>[0-9]{1,6}))?)?"
                r"(?P<z>[Zz]|(?P<sign>[+-])(?P<oh>0[0-9]|1[0-4])(?::?(?P<om>[0-5][0-9]))?)")
_ISO_DATE_RES = (re.compile(rf"^\s*{ISO_INSTANT_PATTERN}\s*$"), re.compile(rf"^\s*{ISO_LOCAL_PATTERN}\s*$"))
_NUMBER_TEXT_RE = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)")
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


def _kind(mode: int) -> str:
    for test, label in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                        (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory")):
        if test(mode):
            return label
    return "not a regular file"


def open_regular(path: str | Path) -> BinaryIO:
    """Open ``path`` for reading without ever blocking: O_NONBLOCK (a FIFO without a writer would
    otherwise hang the open), then ``S_ISREG`` on the opened descriptor (not on the name, which
    could be swapped in between). FIFOs, devices (a symlink to /dev/zero), sockets and
    directories raise ``ArgusFileError(FILE_UNREADABLE)``."""
    name = Path(path).name
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ArgusFileError.of(E.FILE_UNREADABLE, file=name, reason=str(exc.strerror or exc)) from exc
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise ArgusFileError.of(E.FILE_UNREADABLE, file=name,
                                    reason=f"{_kind(mode)}, not a regular file; only regular files are read")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def file_sha256(path: str | Path) -> str:
    """sha256 of the file content (the duplicate-file key, with service and group)."""
    return read_file(path, keep=False).sha256


@dataclass(frozen=True)
class FileContent:
    """A file read once: its content hash and, when kept, the bytes the reader parses."""

    path: Path
    sha256: str
    size: int                # bytes read
    data: bytes | None       # None: not kept (``keep=False``) or larger than the reader accepts
    too_large: bool = False  # more than ``ReaderLimits.max_file_bytes``: hashed, not kept

    @property
    def name(self) -> str:
        return self.path.name


def read_file(path: str | Path, *, opener: Callable[[Path], BinaryIO] = open_regular,
              limits: ReaderLimits | None = None, keep: bool = True) -> FileContent:
    """Read a file once: hash every byte and keep them (up to ``limits.max_file_bytes``).

    ``opener`` opens the file (default ``open_regular``; the landing folder passes its own,
    which refuses anything outside the folder). A file larger than the reader accepts is still
    hashed to the end (its batch row carries the sha256) but not kept: ``parse_argus`` then
    refuses it with ``FILE_TOO_LARGE``. ``ArgusFileError(FILE_UNREADABLE)`` when it cannot be read.
    """
    path = Path(path)
    limit = (limits or ReaderLimits.from_settings()).max_file_bytes if keep else -1
    digest, chunks, size = hashlib.sha256(), [], 0
    try:
        with opener(path) as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
                size += len(chunk)
                if size <= limit:
                    chunks.append(chunk)
                elif chunks:
                    chunks = []  # too large: hashed to the end, never held in memory
    except OSError as exc:
        raise ArgusFileError.of(E.FILE_UNREADABLE, file=path.name, reason=str(exc.strerror or exc)) from exc
    too_large = keep and size > limit
    data = b"".join(chunks) if keep and not too_large else None
    return FileContent(path, digest.hexdigest(), size, data, too_large)


def _too_large(name: str, size: int, limits: ReaderLimits) -> ArgusFileError:
    return ArgusFileError.of(
        E.FILE_TOO_LARGE, file=name,
        reason=f"{size / 1_048_576:,.1f} MB; the reader accepts at most "
        f"{limits.max_file_bytes / 1_048_576:,.1f} MB (WFM_MAX_FILE_MB)", value=str(size))


def read_bytes(path: str | Path, limits: ReaderLimits) -> bytes:
    """The whole file, refused (``FILE_TOO_LARGE``) beyond ``limits.max_file_bytes`` before reading."""
    name = Path(path).name
    with open_regular(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > limits.max_file_bytes:
            raise _too_large(name, size, limits)
        try:
            data = fh.read(limits.max_file_bytes + 1)  # the file may grow after fstat
        except OSError as exc:
            raise ArgusFileError.of(E.FILE_UNREADABLE, file=name, reason=str(exc.strerror or exc)) from exc
    if len(data) > limits.max_file_bytes:
        raise _too_large(name, len(data), limits)
    return data


def looks_like_date(value: object) -> bool:
    """Whether a column-A cell is a date (a date cell, DD.MM.YYYY HH:MM[:SS] or ISO 8601 text)."""
    if isinstance(value, dt.datetime):
        return True
    if isinstance(value, dt.date):
        return True
    if isinstance(value, str) and _TEXT_DATE_RE.match(value):
        return _parse_text_date(value) is not None
    if isinstance(value, str):
        return _iso_text_is_date(value)
    return False


def _iso_text_is_date(text: str) -> bool:
    """ISO 8601 text in the validator's forms that names a real date and time."""
    match = _ISO_DATE_RES[0].match(text) or _ISO_DATE_RES[1].match(text)
    if not match:
        return False
    groups = {k: v for k, v in match.groupdict().items() if v is not None}
    try:
        dt.datetime(int(groups["Y"]), int(groups["m"]), int(groups["d"]), int(groups["H"]), int(groups["M"]),
                    int(groups.get("S", "0")))
    except ValueError:
        return False
    return True


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


def _check_suffix(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ArgusFileError.of(
            E.FILE_UNREADABLE, file=name,
            reason=f"unsupported file type {suffix or '(none)'}; expected .xlsx, .xls or .csv",
            value=Path(name).suffix)
    return suffix


def read_argus_file(path: str | Path, *, encoding: str | None = None,
                    limits: ReaderLimits | None = None) -> RawArgusData:
    """Read the first sheet of an .xlsx/.xls file or a .csv file (see the module docstring).

    ``encoding`` applies to CSV files only (default: ``WFM_CSV_ENCODING``, else detected);
    ``limits`` default to ``ReaderLimits.from_settings()`` (``WFM_MAX_FILE_MB``).
    """
    path = Path(path)
    _check_suffix(path.name)  # before anything is read
    limits = limits or ReaderLimits.from_settings()
    return parse_argus(read_bytes(path, limits), path.name, encoding=encoding, limits=limits)


def unwrap_content(content: FileContent | bytes, name: str | None,
                   limits: ReaderLimits | None) -> tuple[bytes, str, str, ReaderLimits]:
    """What every parser of a file read once needs first: its bytes (a file too large to keep is
    refused with ``FILE_TOO_LARGE``), its name, its checked suffix and the limits in force."""
    limits = limits or ReaderLimits.from_settings()
    if isinstance(content, FileContent):
        name = name or content.name
        if content.too_large or content.size > limits.max_file_bytes:
            raise _too_large(name, content.size, limits)
        if content.data is None:
            raise ValueError(f"{name}: read with keep=False; nothing to parse")
        data = content.data
    else:
        data = content
    if name is None:
        raise ValueError("a file's name is needed to parse it (its suffix decides the format)")
    return data, name, _check_suffix(name), limits


def parse_argus(content: FileContent | bytes, name: str | None = None, *, encoding: str | None = None,
                limits: ReaderLimits | None = None) -> RawArgusData:
    """``read_argus_file`` on bytes already read (``read_file``): nothing is read from disk again."""
    data, name, suffix, limits = unwrap_content(content, name, limits)
    if suffix in CSV_SUFFIXES:
        encoding = encoding or get_settings().csv_encoding
        rows, width = _read_csv(data, name, encoding, limits)
    else:
        if suffix == ".xls":
            check_xls(data, name, limits)
        else:
            check_xlsx(data, name, limits)
        rows, width = _read_excel(data, name)
    return _to_raw(rows, width, name)


def _read_excel(data: bytes, name: str) -> tuple[list[list], int]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        if not workbook.sheet_names:
            raise ArgusFileError.of(E.NO_DATA_ROWS, file=name)  # a workbook without a sheet
        sheet = workbook.get_sheet_by_index(0)
        # skip_empty_area=False keeps row 1 / column A at index 0, so row numbers and column
        # letters stay the spreadsheet's own even when the used range starts further down
        # (the limits checked the padded extent, from A1).
        rows = sheet.to_python(skip_empty_area=False)
    except ArgusFileError:
        raise
    except Exception as exc:  # calamine raises several error types (zip, xml, cfb, ...)
        raise ArgusFileError.of(E.FILE_UNREADABLE, file=name, reason=f"not a readable Excel file: {exc}") from exc
    width = max(map(len, rows), default=0)
    # Trailing all-empty columns are not columns of the data.
    while width and all(len(r) < width or _is_blank(r[width - 1]) for r in rows):
        width -= 1
    return rows, width


# ---------------------------------------------------------------- CSV
_HIGH_WORD = re.compile(rb"[A-Za-z\xa8\xb8\xc0-\xff]*[\xa8\xb8\xc0-\xff][A-Za-z\xa8\xb8\xc0-\xff]*")
_ASCII_LETTER = re.compile(rb"[A-Za-z]")


def _single_byte_encoding(data: bytes) -> str | None:
    """cp1251 or cp1252 for text that is not UTF-8, by how its letters >= 0xC0 sit in words.

    The same bytes are letters in both code pages (А-я in cp1251, À-ÿ in cp1252), but Russian
    words are made of them entirely ("Время") while French/German/Spanish words mix them with
    ASCII letters ("Durée", "Größe"). None when the evidence is a tie (the caller refuses).
    """
    cyrillic = western = 0
    for word in _HIGH_WORD.findall(data):
        if _ASCII_LETTER.search(word):
            western += 1
        elif len(word) >= 2:
            cyrillic += 1
    if cyrillic > western:
        return "cp1251"
    if western > cyrillic:
        return "cp1252"
    return "cp1251" if cyrillic == 0 else None  # no high letters at all: only symbols differ


def _decode(data: bytes, name: str, encoding: str | None = None) -> str:
    if encoding:
        try:
            codec = codecs.lookup(encoding).name
            return data.decode("utf-8-sig" if codec == "utf-8" else codec)
        except LookupError as exc:
            raise ArgusFileError.of(E.FILE_UNREADABLE, file=name, reason=f"unknown encoding {encoding!r}") from exc
        except UnicodeDecodeError as exc:
            raise ArgusFileError.of(
                E.FILE_UNREADABLE, file=name,
                reason=f"not valid {encoding} text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from exc
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Excel's "Unicode text"
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ArgusFileError.of(E.FILE_UNREADABLE, file=name, reason=f"broken UTF-16 text at offset {exc.start}") from exc
    if b"\x00" in data[:4096]:
        raise ArgusFileError.of(E.FILE_UNREADABLE, file=name, reason="binary content, not a CSV file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    guess = _single_byte_encoding(data)
    if guess is None:
        raise ArgusFileError.of(
            E.FILE_UNREADABLE, file=name,
            reason="cannot tell the CSV's encoding: not UTF-8, and its text reads as Cyrillic (cp1251) as "
            "well as Western European (cp1252/latin-1); name it with --encoding (or WFM_CSV_ENCODING)")
    try:
        return data.decode(guess)
    except UnicodeDecodeError as exc:
        if guess == "cp1252":
            return data.decode("latin-1")  # the five bytes cp1252 leaves undefined: latin-1 has them
        raise ArgusFileError.of(
            E.FILE_UNREADABLE, file=name,
            reason=f"reads as Cyrillic (cp1251) but byte 0x{data[exc.start]:02x} at offset {exc.start} is not "
            "cp1251; name the encoding with --encoding (or WFM_CSV_ENCODING)") from exc


SNIFF_LINES = 1000


def _raise_csv_field_limit(size: int) -> None:
    """Let one field be as long as the whole text (the csv module's default, 131,072, would
    reject a file for one long cell: the cell is a row error instead, its value clipped).
    Only ever raised, so concurrent readers cannot lower it under each other."""
    wanted = min(max(size + 1, 131_072), 2**31 - 1)
    if csv.field_size_limit() < wanted:
        csv.field_size_limit(wanted)


def _split_sample(sample: str, delimiter: str) -> tuple[int, list[int]]:
    """Records of the sample split quote-aware: how many have a date in the first field and
    five or more fields, and the field count of every non-blank record."""
    if not any(c in sample for c in _QUOTE_AWARE_CHARS):
        return _split_plain(sample.split("\n"), delimiter)
    return _split_csv(sample, delimiter)


def _split_csv(sample: str, delimiter: str) -> tuple[int, list[int]]:
    """``_split_sample`` by the csv module (any sample)."""
    dated, counts = 0, []
    try:
        for record in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter):
            if any(f.strip() for f in record):
                counts.append(len(record))
                if len(record) >= len(COLUMNS) and looks_like_date(record[0].strip()):
                    dated += 1
    except csv.Error:
        pass  # a sample cut inside a quoted field: what was parsed still counts
    return dated, counts


# Without a quote, a carriage return or a NUL, the csv module's records are the sample's lines
# and its fields the lines split at the delimiter: ``_split_plain`` gives the same answer without
# the csv module (the usual export; about 3 ms less per 1,000-line sample of three candidates).
_QUOTE_AWARE_CHARS = ('"', "\r", "\x00")


def _split_plain(lines: list[str], delimiter: str) -> tuple[int, list[int]]:
    """``_split_sample`` of a sample with none of ``_QUOTE_AWARE_CHARS``, given as its lines."""
    if lines and not lines[-1]:
        lines = lines[:-1]   # after the sample's last line break: no record
    found = list(map(str.count, lines, itertools.repeat(delimiter)))
    wide = len(COLUMNS) - 1
    if all(map(str.strip, map(str.replace, lines, itertools.repeat(delimiter), itertools.repeat("")))):
        # no blank record (the usual file): every line counts
        counts = [n + 1 for n in found]
        dated = sum(1 for line, n in zip(lines, found)
                    if n >= wide and looks_like_date(line[:line.index(delimiter)].strip()))
        return dated, counts
    dated, counts = 0, []
    for line, n in zip(lines, found):
        if not line.replace(delimiter, "").strip():
            continue   # blank: every field empty once stripped
        counts.append(n + 1)
        if n >= wide and looks_like_date(line[:line.index(delimiter)].strip()):
            dated += 1
    return dated, counts


def sniff_delimiter(text: str) -> str:
    """``;``, ``,`` or tab: the candidate whose quote-aware split of the first lines gives the
    most rows with a date in the first field and five or more fields, then the most rows of one
    consistent width (a comma inside one quoted cell cannot flip a ``;`` file)."""
    end = 0
    for _ in range(SNIFF_LINES):
        nl = text.find("\n", end)
        if nl < 0:
            end = len(text)
            break
        end = nl + 1
    sample = text[:end]
    _raise_csv_field_limit(len(sample))
    best, best_score = ";", (-1, -1, -1)
    for rank, candidate in enumerate((";", "\t", ",")):
        dated, counts = _split_sample(sample, candidate)
        wide = [c for c in counts if c >= 2]
        consistent = max((wide.count(c) for c in set(wide)), default=0)
        score = (dated, consistent, -rank)
        if score > best_score:
            best, best_score = candidate, score
    return best


_BLANK_RECORD: list = []


def _read_csv(data: bytes, name: str, encoding: str | None, limits: ReaderLimits) -> tuple[list[list], int]:
    text = _decode(data, name, encoding)
    del data
    delimiter = sniff_delimiter(text)
    _raise_csv_field_limit(len(text))
    rows: list[list] = []
    width = 0
    try:
        for n, record in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), 1):
            if n > limits.max_rows:
                check_dimensions(name, n, width, limits, where="CSV")
            k = len(record)
            while k and not record[k - 1].strip():
                k -= 1
            if k > width:
                width = k
            # Only A-E are kept (and blank records share one list): memory follows the data.
            rows.append(record[:5] if k else _BLANK_RECORD)
    except csv.Error as exc:
        raise ArgusFileError.of(E.FILE_UNREADABLE, file=name, reason=f"malformed CSV: {exc}") from exc
    return rows, width


# ---------------------------------------------------------------- rows -> frame
def _looks_like_number(value: object) -> bool:
    """A count-like cell: a number cell, or text holding a number (decimal comma allowed)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    # Decimal digits with an optional sign and one decimal point or comma, spaces ignored: the
    # same rule as wfm.json_cell_looks_numeric, so both paths find the same data rows.
    return isinstance(value, str) and 0 < len(value) <= 40 and _NUMBER_TEXT_RE.fullmatch("".join(value.split())) is not None


# pandas.api.types.infer_dtype results that cannot involve str cells.
_NO_TEXT = frozenset({"floating", "integer", "mixed-integer-float", "date", "datetime", "datetime64", "empty",
                      "boolean", "time", "timedelta", "decimal"})


def _to_raw(rows: list[list], width: int, name: str) -> RawArgusData:
    if width < len(COLUMNS):
        raise ArgusFileError.of(E.TOO_FEW_COLUMNS, file=name, columns=width, value=str(width))

    # Leading rows: everything above the first row whose column A is a date is a header, unless
    # it looks like data (a number in B or C): such rows are data rows whose column A is wrong,
    # so the validator reports them instead of letting them vanish.
    first = None
    blank_before = 0
    leading: list[int] = []
    for i, r in enumerate(rows):
        cells = (list(r[:5]) + [None] * 5)[:5]
        if all(_is_blank(c) for c in cells):
            blank_before += 1
            continue
        if looks_like_date(cells[0]):
            first = i
            break
        if _looks_like_number(cells[1]) or _looks_like_number(cells[2]):
            leading.append(i)
    if first is None:
        raise ArgusFileError.of(E.NO_DATA_ROWS, file=name)
    header_rows = first - blank_before - len(leading)

    body = [rows[i] for i in leading] + rows[first:] if leading else rows[first:]
    # Pad short records (CSV) to five cells; drop columns after E. (Excel rows are all as wide
    # as the sheet: five is the usual width, then the rows are used as they are.)
    if set(map(len, body)) == {5}:
        cells = body
    else:
        cells = [r if len(r) == 5 else (list(r[:5]) + [None] * 5)[:5] for r in body]
    frame = pd.DataFrame(cells, columns=list(COLUMNS), dtype=object)
    numbers = np.arange(first + 1, first + 1 + len(rows) - first, dtype=np.int64)
    if leading:
        numbers = np.concatenate([np.asarray(leading, dtype=np.int64) + 1, numbers])
    frame.insert(0, "row", numbers)
    # Empty cells are None; whitespace-only text is empty too. Columns without any text (the
    # usual case for Excel: date cells and numbers) are recognised in C and left alone.
    for col in COLUMNS:
        s = frame[col]
        if infer_dtype(s, skipna=True) in _NO_TEXT:
            continue
        is_str = s.map(type).eq(str)
        if is_str.any():
            stripped = s[is_str].str.strip()
            s = s.copy()
            s[is_str] = stripped.where(stripped != "", None)
            frame[col] = s
    blank = frame[list(COLUMNS)].isna().all(axis=1)
    blank_rows = int(blank.sum()) + blank_before
    if blank_rows > blank_before:
        frame = frame[~blank].reset_index(drop=True)
    return RawArgusData(frame=frame, file_name=name, header_rows=header_rows, blank_rows=blank_rows,
                        columns=width)
