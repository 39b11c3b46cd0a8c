"""Reading agent state files (.csv, .xlsx, .xls) into the JSON rows the one validator takes.

``parse_agent_file(content, name) -> RawEvents``: the first sheet (or the CSV) with a header
row; names are matched case-insensitively (surrounding white space ignored), unknown columns are
ignored, a missing required column (``agent``, ``state``, ``at``) is ``MISSING_EVENT_COLUMN``, a
name given twice ``DUPLICATE_COLUMN``, no row after the header ``NO_DATA_ROWS``; fully blank rows
are skipped. Everything about bytes, limits, encodings and delimiters is the call-record
reader's (``calls.reader``, itself the Argus reader's).

The rows are not validated here: ``RawEvents.json_rows(service_id)`` turns each into the JSON
object ``wfm.stage_agent_events`` validates - the validator of ``api_batch_insert_agent_events``
too, so a file and a JSON batch get the same verdicts by construction. Cells become text as a
JSON caller would send them: text as it is, whole numbers without ``.0``, date cells as ISO 8601
wall-clock times (``YYYY-MM-DDTHH:MM:SS[.ffffff]``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from wfm_pipeline.argus import errors as E
from wfm_pipeline.argus import reader as argus_reader
from wfm_pipeline.argus.errors import ArgusFileError
from wfm_pipeline.argus.limits import ReaderLimits, check_xls, check_xlsx
from wfm_pipeline.settings import get_settings
from wfm_pipeline.argus.reader import FileContent
from wfm_pipeline.calls.reader import _clean, _header_name, _read_csv

REQUIRED = ("agent", "state", "at")
OPTIONAL = ("reason", "group")
FIELDS = REQUIRED + OPTIONAL
STATES = ("logged_in", "ready", "not_ready", "talking", "post_processing", "logged_out")


@dataclass(frozen=True)
class RawEvents:
    """The data rows of one agent state file, unvalidated."""

    frame: pd.DataFrame        # columns: row (int64) and the FIELDS present (object)
    file_name: str
    header_row: int            # 1-based row number of the header
    blank_rows: int            # fully blank rows skipped after the header
    ignored_columns: tuple[str, ...] = ()

    @property
    def rows_total(self) -> int:
        return len(self.frame)

    @property
    def row_numbers(self) -> list[int]:
        return self.frame["row"].astype("int64").tolist()

    def json_rows(self, service_id: int) -> list[dict[str, object]]:
        """The rows as ``wfm.stage_agent_events`` objects (``service_id`` is the file's service)."""
        columns = {f: [_cell_text(v) for v in self.frame[f].tolist()] for f in FIELDS if f in self.frame}
        out: list[dict[str, object]] = []
        for i in range(len(self.frame)):
            row: dict[str, object] = {"service_id": service_id}
            for f, values in columns.items():
                if values[i] is not None:
                    row[f] = values[i]
            out.append(row)
        return out


def _cell_text(value: object) -> str | None:
    """A cell as a JSON caller sends it (text; the reader already stripped it, empty is None)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        return value.isoformat(timespec="microseconds" if value.microsecond else "seconds")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_agent_file(path: str | Path, *, encoding: str | None = None,
                    limits: ReaderLimits | None = None) -> RawEvents:
    """Read an agent state file (see the module docstring); raises ``ArgusFileError``."""
    path = Path(path)
    argus_reader._check_suffix(path.name)  # before anything is read
    limits = limits or ReaderLimits.from_settings()
    return parse_agent_file(argus_reader.read_bytes(path, limits), path.name, encoding=encoding, limits=limits)


def parse_agent_file(content: FileContent | bytes, name: str | None = None, *, encoding: str | None = None,
                     limits: ReaderLimits | None = None) -> RawEvents:
    """The rows of an agent state file read once (``argus.reader.read_file``); raises ``ArgusFileError``."""
    data, name, suffix, limits = argus_reader.unwrap_content(content, name, limits)
    if suffix in argus_reader.CSV_SUFFIXES:
        encoding = encoding or get_settings().csv_encoding
        records = _read_csv(argus_reader._decode(data, name, encoding), name, limits)
    else:
        (check_xls if suffix == ".xls" else check_xlsx)(data, name, limits)
        rows, _width = argus_reader._read_excel(data, name)
        records = pd.DataFrame(rows, dtype=object) if rows else pd.DataFrame()
    return _to_raw(records, name)


def _to_raw(records: pd.DataFrame, name: str) -> RawEvents:
    if records.empty:
        raise ArgusFileError.of(E.NO_DATA_ROWS, file=name)
    cells = pd.DataFrame({i: _clean(records.iloc[:, i]) for i in range(records.shape[1])})
    blank = cells.isna().all(axis=1).to_numpy()
    non_blank = np.flatnonzero(~blank)
    if non_blank.size == 0:
        raise ArgusFileError.of(E.NO_DATA_ROWS, file=name)
    header_pos = int(non_blank[0])
    names = [_header_name(v) for v in cells.iloc[header_pos].tolist()]
    seen: dict[str, int] = {}
    for position, field in enumerate(names):
        if field in FIELDS:
            if field in seen:
                raise ArgusFileError.of(E.DUPLICATE_COLUMN, file=name, columns=field, value=field)
            seen[field] = position
    missing = [f for f in REQUIRED if f not in seen]
    if missing:
        raise ArgusFileError.of(E.MISSING_EVENT_COLUMN, file=name, columns=", ".join(missing),
                                value=", ".join(missing))
    keep = ~blank[header_pos + 1:]
    data = cells.iloc[header_pos + 1:][keep]
    if data.empty:
        raise ArgusFileError.of(E.NO_DATA_ROWS, file=name)
    frame = pd.DataFrame({"row": (np.flatnonzero(keep) + header_pos + 2).astype(np.int64)})
    for field, position in seen.items():
        frame[field] = data.iloc[:, position].to_numpy(dtype=object)
    ignored = tuple(n for i, n in enumerate(names) if n and i not in seen.values())
    return RawEvents(frame=frame, file_name=name, header_row=header_pos + 1,
                     blank_rows=int((~keep).sum()), ignored_columns=ignored)
