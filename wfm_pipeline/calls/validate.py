"""Validating call records: every rule, every error, column-at-a-time.

``validate_calls(raw, time_zone, groups) -> CallValidation``. The rules are those of the JSON
path (``wfm.stage_call_records``, sql/functions/calls/), which a conformance test holds to the
same verdicts. Per field, one error (the first that applies):

=================  ===========================================================================
call_id            MISSING_VALUE, OUT_OF_RANGE (longer than 100 characters)
offered_at         MISSING_VALUE, INVALID_DATETIME, INVALID_LOCAL_TIME (daylight-saving gap)
outcome            MISSING_VALUE, INVALID_OUTCOME (answered, abandoned, other; any case)
answered_at        MISSING_VALUE (outcome answered), INVALID_DATETIME, INVALID_LOCAL_TIME,
                   OUTCOME_CONFLICT (outcome abandoned), ANSWERED_BEFORE_OFFERED, WAIT_TOO_LONG
ended_at           MISSING_VALUE (answered, abandoned), INVALID_DATETIME, INVALID_LOCAL_TIME,
                   then against answered_at when one is given (ENDED_BEFORE_ANSWERED,
                   TALK_TOO_LONG) else against offered_at (ENDED_BEFORE_OFFERED, WAIT_TOO_LONG)
agent, customer_id OUT_OF_RANGE (longer than 100 characters)
wrap_up_seconds    NOT_INTEGER, NEGATIVE_VALUE, OUT_OF_RANGE (above 86,400)
group              UNKNOWN_GROUP (not a group code of the service)
(whole row)        DUPLICATE_ROW: an identical copy of an earlier row (skipped) /
                   DUPLICATE_CALL_ID: the same call_id and UTC month of offered_at with other
                   values (every copy rejected); among rows with a valid call_id and offered_at
=================  ===========================================================================

Times are date cells, ``DD.MM.YYYY HH:MM[:SS]`` or ISO 8601 (the Argus parser,
``argus.validate._parse_datetime``): wall-clock times of the service's zone, or instants when
they carry an offset; years 1678-2261. An ambiguous wall-clock time (the hour repeated when
daylight-saving time ends) is the earlier instant for offered_at; answered_at and ended_at take
the earlier instant unless it lies before the time they follow, then the later one. A row with
several problems reports each; a row whose only error is DUPLICATE_ROW is skipped, any other
error rejects it: ``rows_total = valid + rejected + skipped``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from wfm_pipeline.argus import errors as E
from wfm_pipeline.argus.errors import RowError
from wfm_pipeline.argus.validate import END_TIME, MIN_TIME, _parse_datetime, _parse_number, _raw_text
from wfm_pipeline.calls.reader import FIELDS, TIME_FIELDS, RawCalls

MAX_TEXT = 100            # call_id, agent, customer_id (call_records' CHECKs)
MAX_WRAP_UP = 86_400      # seconds
MAX_SPAN = pd.Timedelta(days=1)   # a wait or a talk
OUTCOMES = ("answered", "abandoned", "other")
TEXT_FIELDS = ("call_id", "outcome", "agent", "customer_id", "group")

VALID_COLUMNS = ("call_id", "offered_at", "answered_at", "ended_at", "outcome", "agent_code", "customer_id",
                 "wrap_up_seconds", "group_id", "source_row_number")


@dataclass
class CallValidation:
    """Outcome of validating one file's call records.

    ``valid``: one row per accepted call (``VALID_COLUMNS``; times tz-aware UTC, ``None``/NaT
    where empty; ``wrap_up_seconds`` and ``group_id`` nullable Int64). ``errors``: every problem,
    sorted by row. ``skipped``: exact copies (DUPLICATE_ROW).
    """

    valid: pd.DataFrame
    errors: list[RowError]
    skipped: int
    rows_total: int
    rejected: int
    time_zone: str
    file_name: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    # what the loader can work out from ``valid`` ahead of the load (``calls.loader.prepare_load``,
    # done where the file is validated: in the prefetch thread when files are prefetched)
    prepared: Any = None

    @property
    def first_interval(self) -> pd.Timestamp | None:
        return self.valid["offered_at"].min().floor("15min") if len(self.valid) else None

    @property
    def last_interval(self) -> pd.Timestamp | None:
        return self.valid["offered_at"].max().floor("15min") if len(self.valid) else None

    @property
    def months(self) -> list[str]:
        """UTC months (YYYY-MM) of the accepted calls' offered_at."""
        if not len(self.valid):
            return []
        utc = self.valid["offered_at"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
        return [str(m) for m in np.unique(utc.astype("datetime64[M]"))]


def _text(column: pd.Series) -> pd.Series:
    """Cells as text (numbers as the JSON path sees them: 12.0 -> "12"), None when empty."""
    values = column.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        return pd.Series(values, dtype=object)
    return pd.Series([_raw_text(v) for v in values], dtype=object)


class _Errors:
    """(position, field, code) triples, collected as arrays."""

    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []

    def add(self, mask: np.ndarray, column: str | None, code: str) -> None:
        positions = np.flatnonzero(mask)
        if positions.size:
            self.parts.append(pd.DataFrame({"pos": positions, "column": column, "code": code}))

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame({"pos": pd.Series([], dtype="int64"), "column": pd.Series([], dtype=object),
                                 "code": pd.Series([], dtype=object)})
        return pd.concat(self.parts, ignore_index=True)


@dataclass
class _Time:
    """One time column parsed: blank mask, error code per row (None = fine) and the two
    candidate instants (equal unless the wall-clock time is ambiguous)."""

    blank: np.ndarray
    code: np.ndarray
    early: pd.Series
    late: pd.Series
    invalid: np.ndarray | None = None   # code == INVALID_DATETIME, as a mask
    gap: np.ndarray | None = None       # code == INVALID_LOCAL_TIME, as a mask

    def ok(self) -> np.ndarray:
        """Rows without an error code (blank ones included)."""
        if self.invalid is None or self.gap is None:
            return np.asarray(pd.isna(self.code), dtype=bool)
        return ~(self.invalid | self.gap)


# YYYY-MM-DDTHH:MM:SS: ASCII digits everywhere but the separators at these positions
_ISO_SEPARATORS = {4: "-", 7: "-", 10: "T", 13: ":", 16: ":"}
_ISO_DIGITS = [i for i in range(19) if i not in _ISO_SEPARATORS]


def _iso_shaped(text: list[str]) -> np.ndarray:
    """Which of these 19-character strings have the shape ``YYYY-MM-DDTHH:MM:SS`` with seconds
    below 60 (strptime would roll a leap second over), checked on their code points at once
    (a regular expression costs ~1 us a cell)."""
    if not text:
        return np.zeros(0, dtype=bool)
    points = np.array(text, dtype="<U19").view(np.uint32).reshape(len(text), 19)
    digits = points[:, _ISO_DIGITS]
    ok = ((digits >= ord("0")) & (digits <= ord("9"))).all(axis=1)
    for position, char in _ISO_SEPARATORS.items():
        ok &= points[:, position] == ord(char)
    return ok & (points[:, 17] < ord("6"))


def _str19_mask(values: np.ndarray, blank: np.ndarray | None = None) -> np.ndarray:
    """Which cells are ``str`` of 19 characters (``blank``: the empty cells, when known)."""
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):  # all str or None: no type checks
        present = ~blank if blank is not None else pd.notna(values)
        out = np.zeros(len(values), dtype=bool)
        out[present] = np.fromiter(map(len, values[present]), dtype=np.int64, count=int(present.sum())) == 19
        return out
    return np.fromiter((type(v) is str and len(v) == 19 for v in values), dtype=bool, count=len(values))


