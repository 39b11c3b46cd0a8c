"""Reading call-record files (.csv, .xlsx, .xls) into a raw frame, within bounds.

``read_call_file(path) -> RawCalls``: the first sheet (or the CSV) as a DataFrame with column
``row`` (the spreadsheet's own 1-based row number, the header counted) and one column per known
field present in the header (``FIELDS``), holding the raw cells: ``str`` for text (stripped;
empty is ``None``), ``datetime`` for date cells, ``float`` for numbers.

The file-level rules: the first non-blank row is the header; names are matched
case-insensitively (surrounding white space ignored) and unknown columns are ignored; a missing
required column is ``MISSING_COLUMN``, a name given twice ``DUPLICATE_COLUMN``; no row after the
header is ``NO_DATA_ROWS``; fully blank rows are skipped.

Everything about bytes is the Argus reader's (``wfm_pipeline.argus.reader``): regular files
only, ``WFM_MAX_FILE_MB`` before anything is read, the Excel pre-checks of ``argus.limits``
(uncompressed size, compression ratio, used range, shared strings) before calamine materializes
a sheet, CSV encoding (given or detected: UTF-16 BOM, UTF-8, cp1251/cp1252) and delimiter
sniffing. CSV records are counted before they are parsed (``SHEET_TOO_LARGE`` beyond
``max_rows``), then parsed by pandas' C parser (the call files of a busy centre are large).
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from wfm_pipeline.argus import errors as E
from wfm_pipeline.argus import reader as argus_reader
from wfm_pipeline.argus.errors import ArgusFileError
from wfm_pipeline.settings import get_settings
from wfm_pipeline.argus.reader import FileContent
from wfm_pipeline.argus.limits import ReaderLimits, check_dimensions, check_xls, check_xlsx

REQUIRED = ("call_id", "offered_at", "answered_at", "ended_at", "outcome", "agent")
OPTIONAL = ("customer_id", "wrap_up_seconds", "group")
FIELDS = REQUIRED + OPTIONAL
TIME_FIELDS = ("offered_at", "answered_at", "ended_at")


@dataclass(frozen=True)
class RawCalls:
    """The data rows of one call-record file, unvalidated."""

    frame: pd.DataFrame        # columns: row (int64) and the FIELDS present (object)
    file_name: str
    header_row: int            # 1-based row number of the header
    blank_rows: int            # fully blank rows skipped after the header
    ignored_columns: tuple[str, ...] = ()
    # which cells of each field's column are empty (None), as the reader found them while
    # cleaning: the validator takes them instead of looking again (None: it looks itself)
    empty: dict[str, np.ndarray] | None = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def rows_total(self) -> int:
        return len(self.frame)


def read_call_file(path: str | Path, *, encoding: str | None = None,
                   limits: ReaderLimits | None = None) -> RawCalls:
    """Read a call-record file (see the module docstring); raises ``ArgusFileError``."""
    path = Path(path)
    argus_reader._check_suffix(path.name)  # before anything is read
    limits = limits or ReaderLimits.from_settings()
    return parse_call_file(argus_reader.read_bytes(path, limits), path.name, encoding=encoding, limits=limits)


def parse_call_file(content: FileContent | bytes, name: str | None = None, *, encoding: str | None = None,
                    limits: ReaderLimits | None = None) -> RawCalls:
    """``read_call_file`` on bytes already read (``argus.reader.read_file``: the file is read
    and hashed once)."""
    data, name, suffix, limits = argus_reader.unwrap_content(content, name, limits)
    if suffix in argus_reader.CSV_SUFFIXES:
        encoding = encoding or get_settings().csv_encoding
        text = argus_reader._decode(data, name, encoding)
        del data
        records = _read_csv_records(text, name, limits)
        del text
    else:
        (check_xls if suffix == ".xls" else check_xlsx)(data, name, limits)
        rows, _width = argus_reader._read_excel(data, name)
        del data
        records = pd.DataFrame(rows, dtype=object) if rows else pd.DataFrame()
    return _to_raw(_cleaned(records), name)


@dataclass
class _Plain:
    """Columns of a plain CSV text (``_split_plain``): every cell a ``str``; per column, the
    empty-cell mask when no cell of it holds white space (nothing to strip), else None."""

    columns: list[np.ndarray]
    empty: list[np.ndarray | None]


def _read_csv(text: str, name: str, limits: ReaderLimits) -> pd.DataFrame:
    """All records (header included) as a frame of strings; row i is record i + 1 (the agent-state
    reader's way in)."""
    records = _read_csv_records(text, name, limits)
    if isinstance(records, _Plain):
        return pd.DataFrame(dict(enumerate(records.columns)), dtype=object)
    return records


def _read_csv_records(text: str, name: str, limits: ReaderLimits) -> pd.DataFrame | _Plain:
    """``_read_csv``, a plain text's columns as they are (``_Plain``)."""
    delimiter = argus_reader.sniff_delimiter(text)
    argus_reader._raise_csv_field_limit(len(text))
    if text.count("\n") + 1 > limits.max_rows:
        # Newlines bound the records from above (quoted fields may hold some): count exactly,
        # keeping nothing, before refusing.
        records = sum(1 for _ in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
        if records > limits.max_rows:
            check_dimensions(name, records, 0, limits, where="CSV")
    _check_width(text, delimiter, name, limits)
    plain = _split_plain(text, delimiter)
    if plain is not None:
        check_dimensions(name, len(plain.columns[0]), len(plain.columns), limits, where="CSV")
        return plain
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, header=None, dtype=str, keep_default_na=False,
                            na_filter=False, skip_blank_lines=False, engine="c", quoting=csv.QUOTE_MINIMAL)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, ValueError):
        # Ragged records (a row with more fields than the first, or a blank first line): the csv
        # module takes them.
        try:
            rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
        except csv.Error as exc:
            raise ArgusFileError.of(E.FILE_UNREADABLE, file=name, reason=f"malformed CSV: {exc}") from exc
        width = max(map(len, rows), default=0)
        check_dimensions(name, len(rows), width, limits, where="CSV")
        frame = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype=object)
    check_dimensions(name, len(frame), frame.shape[1], limits, where="CSV")
    return frame


