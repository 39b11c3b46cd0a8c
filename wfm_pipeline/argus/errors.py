"""Validation error codes and the row-error record shared by every Argus import path.

The codes are the closed list of ``wfm.error_codes`` (sql/004); a test keeps the two in step.
Row numbers are the spreadsheet's own (1-based, header rows counted); ``row`` is ``None`` for
whole-file problems (``FILE_UNREADABLE``, ``TOO_FEW_COLUMNS``, ...).

Bounded output: a ``RowError``'s ``value`` is clipped to ``MAX_VALUE_CHARS`` characters and its
``message`` to ``MAX_MESSAGE_CHARS`` when it is built (``clip``), so nothing downstream
(``import_errors.raw_value``, JSON lines, errors.csv, Dagster metadata) ever carries a huge cell.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

MAX_VALUE_CHARS = 200     # of a raw cell value as stored and printed
MAX_MESSAGE_CHARS = 1000  # of a message (messages quote values, themselves clipped)
_CLIPPED = re.compile(r"…\(\+\d+ chars\)\Z")

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
FILE_TOO_LARGE = "FILE_TOO_LARGE"    # sql/090: size, uncompressed size, compression ratio, text volume
SHEET_TOO_LARGE = "SHEET_TOO_LARGE"  # sql/090: used range beyond the row/column/cell limits

# sql/094: bounded on-demand partitions and failed loads.
OUTSIDE_PARTITION_WINDOW = "OUTSIDE_PARTITION_WINDOW"  # row: its month is missing and outside the window
TOO_MANY_NEW_MONTHS = "TOO_MANY_NEW_MONTHS"  # file: needs more new months than one import may create
IMPORT_FAILED = "IMPORT_FAILED"  # file: the load failed and was rolled back (why: the message)

# sql/120: call-detail records (wfm_pipeline/calls). UNKNOWN_GROUP is also a row error there
# (the group column names a group per call).
INVALID_OUTCOME = "INVALID_OUTCOME"
OUTCOME_CONFLICT = "OUTCOME_CONFLICT"
ANSWERED_BEFORE_OFFERED = "ANSWERED_BEFORE_OFFERED"
ENDED_BEFORE_ANSWERED = "ENDED_BEFORE_ANSWERED"
ENDED_BEFORE_OFFERED = "ENDED_BEFORE_OFFERED"
TALK_TOO_LONG = "TALK_TOO_LONG"
WAIT_TOO_LONG = "WAIT_TOO_LONG"
DUPLICATE_CALL_ID = "DUPLICATE_CALL_ID"
MISSING_COLUMN = "MISSING_COLUMN"      # file: a required column is not in the header row
DUPLICATE_COLUMN = "DUPLICATE_COLUMN"  # file: two header cells name the same column
CALL_ROW_CODES: frozenset[str] = frozenset({
    INVALID_OUTCOME, OUTCOME_CONFLICT, ANSWERED_BEFORE_OFFERED, ENDED_BEFORE_ANSWERED, ENDED_BEFORE_OFFERED,
    TALK_TOO_LONG, WAIT_TOO_LONG, DUPLICATE_CALL_ID,
})

ROW_CODES: frozenset[str] = frozenset({
    MISSING_VALUE, INVALID_DATETIME, MISALIGNED_INTERVAL, INVALID_LOCAL_TIME, NOT_INTEGER,
    NEGATIVE_VALUE, OUT_OF_RANGE, UNIQUE_EXCEEDS_NON_UNIQUE, DUPLICATE_INTERVAL, DUPLICATE_ROW, NO_PARTITION,
    OUTSIDE_PARTITION_WINDOW,
}) | CALL_ROW_CODES
FILE_CODES: frozenset[str] = frozenset({
    FILE_UNREADABLE, TOO_FEW_COLUMNS, NO_DATA_ROWS, UNKNOWN_SERVICE, UNKNOWN_GROUP, STRICT_MODE,
    TOO_MANY_NEW_MONTHS, IMPORT_FAILED, FILE_TOO_LARGE, SHEET_TOO_LARGE, MISSING_COLUMN, DUPLICATE_COLUMN,
})
ALL_CODES: frozenset[str] = ROW_CODES | FILE_CODES


def clip(text: str | None, limit: int = MAX_VALUE_CHARS) -> str | None:
    """``text`` cut to ``limit`` characters plus ``…(+N chars)`` naming what was cut.

    Idempotent: a value clipped before (e.g. read back from ``import_errors``) is kept as is.
    """
    if text is None or len(text) <= limit:
        return text
    if _CLIPPED.match(text, limit):
        return text
    return f"{text[:limit]}…(+{len(text) - limit} chars)"


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
        # The one place cell text is bounded (frozen dataclass: set through object).
        if self.value is not None:
            object.__setattr__(self, "value", clip(str(self.value)))
        object.__setattr__(self, "message", clip(self.message, MAX_MESSAGE_CHARS))

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
