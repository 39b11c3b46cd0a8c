"""Validation error codes and the row-error record shared by every Argus import path.

The codes are the closed list of ``wfm.error_codes`` (sql/004); a test keeps the two in step.
Row numbers are the spreadsheet's own (1-based, header rows counted); ``row`` is ``None`` for
whole-file problems (``FILE_UNREADABLE``, ``TOO_FEW_COLUMNS``, ...).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# Row-level codes: one input row is rejected.
MISSING_VALUE = "MISSING_VALUE"
INVALID_DATETIME = "INVALID_DATETIME"
MISALIGNED_INTERVAL = "MISALIGNED_INTERVAL"
INVALID_LOCAL_TIME = "INVALID_LOCAL_TIME"
NOT_INTEGER = "NOT_INTEGER"
NEGATIVE_VALUE = "NEGATIVE_VALUE"
OUT_OF_RANGE = "OUT_OF_RANGE"
UNIQUE_EXCEEDS_NON_UNIQUE = "UNIQUE_EXCEEDS_NON_UNIQUE"
DUPLICATE_INTERVAL = "DUPLICATE_INTERVAL"
DUPLICATE_ROW = "DUPLICATE_ROW"
# JSON functions only (sql/097): the row's month has no partition; they never create one.
NO_PARTITION = "NO_PARTITION"

# File-level codes: the whole input is rejected.
FILE_UNREADABLE = "FILE_UNREADABLE"
TOO_FEW_COLUMNS = "TOO_FEW_COLUMNS"
NO_DATA_ROWS = "NO_DATA_ROWS"
UNKNOWN_SERVICE = "UNKNOWN_SERVICE"
UNKNOWN_GROUP = "UNKNOWN_GROUP"
STRICT_MODE = "STRICT_MODE"  # sql/022: strict import refused a file with invalid rows

# sql/094: bounded on-demand partitions and failed loads.
OUTSIDE_PARTITION_WINDOW = "OUTSIDE_PARTITION_WINDOW"  # row: its month is missing and outside the window
TOO_MANY_NEW_MONTHS = "TOO_MANY_NEW_MONTHS"  # file: needs more new months than one import may create
IMPORT_FAILED = "IMPORT_FAILED"  # file: the load failed and was rolled back (why: the message)

ROW_CODES: frozenset[str] = frozenset({
    MISSING_VALUE, INVALID_DATETIME, MISALIGNED_INTERVAL, INVALID_LOCAL_TIME, NOT_INTEGER,
    NEGATIVE_VALUE, OUT_OF_RANGE, UNIQUE_EXCEEDS_NON_UNIQUE, DUPLICATE_INTERVAL, DUPLICATE_ROW, NO_PARTITION,
    OUTSIDE_PARTITION_WINDOW,
})
FILE_CODES: frozenset[str] = frozenset({
    FILE_UNREADABLE, TOO_FEW_COLUMNS, NO_DATA_ROWS, UNKNOWN_SERVICE, UNKNOWN_GROUP, STRICT_MODE,
    TOO_MANY_NEW_MONTHS, IMPORT_FAILED,
})
ALL_CODES: frozenset[str] = ROW_CODES | FILE_CODES


@dataclass(frozen=True)
class RowError:
    """One problem in one input row (or in the whole input when ``row`` is None).

    ``column`` is the Argus column letter ``A``-``E`` or None when the problem concerns the
    whole row or file; ``value`` is the offending raw value as text (None when empty).
    """

    row: int | None
    column: str | None
    code: str
    message: str
    value: str | None = None

    def __post_init__(self) -> None:
        if self.code not in ALL_CODES:
            raise ValueError(f"unknown error code {self.code!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        where = "file" if self.row is None else f"row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.code}: {self.message}"


class ArgusFileError(Exception):
    """The whole input is rejected (unreadable, too few columns, no data rows, unknown service)."""

    def __init__(self, code: str, message: str, value: str | None = None) -> None:
        super().__init__(message)
        self.error = RowError(None, None, code, message, value)

    @property
    def code(self) -> str:
        return self.error.code