# The two 19-character forms parsed by arithmetic on their bytes: (position of each field's
# digits: year, month, day, hour, minute, second; separators by position)
_FORMS = (
    ((0, 4), (5, 7), (8, 10), (11, 13), (14, 16), (17, 19), {4: "-", 7: "-", 10: "T", 13: ":", 16: ":"}),  # ISO
    ((6, 10), (3, 5), (0, 2), (11, 13), (14, 16), (17, 19), {2: ".", 5: ".", 10: " ", 13: ":", 16: ":"}),  # Argus
)
_FIRST_YEAR, _LAST_YEAR = MIN_TIME.year, END_TIME.year - 1   # whole years, as MIN_TIME / END_TIME
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _strict_times(candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Wall-clock times of 19-character ``str`` cells in the form ``YYYY-MM-DDTHH:MM:SS`` or
    ``DD.MM.YYYY HH:MM:SS``, computed from their digits: (naive ``datetime64[ns]``, which cells
    are such a time). A cell counts only when it is a real time of that form - ASCII digits and
    separators in place, month 1-12, a day of that month, hour < 24, minute and second < 60, a
    year of the supported range -, i.e. exactly the cells the exact parser
    (``argus.validate._parse_datetime``) reads as that wall-clock time, with the same value;
    every other cell is left to it (``test_calls_client_fast_paths`` holds the two together).
    ``None`` when some cell is not ASCII (then the caller's general path runs).

    Why: ~2 us a cell for the regular expression and ``strptime`` of the exact parser (the
    ``DD.MM.YYYY`` form took that path for every cell), ~0.1 us here."""
    joined = "".join(candidates)
    if not joined.isascii() or len(joined) != 19 * len(candidates):
        return None
    # one contiguous row per character position (the columns of the n x 19 bytes are strided)
    chars = np.ascontiguousarray(np.frombuffer(joined.encode("ascii"), dtype=np.uint8).reshape(-1, 19).T)
    digits = chars - np.uint8(48)            # wraps around: a digit is exactly a value <= 9
    n = len(candidates)
    ok = np.zeros(n, dtype=bool)
    fields = np.zeros((6, n), dtype=np.int64)
    for *spans, separators in _FORMS:
        shaped = ~ok
        for position, char in separators.items():
            shaped &= chars[position] == ord(char)
        if not shaped.any():
            continue
        for start, end in spans:
            for position in range(start, end):
                shaped &= digits[position] <= 9
        for k, (start, end) in enumerate(spans):
            number = digits[start].astype(np.int64)
            for position in range(start + 1, end):
                number = number * 10 + digits[position]
            np.copyto(fields[k], number, where=shaped)
        ok |= shaped
    year, month, day, hour, minute, second = fields
    ok &= (year >= _FIRST_YEAR) & (year <= _LAST_YEAR) & (month >= 1) & (month <= 12)
    ok &= (hour < 24) & (minute < 60) & (second < 60) & (day >= 1)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    ok &= day <= _DAYS_IN_MONTH[np.where(ok, month, 0)] + ((month == 2) & leap)
    # days since 1970-01-01 of the proleptic Gregorian date (H. Hinnant's days_from_civil)
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    days = era * 146_097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719_468
    seconds = days * 86_400 + hour * 3_600 + minute * 60 + second
    naive = np.where(ok, seconds * 1_000_000_000, 0).view("datetime64[ns]")
    return naive, ok


def _parse_datetime_fast(column: pd.Series, blank: np.ndarray | None = None) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """``_parse_datetime`` with a fast path for the usual ACD forms ``YYYY-MM-DDTHH:MM:SS`` and
    ``DD.MM.YYYY HH:MM:SS`` (wall-clock times; ``_strict_times``, or for non-ASCII text C-level
    ``to_datetime`` of the ISO form): the Argus parser's regex extraction costs ~2-10 us a cell.
    Every other cell (and any cell the fast path cannot take) goes the Argus way.
    ``blank``: ``column.isna()`` when the caller has it already."""
    values = column.to_numpy(dtype=object)
    if blank is None:
        blank = column.isna().to_numpy()
    is_str = _str19_mask(values, blank)
    if not is_str.any():
        return _parse_datetime(column)
    candidates = values[is_str]
    strict = _strict_times(candidates)
    if strict is not None:
        parsed_values, taken = strict
    else:
        shaped = _iso_shaped(candidates.tolist())
        parsed = pd.to_datetime(pd.Series(candidates, dtype=object).where(shaped), format="%Y-%m-%dT%H:%M:%S",
                                errors="coerce")
        parsed_values = parsed.to_numpy("datetime64[ns]")
        taken = shaped & parsed.notna().to_numpy()
    fast = np.zeros(len(values), dtype=bool)
    fast[np.flatnonzero(is_str)[taken]] = True
    out_values = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[ns]")
    out_values[fast] = parsed_values[taken]
    invalid = np.zeros(len(values), dtype=bool)
    instant = np.zeros(len(values), dtype=bool)
    rest = ~fast & ~blank
    if rest.any():
        r_out, r_invalid, r_instant = _parse_datetime(column[rest])
        out_values[rest] = r_out.to_numpy()
        invalid[rest] = r_invalid
        instant[rest] = r_instant
    out = pd.Series(out_values, index=column.index)
    out[(out < MIN_TIME) | (out >= END_TIME)] = pd.NaT
    invalid |= out.isna().to_numpy() & ~blank
    return out, invalid, instant


def _lengths(column: pd.Series, present: np.ndarray | None = None) -> np.ndarray:
    """Character length of each text cell (0 when empty)."""
    values = column.to_numpy(dtype=object)
    if present is None:
        present = pd.notna(values)
    out = np.zeros(len(values), dtype=np.int64)
    out[present] = np.fromiter(map(len, values[present]), dtype=np.int64, count=int(present.sum()))
    return out


_UNKNOWN, _BLANK = -1, len(OUTCOMES)


def _outcomes(column: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """The outcome cells lower-cased (None when empty) and each one's kind: its index in
    ``OUTCOMES``, ``_UNKNOWN`` or ``_BLANK``. Worked out once per distinct cell (a column holds a
    handful), not per row."""
    codes, uniques = pd.factorize(column.to_numpy(dtype=object))   # empty cells: code -1
    lowered = [u.lower() for u in uniques]
    cells = np.array([*lowered, None], dtype=object)              # code -1 picks the last
    kinds = np.array([OUTCOMES.index(v) if v in OUTCOMES else _UNKNOWN for v in lowered] + [_BLANK])
    return pd.Series(cells[codes], index=column.index, dtype=object), kinds[codes]


def _localize(local: pd.Series, time_zone: str) -> tuple[pd.Series, pd.Series]:
    """Wall-clock times of ``time_zone`` as UTC instants: (the earlier, the later) reading of
    each; they differ only for a time repeated when daylight-saving time ends, and both are NaT
    in a gap. One localization with ambiguous and missing times as NaT; only the times it
    left out (the odd few around a clock change, if any) are localized again both ways (was
    every cell twice, ~2.5 ms a column)."""
    once = local.dt.tz_localize(time_zone, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
    unsure = (once.isna() & local.notna()).to_numpy()
    if not unsure.any():
        return once, once.copy()
    part = local[unsure]
    k = len(part)
    early, late = once.copy(), once.copy()
    early[unsure] = part.dt.tz_localize(time_zone, ambiguous=np.ones(k, dtype=bool), nonexistent="NaT").dt.tz_convert("UTC")
    late[unsure] = part.dt.tz_localize(time_zone, ambiguous=np.zeros(k, dtype=bool), nonexistent="NaT").dt.tz_convert("UTC")
    return early, late


def _parse_time(column: pd.Series, time_zone: str, blank: np.ndarray | None = None) -> _Time:
    if blank is None:
        blank = column.isna().to_numpy()
    naive, invalid, instant = _parse_datetime_fast(column, blank)
    n = len(column)
    local = naive.where(~pd.Series(instant, index=naive.index))
    early, late = _localize(local, time_zone)
    if instant.any():
        utc = naive[instant].dt.tz_localize("UTC")
        early, late = early.copy(), late.copy()
        early[instant] = utc
        late[instant] = utc
    gap = ~blank & ~invalid & early.isna().to_numpy()
    code = np.full(n, None, dtype=object)
    code[invalid] = E.INVALID_DATETIME
    code[gap] = E.INVALID_LOCAL_TIME
    return _Time(blank=blank, code=code, early=early.reset_index(drop=True), late=late.reset_index(drop=True),
                 invalid=invalid, gap=gap)


def _pick(t: _Time, after: pd.Series) -> pd.Series:
    """The instant of each valid cell: the earlier candidate unless it is before ``after``."""
    ok = pd.Series(t.ok(), dtype=bool)
    use_late = (t.early < after).fillna(False).to_numpy(dtype=bool)
    chosen = t.early.where(~use_late, t.late)
    return chosen.where(ok.to_numpy(), pd.NaT)


def _parse_wrap_up(column: pd.Series, blank: np.ndarray | None = None) -> tuple[pd.Series, np.ndarray]:
    """``_parse_number`` (float64, NaN when empty or unparseable; the unparseable mask), with a
    fast path for the usual column: text of plain ASCII digits only (at most 15: exact in a float)."""
    values = column.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(values, skipna=True) == "string":
        present = pd.notna(values) if blank is None else ~blank
        items = values[present].tolist()
        joined = "".join(items)
        if joined.isascii() and joined.isdigit():
            lengths = np.fromiter(map(len, items), dtype=np.int64, count=len(items))
            if lengths.min(initial=1) >= 1 and lengths.max(initial=0) <= 15:
                out = np.full(len(values), np.nan)
                out[present] = np.fromiter(map(int, items), dtype=np.int64, count=len(items))
                return pd.Series(out, index=column.index), np.zeros(len(values), dtype=bool)
    wrap, unparseable, _keys = _parse_number(column)
    return wrap, unparseable


def validate_calls(raw: RawCalls | pd.DataFrame, time_zone: str, groups: dict[str, int] | None = None,
                   service: str | None = None) -> CallValidation:
    """Validate raw call rows of a service (code ``service``, for messages) in ``time_zone``
    whose group codes map to ids by ``groups`` (see the module docstring)."""
    t0 = time.perf_counter()
    if isinstance(raw, RawCalls):
        frame, file_name = raw.frame, raw.file_name
    else:
        frame, file_name = raw, None
    n = len(frame)
    groups = groups or {}
    # each column on its own (no copy of the whole frame: only the row numbers are needed again)
    cells = {f: pd.Series(frame[f].to_numpy(dtype=object) if f in frame else [None] * n, dtype=object)
             for f in FIELDS}
    frame = pd.DataFrame({"row": frame["row"].to_numpy()})
    text = {f: _text(cells[f]) for f in TEXT_FIELDS}
    # the empty cells: as the reader marked them (RawCalls.empty) when it did
    known = raw.empty if isinstance(raw, RawCalls) and raw.empty is not None else {}
    blank = {f: known[f] if f in known and len(known[f]) == n else cells[f].isna().to_numpy() for f in FIELDS}
    errs = _Errors()

    # call_id
    call_id = text["call_id"]
    id_blank = blank["call_id"]
    id_long = _lengths(call_id, ~id_blank) > MAX_TEXT
    errs.add(id_blank, "call_id", E.MISSING_VALUE)
    errs.add(id_long, "call_id", E.OUT_OF_RANGE)

    # outcome
    outcome, kind = _outcomes(text["outcome"])
    out_blank = kind == _BLANK
    errs.add(out_blank, "outcome", E.MISSING_VALUE)
    errs.add(kind == _UNKNOWN, "outcome", E.INVALID_OUTCOME)
    is_answered = kind == OUTCOMES.index("answered")
    is_abandoned = kind == OUTCOMES.index("abandoned")

    # times
    times = {f: _parse_time(cells[f], time_zone, blank[f]) for f in TIME_FIELDS}
    off, ans, end = times["offered_at"], times["answered_at"], times["ended_at"]
    errs.add(off.blank, "offered_at", E.MISSING_VALUE)
    for f in TIME_FIELDS:
        errs.add(times[f].invalid, f, E.INVALID_DATETIME)
        errs.add(times[f].gap, f, E.INVALID_LOCAL_TIME)
    offered_at = _pick(off, pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns, UTC]"))
    answered_at = _pick(ans, offered_at)
    ended_ref = answered_at.where(~ans.blank, offered_at)
    ended_at = _pick(end, ended_ref)

    ans_ok = ~ans.blank & ans.ok()
    errs.add(ans.blank & is_answered, "answered_at", E.MISSING_VALUE)
    conflict = ans_ok & is_abandoned
    errs.add(conflict, "answered_at", E.OUTCOME_CONFLICT)
    wait = (answered_at - offered_at)
    checkable = ans_ok & ~conflict & offered_at.notna().to_numpy()
    before = checkable & (wait < pd.Timedelta(0)).fillna(False).to_numpy(dtype=bool)
    errs.add(before, "answered_at", E.ANSWERED_BEFORE_OFFERED)
    errs.add(checkable & ~before & (wait > MAX_SPAN).fillna(False).to_numpy(dtype=bool), "answered_at", E.WAIT_TOO_LONG)

    end_ok = ~end.blank & end.ok()
    errs.add(end.blank & (is_answered | is_abandoned), "ended_at", E.MISSING_VALUE)
    span = ended_at - ended_ref
    checkable = end_ok & ended_ref.notna().to_numpy()
    before = checkable & (span < pd.Timedelta(0)).fillna(False).to_numpy(dtype=bool)
    too_long = checkable & ~before & (span > MAX_SPAN).fillna(False).to_numpy(dtype=bool)
    follows_answer = ~ans.blank
    errs.add(before & follows_answer, "ended_at", E.ENDED_BEFORE_ANSWERED)
    errs.add(before & ~follows_answer, "ended_at", E.ENDED_BEFORE_OFFERED)
    errs.add(too_long & follows_answer, "ended_at", E.TALK_TOO_LONG)
    errs.add(too_long & ~follows_answer, "ended_at", E.WAIT_TOO_LONG)

    # agent, customer_id
    for f in ("agent", "customer_id"):
        errs.add(_lengths(text[f], ~blank[f]) > MAX_TEXT, f, E.OUT_OF_RANGE)

    # wrap_up_seconds
    wrap_blank = blank["wrap_up_seconds"]
    wrap, unparseable = _parse_wrap_up(cells["wrap_up_seconds"], wrap_blank)
    values = wrap.to_numpy()
    with np.errstate(invalid="ignore"):
        not_int = unparseable | (~np.isnan(values) & (values != np.floor(values)))
        negative = ~not_int & (values < 0)
        too_big = ~not_int & ~negative & (values > MAX_WRAP_UP)
    errs.add(not_int & ~wrap_blank, "wrap_up_seconds", E.NOT_INTEGER)
    errs.add(negative, "wrap_up_seconds", E.NEGATIVE_VALUE)
    errs.add(too_big, "wrap_up_seconds", E.OUT_OF_RANGE)

    # group
    group = text["group"]
    group_id = group.map(groups)
    errs.add(~blank["group"] & group_id.isna().to_numpy(), "group", E.UNKNOWN_GROUP)

    # duplicates: same call_id and UTC month of offered_at
    keyed = ~id_blank & ~id_long & offered_at.notna().to_numpy()
    dup_row, dup_call, first_of = _duplicates(keyed, call_id, offered_at, text, cells)
    errs.add(dup_row, None, E.DUPLICATE_ROW)
    errs.add(dup_call, None, E.DUPLICATE_CALL_ID)

    ef = errs.frame().sort_values(["pos"], kind="stable")
    skipped_only = ef.groupby("pos")["code"].agg(lambda s: set(s) == {E.DUPLICATE_ROW})
    skipped = int(skipped_only.sum())
    rejected = int((~skipped_only).sum())
    bad = np.zeros(n, dtype=bool)
    bad[ef["pos"].to_numpy()] = True

    errors = _materialize(ef, frame, text, cells, first_of, time_zone, service)
    ok = ~bad
    everything = bool(ok.all())   # the usual file: no row to drop, no boolean indexing of every column

    def kept(column: pd.Series) -> pd.Series:
        return column.reset_index(drop=True) if everything else column[ok].reset_index(drop=True)

    customer = kept(text["customer_id"])
    valid = pd.DataFrame({
        "call_id": kept(call_id),
        "offered_at": kept(offered_at),
        "answered_at": kept(answered_at),
        "ended_at": kept(ended_at),
        "outcome": kept(outcome),
        "agent_code": kept(text["agent"]),
        "customer_id": customer.where(customer != "0", None),
        "wrap_up_seconds": _int64(values if everything else values[ok]),
        "group_id": _int64(group_id.to_numpy(dtype=np.float64) if everything else group_id.to_numpy(dtype=np.float64)[ok]),
        "source_row_number": kept(frame["row"]).astype("int64"),
    })
    t_end = time.perf_counter()
    return CallValidation(valid=valid, errors=errors, skipped=skipped, rows_total=n, rejected=rejected,
                          time_zone=time_zone, file_name=file_name, timings={"total": t_end - t0})


def _int64(values: np.ndarray) -> pd.Series:
    """Whole numbers held as float64 (NaN = missing) as a nullable Int64 column, built from its
    data and mask (the ``Float64`` -> ``Int64`` casts checked every value again, ~6 ms a file)."""
    missing = np.isnan(values)
    return pd.Series(pd.arrays.IntegerArray(np.where(missing, 0, values).astype(np.int64), missing))


def _duplicates(keyed: np.ndarray, call_id: pd.Series, offered_at: pd.Series, text: dict[str, pd.Series],
                cells: dict[str, pd.Series]) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """Masks of DUPLICATE_ROW and DUPLICATE_CALL_ID rows, and each duplicated row's first row position."""
    n = len(call_id)
    none = np.zeros(n, dtype=bool)
    if not keyed.any():
        return none, none, pd.Series(dtype="int64")
    if not call_id[keyed].duplicated().any():
        # no call_id twice: no (call_id, month) twice either (one hashed column, no months)
        return none, none, pd.Series(dtype="int64")
    utc = offered_at.dt.tz_convert("UTC")
    month = (utc.dt.year * 100 + utc.dt.month).fillna(0).astype("int64")
    # the usual file has no duplicates: find them on (call_id, month) first, text keys only for them
    keys = pd.DataFrame({"call_id": call_id, "month": month})[keyed]
    dup = np.zeros(n, dtype=bool)
    dup[np.flatnonzero(keyed)[keys.duplicated(keep=False).to_numpy()]] = True
    if not dup.any():
        return none, none, pd.Series(dtype="int64")
    key = (call_id.astype(str) + "\x00" + month.astype(str)).where(dup)
    # Identical means the same text in every field (times as sent).
    sig = pd.DataFrame({f: (text[f] if f in text else _text(cells[f])).fillna("\x01") for f in FIELDS})[dup]
    fingerprint = pd.util.hash_pandas_object(sig, index=False)
    k = key[dup]
    conflict = (fingerprint.groupby(k).transform("nunique") > 1).to_numpy()
    later = (k.groupby(k).cumcount() > 0).to_numpy()
    first = pd.Series(np.flatnonzero(dup), index=k.index).groupby(k).transform("first")
    rows = np.flatnonzero(dup)
    dup_row = none.copy()
    dup_call = none.copy()
    dup_row[rows[~conflict & later]] = True
    dup_call[rows[conflict]] = True
    return dup_row, dup_call, first


def _materialize(ef: pd.DataFrame, frame: pd.DataFrame, text: dict[str, pd.Series], cells: dict[str, pd.Series],
                 first_of: pd.Series, time_zone: str, service: str | None) -> list[RowError]:
    """RowError objects (a Python loop over the errors only, never over all rows). Messages are
    the codes' templates (sql/functions/errors/error_codes.sql) with the parameters the JSON
    path (wfm.stage_call_records) passes for the same errors."""
    if ef.empty:
        return []
    rows = frame["row"].to_numpy()
    dup_rows: dict[str, list[int]] = {}
    for pos in ef.loc[ef["code"] == E.DUPLICATE_CALL_ID, "pos"].to_numpy():
        dup_rows.setdefault(text["call_id"].iloc[pos], []).append(int(rows[pos]))
    out: list[RowError] = []
    for pos, column, code in zip(ef["pos"].to_numpy(), ef["column"].to_numpy(), ef["code"].to_numpy()):
        pos = int(pos)
        column = column if isinstance(column, str) else None
        if column is None:
            value = text["call_id"].iloc[pos]
        elif column in text:
            value = text[column].iloc[pos]
        else:
            value = _raw_text(cells[column].iloc[pos])
        params: dict[str, object] = {}
        if code == E.INVALID_LOCAL_TIME:
            params["time_zone"] = time_zone
        elif code == E.OUT_OF_RANGE:
            params["limit"] = "at most 86,400 seconds" if column == "wrap_up_seconds" else f"at most {MAX_TEXT} characters"
        elif code == E.UNKNOWN_GROUP:
            params["service"] = service
        elif code == E.DUPLICATE_ROW:
            params["first_row"] = int(rows[first_of.loc[pos]])
        elif code == E.DUPLICATE_CALL_ID:
            params["rows"] = ", ".join(map(str, dup_rows.get(value, [])))
        out.append(RowError.of(int(rows[pos]), column, code, value, **params))
    return out
