"""Validation error codes and the row-error record shared by every Argus import path.

The codes are the closed list of ``wfm.error_codes`` (source: sql/functions/errors/error_codes.sql);
a test keeps the constants below and that list in step.
Row numbers are the spreadsheet's own (1-based, header rows counted); ``row`` is ``None`` for
whole-file problems (``FILE_UNREADABLE``, ``TOO_FEW_COLUMNS``, ...).

Bounded output: a ``RowError``'s ``value`` is clipped to ``MAX_VALUE_CHARS`` characters and its
``message`` to ``MAX_MESSAGE_CHARS`` when it is built (``clip``), so nothing downstream
(``import_errors.raw_value``, JSON lines, errors.csv, Dagster metadata) ever carries a huge cell.

One message per code: every code has one message template, in ``sql/functions/errors/
error_codes.sql`` - the repeatable SQL file that also fills ``wfm.error_codes`` - which this
module parses (``catalog``), so a file is validated without a database. ``message(code,
**params)`` renders a template exactly as the SQL functions' ``wfm.error_message`` does (a test
proves it); ``RowError.of`` and ``ArgusFileError.of`` build errors with rendered messages.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from wfm_pipeline.textsafe import storable

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
# The compact form of api_batch_insert_calls (issue 15): a row of another length than its header.
WRONG_ROW_LENGTH = "WRONG_ROW_LENGTH"

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
# The codes only call records emit (their own conformance test covers both paths).
CALL_CODES: frozenset[str] = CALL_ROW_CODES | {MISSING_COLUMN, DUPLICATE_COLUMN}

# sql/190: agent state events (wfm_pipeline/agents, wfm.stage_agent_events: one SQL validator
# for files and JSON). DUPLICATE_COLUMN is shared with call-record files.
INVALID_STATE = "INVALID_STATE"
EVENT_OUT_OF_ORDER = "EVENT_OUT_OF_ORDER"
DUPLICATE_EVENT = "DUPLICATE_EVENT"
NOT_LOGGED_IN = "NOT_LOGGED_IN"
OVERLAPPING_SESSION = "OVERLAPPING_SESSION"
MISSING_EVENT_COLUMN = "MISSING_EVENT_COLUMN"  # file: a required column of an agent state file is missing
AGENT_ROW_CODES: frozenset[str] = frozenset({
    INVALID_STATE, EVENT_OUT_OF_ORDER, DUPLICATE_EVENT, NOT_LOGGED_IN, OVERLAPPING_SESSION,
})
# The codes only agent state events emit (their conformance test covers both paths).
AGENT_CODES: frozenset[str] = AGENT_ROW_CODES | {MISSING_EVENT_COLUMN}

ROW_CODES: frozenset[str] = frozenset({
    MISSING_VALUE, INVALID_DATETIME, MISALIGNED_INTERVAL, INVALID_LOCAL_TIME, NOT_INTEGER,
    NEGATIVE_VALUE, OUT_OF_RANGE, UNIQUE_EXCEEDS_NON_UNIQUE, DUPLICATE_INTERVAL, DUPLICATE_ROW, NO_PARTITION,
    OUTSIDE_PARTITION_WINDOW, WRONG_ROW_LENGTH,
}) | CALL_ROW_CODES | AGENT_ROW_CODES
FILE_CODES: frozenset[str] = frozenset({
    FILE_UNREADABLE, TOO_FEW_COLUMNS, NO_DATA_ROWS, UNKNOWN_SERVICE, UNKNOWN_GROUP, STRICT_MODE,
    TOO_MANY_NEW_MONTHS, IMPORT_FAILED, FILE_TOO_LARGE, SHEET_TOO_LARGE, MISSING_COLUMN, DUPLICATE_COLUMN,
    MISSING_EVENT_COLUMN,
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


# ---------------------------------------------------------------- the templates
CATALOG_FILE = Path("functions", "errors", "error_codes.sql")  # under the SQL folder (settings.sql_dir)
QUOTED_PARAM = "value"  # the raw user input: clipped and quoted; other parameters verbatim


@dataclass(frozen=True)
class ErrorCode:
    """One row of the code list: what ``wfm.error_codes`` holds."""

    code: str
    scope: str             # "row" or "file"
    description: str
    message_template: str


# Tokens of the catalogue file: white space, comments, string literals ('' is a quote), the
# punctuation of the VALUES list, words (keywords and names) and anything else (an error).
_SQL_TOKEN = re.compile(r"(?P<space>\s+)|(?P<comment>--[^\n]*)|(?P<string>'(?:[^']|'')*')|(?P<punct>[(),;])"
                        r"|(?P<word>[A-Za-z_][A-Za-z0-9_.]*)|(?P<other>.)", re.S)


def parse_catalog(text: str) -> dict[str, ErrorCode]:
    """The ``('CODE', 'scope', 'description', 'template')`` tuples of the catalogue file's VALUES
    list, in file order. Strict: anything else inside the list is an error (the file is code)."""
    tokens = [(m.lastgroup, m.group()) for m in _SQL_TOKEN.finditer(text) if m.lastgroup not in ("space", "comment")]
    tokens.append(("end", "end of file"))
    words = [t[1].upper() if t[0] == "word" else None for t in tokens]
    if "VALUES" not in words:
        raise ValueError("error code catalogue: no VALUES list")
    i = words.index("VALUES") + 1
    out: dict[str, ErrorCode] = {}
    while True:
        fields, i = _parse_tuple(tokens, i)
        entry = ErrorCode(*fields)
        if entry.code in out:
            raise ValueError(f"error code catalogue: {entry.code} twice")
        out[entry.code] = entry
        if tokens[i] != ("punct", ","):
            break
        i += 1
    if words[i] != "ON":
        raise ValueError(f"error code catalogue: unexpected {tokens[i][1]!r} after the VALUES list")
    return out


def _parse_tuple(tokens: list[tuple[str, str]], i: int) -> tuple[list[str], int]:
    def expect(kind: str, text: str | None = None) -> None:
        if tokens[i][0] != kind or (text is not None and tokens[i][1] != text):
            raise ValueError(f"error code catalogue: expected {text or kind}, found {tokens[i][1]!r}")

    expect("punct", "(")
    i += 1
    fields: list[str] = []
    while True:
        expect("string")
        parts = []
        while tokens[i][0] == "string":  # adjacent literals are one string, as in SQL
            parts.append(tokens[i][1][1:-1].replace("''", "'"))
            i += 1
        fields.append("".join(parts))
        if tokens[i] == ("punct", ")"):
            break
        expect("punct", ",")
        i += 1
    if len(fields) != 4:
        raise ValueError(f"error code catalogue: {fields[0]!r} has {len(fields)} fields, not 4")
    return fields, i + 1


@functools.cache
def _catalog_at(path: Path) -> dict[str, ErrorCode]:
    return parse_catalog(path.read_text(encoding="utf-8"))


def catalog() -> dict[str, ErrorCode]:
    """Every error code with its scope, description and message template (parsed once)."""
    from wfm_pipeline.settings import get_settings

    return _catalog_at(get_settings().sql_dir / CATALOG_FILE)


_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_NO_BRACES = str.maketrans("{}", "()")


def render(template: str, params: Mapping[str, object]) -> str:
    """``template`` with its ``{placeholders}`` filled by the rules of ``wfm.render_error_template``
    (one pass here, the same result): ``{value}`` clipped and quoted ('...', quotes doubled),
    every other parameter as ``str()`` with braces turned into parentheses; a missing or None
    parameter keeps its placeholder. The message is clipped to ``MAX_MESSAGE_CHARS``."""
    def fill(match: re.Match) -> str:
        param = params.get(match.group(1))
        if param is None:
            return match.group(0)
        if match.group(1) == QUOTED_PARAM:
            return "'" + clip(str(param)).replace("'", "''") + "'"
        return str(param).translate(_NO_BRACES)

    return clip(_PLACEHOLDER.sub(fill, template), MAX_MESSAGE_CHARS)


def message(code: str, **params: object) -> str:
    """The message of an error with ``code`` (its template rendered with ``params``)."""
    try:
        template = catalog()[code].message_template
    except KeyError:
        raise ValueError(f"unknown error code {code!r}") from None
    return render(template, params)


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
        # The one place cell text is bounded (frozen dataclass: set through object), and made
        # storable: a file name's undecodable bytes (``{file}``) as \xNN, never a surrogate
        # that PostgreSQL, the errors.csv and the terminal cannot take.
        if self.value is not None:
            object.__setattr__(self, "value", clip(storable(str(self.value))))
        object.__setattr__(self, "message", clip(storable(self.message), MAX_MESSAGE_CHARS))

    @classmethod
    def of(cls, row: int | None, column: str | None, code: str, value: str | None = None, /,
           **params: object) -> RowError:
        """An error whose message is the code's template, rendered with the column, the value
        and ``params`` (the parameters the SQL functions pass for the same code)."""
        return cls(row, column, code, message(code, column=column, value=value, **params), value)

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

    @classmethod
    def of(cls, code: str, *, value: str | None = None, **params: object) -> ArgusFileError:
        """The error with the code's template rendered with ``params`` (``file``, ``reason``, ...);
        ``value`` is the raw value recorded with it."""
        return cls(code, message(code, value=value, **params), value)

    @property
    def code(self) -> str:
        return self.error.code