# A quoted field of a CSV record: from a quote at the start of a field (the text's start, a
# delimiter or a line break before it) to the quote that closes it, doubled quotes inside.
# What the csv module and pandas' parser read as one field, delimiters and line breaks included.
_QUOTED_FIELD = '"(?<![^{d}\\r\\n]")[^"]*(?:""[^"]*)*"'


def _check_width(text: str, delimiter: str, name: str, limits: ReaderLimits) -> None:
    """``SHEET_TOO_LARGE`` when a record of a CSV text has more fields than ``limits.max_columns``,
    found without parsing: the record's delimiters outside quoted fields (a quote left open counts
    what follows it, so it may refuse a malformed text early). Without a quote, the lines' own.

    Why before parsing: pandas builds a column per field of the widest record, the csv module a
    ``str`` per field, the plain split a column per field: an 8 MB file whose first record names
    two million columns kept pandas busy for more than five minutes (plain: 12 s and 0.8 GB);
    ``check_dimensions`` after the parse came too late."""
    outside = re.sub(_QUOTED_FIELD.format(d=re.escape(delimiter)), "", text) if '"' in text else text
    if "\r" in outside:
        outside = outside.replace("\r\n", "\n").replace("\r", "\n")
    records = outside.split("\n")
    del outside
    if records[-1] == "":   # after the last line break: no record
        records.pop()
    width = max(map(str.count, records, itertools.repeat(delimiter)), default=0) + 1
    if width > limits.max_columns:
        check_dimensions(name, len(records), width, limits, where="CSV")


def _split_plain(text: str, delimiter: str) -> _Plain | None:
    """The records' columns when the text is "plain": no quote character, no carriage return,
    no NUL, no blank line, and every line has the same number of fields (the usual ACD
    export); ``None`` otherwise (pandas' parser then reads it, as before).

    Why: on such text a CSV parser can only split at line feeds and delimiters, which
    ``str.split`` does at C speed, cheaper than pandas' C parser (which also builds every cell
    as a Python ``str``). A ragged line makes the counts differ and so goes to pandas;
    ``test_calls_client_fast_paths`` holds the two to the same cells."""
    if not text or '"' in text or "\r" in text or "\x00" in text or text.startswith("\n") or "\n\n" in text:
        return None   # (a blank line: pandas' rules for it are its own)
    lines = text.split("\n")
    if lines[-1] == "":   # the final line feed ends the last record, it does not start one
        lines.pop()
    if not lines:
        return None
    fields = np.fromiter(map(str.count, lines, itertools.repeat(delimiter)), dtype=np.int64, count=len(lines))
    width = int(fields[0]) + 1
    if (fields != width - 1).any():
        return None
    del lines
    cells = text.replace("\n", delimiter).split(delimiter)
    if text.endswith("\n"):
        cells.pop()
    rows = len(cells) // width
    plain = _Plain([], [])
    for j in range(width):
        # Each column's cells made again, next to each other (the split made them row by row:
        # validating a column then walks memory with a stride of a whole record, ~15 % slower),
        # from the column joined by NUL (not in the text), which also tells whether any cell
        # holds white space (then the cells are stripped later) and whether any is empty.
        joined = "\x00".join(cells[j::width])
        column = np.empty(rows, dtype=object)
        column[:] = joined.split("\x00")
        empty = None
        if joined and joined.split(None, 1) == [joined]:   # no white space anywhere in the column
            if "\x00\x00" in joined or joined.startswith("\x00") or joined.endswith("\x00"):
                empty = column == ""
            else:
                empty = np.zeros(rows, dtype=bool)
        plain.columns.append(column)
        plain.empty.append(empty)
    return plain


def _normalise(value: object) -> object:
    """A cell as the validator sees it: text stripped (empty -> None), other types as they are."""
    if value is None:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _clean(column: pd.Series) -> pd.Series:
    """``_normalise`` over a column, vectorised for the usual all-text column (CSV)."""
    return pd.Series(_clean_marked(column.to_numpy(dtype=object))[0], dtype=object)


def _clean_marked(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``_normalise`` over a column, vectorised for the usual all-text column (CSV), and which
    cells are empty (known here for free: no ``isna`` over the object column afterwards)."""
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        # str.strip mapped at C speed: pandas' .str.strip() costs ~20x more per cell
        stripped = np.empty(len(values), dtype=object)
        stripped[:] = list(map(str.strip, values))
        empty = stripped == ""
        stripped[empty] = None
        return stripped, empty
    cleaned = np.empty(len(values), dtype=object)
    cleaned[:] = [_normalise(v) for v in values]
    return cleaned, pd.isna(cleaned)


def _cleaned(records: pd.DataFrame | _Plain) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every column's cells as the validator sees them (``_normalise``) and its empty mask."""
    if isinstance(records, pd.DataFrame):
        return [_clean_marked(records.iloc[:, i].to_numpy(dtype=object)) for i in range(records.shape[1])]
    out = []
    for column, empty in zip(records.columns, records.empty):
        if empty is None:
            out.append(_clean_marked(column))
        else:   # nothing to strip: only the empty cells change (to None)
            column[empty] = None
            out.append((column, empty))
    return out


def _header_name(value: object) -> str:
    value = _normalise(value)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().lower()


def _to_raw(cleaned: list[tuple[np.ndarray, np.ndarray]], name: str) -> RawCalls:
    if not cleaned or not len(cleaned[0][0]):
        raise ArgusFileError.of(E.NO_DATA_ROWS, file=name)
    blank = np.logical_and.reduce([empty for _column, empty in cleaned])
    non_blank = np.flatnonzero(~blank)
    if non_blank.size == 0:
        raise ArgusFileError.of(E.NO_DATA_ROWS, file=name)
    header_pos = int(non_blank[0])
    names = [_header_name(column[header_pos]) for column, _empty in cleaned]
    seen: dict[str, int] = {}
    for position, field in enumerate(names):
        if field in FIELDS:
            if field in seen:
                raise ArgusFileError.of(E.DUPLICATE_COLUMN, file=name, columns=field, value=field)
            seen[field] = position
    missing = [f for f in REQUIRED if f not in seen]
    if missing:
        raise ArgusFileError.of(E.MISSING_COLUMN, file=name, columns=", ".join(missing), value=", ".join(missing))
    keep = ~blank[header_pos + 1:]
    if not keep.any():
        raise ArgusFileError.of(E.NO_DATA_ROWS, file=name)
    frame = pd.DataFrame({"row": (np.flatnonzero(keep) + header_pos + 2).astype(np.int64)})
    empty = {}
    for field_name, position in seen.items():
        values, marks = cleaned[position]
        frame[field_name] = values[header_pos + 1:][keep]
        empty[field_name] = marks[header_pos + 1:][keep]
    ignored = tuple(n for i, n in enumerate(names) if n and i not in seen.values())
    return RawCalls(frame=frame, file_name=name, header_row=header_pos + 1,
                    blank_rows=int((~keep).sum()), ignored_columns=ignored, empty=empty)
