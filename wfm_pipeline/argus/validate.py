"""Validating raw Argus rows: every rule, every error, vectorised.

``validate_argus(raw, time_zone) -> ValidationResult`` where ``raw`` is a ``RawArgusData``
(or its frame: columns ``row``, ``A``-``E``). Steps, all column-at-a-time (no row loops):

1. parse: column A to a local datetime (date cells, or text ``DD.MM.YYYY HH:MM[:SS]``),
   rounded to the second (Excel date cells carry float noise); B-E to numbers (numeric cells,
   or text holding a number). Empty required cells -> ``MISSING_VALUE`` (D and E may be empty
   only when C = 0); unparseable -> ``INVALID_DATETIME`` / ``NOT_INTEGER``.
2. the pandera ``ArgusRowsModel`` (lazy): alignment, integers, ranges, C >= B.
3. local time -> UTC with the service's IANA zone: a time in the DST gap ->
   ``INVALID_LOCAL_TIME``; an ambiguous time (fall-back) maps in file order first to the
   earlier instant, then to the later one. An aligned local time whose UTC instant is not
   aligned (the zone's offset then was not whole quarter hours: local mean time before
   standard time, e.g. +00:53:28 in Europe/Berlin before April 1893) -> ``MISALIGNED_INTERVAL``
   too: the store keeps 15-minute UTC intervals, so the row cannot be stored.
4. the same interval twice: identical rows keep the first, the rest are ``DUPLICATE_ROW``
   (skipped); conflicting rows are all ``DUPLICATE_INTERVAL``.

A row with several problems reports each (one error per cell; the row-level C >= B check
and duplicates add theirs). A row whose only error is ``DUPLICATE_ROW`` is *skipped*, any
other error *rejects* it: ``rows_total = valid + rejected + skipped``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa

from wfm_pipeline.argus import errors as E
from wfm_pipeline.argus.errors import RowError
from wfm_pipeline.argus.reader import ISO_INSTANT_PATTERN, ISO_LOCAL_PATTERN, TEXT_DATE_FORMATS, RawArgusData
from wfm_pipeline.argus.schema import (
    COLUMN_LETTERS, DURATION_COLUMNS, MAX_COUNT, MAX_DURATION_SECONDS, VALUE_COLUMNS, ArgusRowsModel,
)

# Output columns of ValidationResult.valid, in the history table's order.
VALID_COLUMNS = ("interval_start_time", "unique_incoming", "non_unique_incoming", "avg_talk_time",
                 "avg_post_processing_time", "source_row_number")
# When one cell fails several value checks (-1.5), report the first of these only.
_CELL_PRIORITY = {E.MISSING_VALUE: 0, E.INVALID_DATETIME: 0, E.NOT_INTEGER: 1, E.NEGATIVE_VALUE: 2,
                  E.OUT_OF_RANGE: 3, E.MISALIGNED_INTERVAL: 4, E.INVALID_LOCAL_TIME: 5}


@dataclass
class ValidationResult:
    """Outcome of validating one file's rows.

    ``valid``: one row per accepted interval with columns ``interval_start_time`` (UTC,
    tz-aware), ``unique_incoming``, ``non_unique_incoming`` (int64), ``avg_talk_time``,
    ``avg_post_processing_time`` (nullable Int64), ``source_row_number`` (int64).
    ``errors``: every problem, sorted by row. ``skipped``: exact duplicate rows.
    """

    valid: pd.DataFrame
    errors: list[RowError]
    skipped: int
    rows_total: int
    rejected: int
    time_zone: str
    file_name: str | None = None
    header_rows: int = 0
    blank_rows: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def first_interval(self) -> pd.Timestamp | None:
        return self.valid["interval_start_time"].min() if len(self.valid) else None

    @property
    def last_interval(self) -> pd.Timestamp | None:
        return self.valid["interval_start_time"].max() if len(self.valid) else None

    @property
    def months(self) -> list[str]:
        """UTC months (YYYY-MM) of the accepted rows: the partitions the load touches."""
        if not len(self.valid):
            return []
        utc = self.valid["interval_start_time"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
        return [str(m) for m in np.unique(utc.astype("datetime64[M]"))]

    @property
    def has_invalid_rows(self) -> bool:
        return self.rejected > 0


class _Collector:
    """Accumulates (position, column letter, code) triples as arrays; messages come last."""

    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []

    def add(self, positions: np.ndarray, letter: str | None, code: str) -> None:
        positions = np.asarray(positions, dtype=np.int64)
        if positions.size:
            self.parts.append(pd.DataFrame({"pos": positions, "column": letter, "code": code}))

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame({"pos": pd.Series([], dtype="int64"), "column": pd.Series([], dtype=object),
                                 "code": pd.Series([], dtype=object)})
        return pd.concat(self.parts, ignore_index=True)


def _empty_mask(s: pd.Series) -> np.ndarray:
    return s.isna().to_numpy()


# Text dates: the shape the SQL validator accepts (wfm.json_cell_local_ts), ASCII digits only;
# strptime alone would also take one-digit minutes/seconds and non-ASCII digits.
_TEXT_DATE_SHAPE = r"[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4} [0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?"
# The supported range of every path: inside pandas' datetime64[ns] (1677-09-21..2262-04-11),
# whole years so that the SQL functions (sql/functions/json_import) can apply the same rule.
MIN_TIME = pd.Timestamp("1678-01-01")
END_TIME = pd.Timestamp("2262-01-01")
# Number text: the shape wfm.json_cell_is_number accepts (after "," -> "." and spaces dropped).
_NUMBER_SHAPE = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?"  # unambiguous: linear on long cells
_PLAIN_DIGITS = r"[0-9]{1,15}"


def _from_parts(parts: pd.DataFrame) -> pd.Series:
    """Regex groups Y m d H M [S f] -> datetime64[ns]; NaT for impossible dates/times (24:00,
    31.04., :60) and years outside pandas' range."""
    if parts.empty:
        return pd.Series([], dtype="datetime64[ns]", index=parts.index)
    frac = parts["f"].fillna("").str.ljust(6, "0")
    fields = pd.DataFrame({
        "year": parts["Y"].astype(int), "month": parts["m"].astype(int), "day": parts["d"].astype(int),
        "hour": parts["H"].astype(int), "minute": parts["M"].astype(int),
        "second": parts["S"].fillna("0").astype(int),
        "microsecond": pd.to_numeric(frac.where(frac != "", "0")).astype(int)}, index=parts.index)
    ok = (fields["month"].between(1, 12) & fields["day"].between(1, 31) & (fields["hour"] <= 23)
          & (fields["minute"] <= 59) & (fields["second"] <= 59) & fields["year"].between(1677, 2262))
    out = pd.Series(pd.NaT, index=parts.index, dtype="datetime64[ns]")
    if ok.any():
        out[ok] = pd.to_datetime(fields[ok], errors="coerce")
    return out


def _parse_iso(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """ISO 8601 text -> (naive datetime, is_instant): instants (with an offset) as naive UTC."""
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    is_instant = pd.Series(np.zeros(len(text), dtype=bool), index=text.index)
    inst = text.str.extract(f"^{ISO_INSTANT_PATTERN}$")
    has = inst["Y"].notna()
    if has.any():
        parts = inst[has]
        naive = _from_parts(parts)
        sign = parts["sign"].map({"+": 1, "-": -1}).fillna(0)
        minutes = sign * (parts["oh"].fillna("0").astype(int) * 60 + parts["om"].fillna("0").astype(int))
        utc = naive - pd.to_timedelta(minutes, unit="min")
        is_instant[has] = naive.notna().to_numpy(dtype=bool)
        out[has] = utc
    local = text.str.extract(f"^{ISO_LOCAL_PATTERN}$")
    has = local["Y"].notna() & ~is_instant
    if has.any():
        out[has] = _from_parts(local[has])
    return out, is_instant


def _parse_datetime(a: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Column A -> naive datetime64[ns] (NaT when empty/invalid), the invalid mask and the
    instant mask: text with a UTC offset is an instant (its value here is naive UTC), every
    other value a wall-clock time in the service's zone."""
    types = a.map(type)
    out = pd.Series(pd.NaT, index=a.index, dtype="datetime64[ns]")
    instant = np.zeros(len(a), dtype=bool)
    is_dt = types.isin([dt.datetime, pd.Timestamp]).to_numpy()
    if is_dt.any():
        # Date cells are floats of days in Excel: 00:15 may arrive as 00:14:59.999987.
        out[is_dt] = pd.to_datetime(a[is_dt], errors="coerce").dt.round("s")
    is_date = (types == dt.date).to_numpy()
    if is_date.any():
        out[is_date] = pd.to_datetime(a[is_date].map(lambda d: dt.datetime(d.year, d.month, d.day)))
    is_str = types.eq(str).to_numpy()
    if is_str.any():
        raw = a[is_str]
        text = raw.str.split().str.join(" ")
        text = text.where(text.str.fullmatch(_TEXT_DATE_SHAPE).fillna(False).astype(bool), "")
        parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
        for fmt in TEXT_DATE_FORMATS:
            todo = parsed.isna()
            if not todo.any():
                break
            parsed[todo] = pd.to_datetime(text[todo], format=fmt, errors="coerce")
        # strptime's %S accepts 60 (leap second) and rolls it over; a wall clock never shows it.
        seconds = pd.to_numeric(text.str.extract(r"[0-9]:[0-9]{2}:([0-9]{2})", expand=False), errors="coerce")
        parsed[seconds >= 60] = pd.NaT
        rest = parsed.isna()   # ISO 8601 only where the Argus form did not match (the rare case)
        if rest.any():
            iso, iso_instant = _parse_iso(raw[rest])
            parsed[rest] = iso
            str_instant = np.zeros(len(raw), dtype=bool)
            str_instant[rest.to_numpy()] = iso_instant.to_numpy()
            instant[is_str] = str_instant
        out[is_str] = parsed
    out[(out < MIN_TIME) | (out >= END_TIME)] = pd.NaT
    instant &= out.notna().to_numpy()
    invalid = out.isna().to_numpy() & ~_empty_mask(a)
    return out, invalid, instant


def _parse_number(s: pd.Series) -> tuple[pd.Series, np.ndarray, pd.Series]:
    """A count/duration column -> float64 (NaN when empty/unparseable), the unparseable mask and
    the exact-value keys of cells a float cannot judge (see ``_exact_number``; "" elsewhere)."""
    types = s.map(type)
    out = pd.Series(np.nan, index=s.index, dtype="float64")
    keys = pd.Series("", index=s.index, dtype=object)
    is_num = types.isin([float, int, np.float64, np.int64]).to_numpy()
    if is_num.any():
        nums = s[is_num].astype("float64")
        out[is_num] = nums
        # non-integers and integers beyond 2**53: judged on their exact decimal text, as JSON sends it
        odd = np.isfinite(nums) & ((nums != np.floor(nums)) | (nums.abs() > _EXACT_LIMIT))
        if odd.any():
            exact = s[is_num][odd].map(lambda v: _exact_number(repr(float(v)) if isinstance(v, float) else str(v)))
            out[odd[odd].index] = exact.str[0].astype("float64")
            keys[odd[odd].index] = exact.str[1]
    is_str = types.eq(str).to_numpy()
    if is_str.any():
        # Text holding a number; a decimal comma is a decimal point (12,5 is 12.5: not an integer).
        text = s[is_str].str.replace(",", ".", regex=False).str.replace(" ", "", regex=False)
        plain = text.str.fullmatch(_PLAIN_DIGITS).fillna(False).astype(bool)
        values = pd.Series(np.nan, index=text.index, dtype="float64")
        values[plain] = pd.to_numeric(text[plain])                     # the common case, exact
        if (~plain).any():                                             # rare: decimals, exponents
            exact = text[~plain].map(_exact_number)
            values[~plain] = exact.str[0].astype("float64")
            keys[exact.index] = exact.str[1]
        out[is_str] = values
    # "inf", "-inf", "Infinity" parse as floats but are not whole numbers.
    out[np.isinf(out.to_numpy())] = np.nan
    unparseable = out.isna().to_numpy() & ~_empty_mask(s)
    return out, unparseable, keys


def _exact_number(text: str) -> tuple[float, str]:
    """A number text judged as the SQL validator does (numeric, exact), as (value, key): NaN
    when it is not a decimal number; 0.5 for any non-integer (the value only has to fail the
    integer check); integers clamped to +-1e300 (only their sign and "beyond 2**31" matter). So
    neither float rounding (1e-400 -> 0.0, 2147483647.0000000001 -> 2147483647.0) nor overflow
    (1e400 -> inf) changes a verdict. The key (the exact value, normalised) tells such cells
    apart when duplicates are compared; it is "" when the float is exact."""
    if not re.fullmatch(_NUMBER_SHAPE, text):
        return np.nan, ""
    value = decimal.Decimal(text)
    if value != value.to_integral_value():
        return 0.5, str(value.normalize())
    if abs(value) <= _EXACT_LIMIT:
        return float(value), ""
    return float(max(min(value, _CLAMP), -_CLAMP)), str(value.normalize())


_EXACT_LIMIT = 2 ** 53
_CLAMP = decimal.Decimal("1e300")


def _raw_text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.strftime("%d.%m.%Y %H:%M:%S.%f").rstrip("0").rstrip(".") if value.microsecond \
            else value.strftime("%d.%m.%Y %H:%M:%S")
    return str(value)


# The {limit} of OUT_OF_RANGE per column (the SQL functions pass the same phrases).
_LIMITS = {"B": f"at most {MAX_COUNT:,}", "C": f"at most {MAX_COUNT:,}",
           "D": f"at most {MAX_DURATION_SECONDS:,} seconds", "E": f"at most {MAX_DURATION_SECONDS:,} seconds"}


def validate_argus(raw: RawArgusData | pd.DataFrame, time_zone: str) -> ValidationResult:
    """Validate raw Argus rows for a service in ``time_zone`` (IANA name); see the module docstring."""
    import time

    t0 = time.perf_counter()
    if isinstance(raw, RawArgusData):
        frame, file_name, header_rows, blank_rows = raw.frame, raw.file_name, raw.header_rows, raw.blank_rows
    else:
        frame, file_name, header_rows, blank_rows = raw, None, 0, 0
    frame = frame.reset_index(drop=True)
    n = len(frame)
    errs = _Collector()

    # 1. parse
    local_time, bad_dt, is_instant = _parse_datetime(frame["A"])
    errs.add(np.flatnonzero(_empty_mask(frame["A"])), "A", E.MISSING_VALUE)
    errs.add(np.flatnonzero(bad_dt), "A", E.INVALID_DATETIME)
    typed = pd.DataFrame({"row": frame["row"].astype("int64"), "local_time": local_time})
    unparseable: dict[str, np.ndarray] = {}
    exact_keys: dict[str, pd.Series] = {}
    for col in VALUE_COLUMNS:
        letter = COLUMN_LETTERS[col]
        typed[col], unparseable[col], exact_keys[col] = _parse_number(frame[letter])
        errs.add(np.flatnonzero(unparseable[col]), letter, E.NOT_INTEGER)
    c = typed["non_unique_incoming"]
    for col in ("unique_incoming", "non_unique_incoming"):
        errs.add(np.flatnonzero(_empty_mask(frame[COLUMN_LETTERS[col]])), COLUMN_LETTERS[col], E.MISSING_VALUE)
    for col in DURATION_COLUMNS:
        # Empty D/E is fine when C = 0; when C is itself invalid, C's error rejects the row.
        missing = _empty_mask(frame[COLUMN_LETTERS[col]]) & c.notna().to_numpy() & (c != 0).to_numpy()
        errs.add(np.flatnonzero(missing), COLUMN_LETTERS[col], E.MISSING_VALUE)
    t_parse = time.perf_counter()

    # 2. pandera: value rules, lazily (all failures at once)
    try:
        ArgusRowsModel.validate(typed, lazy=True)
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        fc = fc[fc["index"].notna()]
        for (column, check), group in fc.groupby(["column", "check"], dropna=False, sort=False):
            code = str(check)
            letter = "B" if code == E.UNIQUE_EXCEEDS_NON_UNIQUE else COLUMN_LETTERS.get(str(column))
            if code not in E.ROW_CODES:
                raise RuntimeError(f"unexpected schema failure {column}/{check}: {group.head()}") from exc
            errs.add(group["index"].astype("int64").unique(), letter, code)
    t_schema = time.perf_counter()

    # 3. local -> UTC (DST gap rejected; fall-back ambiguity resolved in file order)
    # instants take no part in the DST ordering; .copy(): _to_utc's result comes from a .dt accessor
    utc = _to_utc(local_time.where(~is_instant), time_zone).copy()
    if is_instant.any():
        utc[is_instant] = local_time[is_instant].dt.tz_localize("UTC")
    gap = local_time.notna().to_numpy() & utc.isna().to_numpy()
    errs.add(np.flatnonzero(gap), "A", E.INVALID_LOCAL_TIME)
    # A wall-clock time on a 15-minute boundary whose instant is not (a zone's local mean time
    # before standard time, e.g. Europe/Berlin before 1893 at UTC+00:53:28) cannot be stored:
    # MISALIGNED_INTERVAL, as the SQL functions say (the table's CHECK would fail the whole load).
    errs.add(np.flatnonzero(_misaligned_in_utc(utc)), "A", E.MISALIGNED_INTERVAL)

    # 4. duplicates among rows with a valid instant
    dup_row_pos, dup_interval_pos, first_of = _duplicates(utc, typed, frame, unparseable, exact_keys)
    errs.add(dup_row_pos, None, E.DUPLICATE_ROW)
    errs.add(dup_interval_pos, None, E.DUPLICATE_INTERVAL)
    t_dst = time.perf_counter()

    # Assemble: one error per cell (highest priority code), plus row-level ones.
    ef = errs.frame()
    ef["prio"] = ef["code"].map(_CELL_PRIORITY).fillna(9)
    cell = ef["column"].notna() & (ef["code"] != E.UNIQUE_EXCEEDS_NON_UNIQUE)
    cell_errors = ef[cell].sort_values(["pos", "column", "prio"]).drop_duplicates(["pos", "column"])
    # C >= B only speaks when B and C are themselves valid (C = -1 < B is reported as negative).
    bc_bad = cell_errors.loc[cell_errors["column"].isin(["B", "C"]), "pos"].unique()
    ef = ef[~((ef["code"] == E.UNIQUE_EXCEEDS_NON_UNIQUE) & ef["pos"].isin(bc_bad))]
    cell = ef["column"].notna() & (ef["code"] != E.UNIQUE_EXCEEDS_NON_UNIQUE)
    ef = (pd.concat([cell_errors, ef[~cell]], ignore_index=True)
          .drop_duplicates(["pos", "column", "code"])
          .sort_values(["pos", "column", "prio"], na_position="last", kind="stable"))
    bad_pos = ef["pos"].to_numpy()
    skipped_only = ef.groupby("pos")["code"].agg(lambda s: set(s) == {E.DUPLICATE_ROW})
    skipped_pos = skipped_only[skipped_only].index.to_numpy()
    rejected_pos = skipped_only[~skipped_only].index.to_numpy()

    errors = _materialize(ef, frame, typed, utc, time_zone, first_of)

    ok = np.ones(n, dtype=bool)
    ok[bad_pos] = False
    valid = pd.DataFrame({
        "interval_start_time": utc[ok].reset_index(drop=True),
        "unique_incoming": typed["unique_incoming"][ok].astype("int64").reset_index(drop=True),
        "non_unique_incoming": typed["non_unique_incoming"][ok].astype("int64").reset_index(drop=True),
        "avg_talk_time": typed["avg_talk_time"][ok].astype("Int64").reset_index(drop=True),
        "avg_post_processing_time": typed["avg_post_processing_time"][ok].astype("Int64").reset_index(drop=True),
        "source_row_number": typed["row"][ok].reset_index(drop=True),
    })
    t_end = time.perf_counter()
    return ValidationResult(
        valid=valid, errors=errors, skipped=len(skipped_pos), rows_total=n, rejected=len(rejected_pos),
        time_zone=time_zone, file_name=file_name, header_rows=header_rows, blank_rows=blank_rows,
        timings={"parse": t_parse - t0, "schema": t_schema - t_parse, "time_zone_duplicates": t_dst - t_schema,
                 "assemble": t_end - t_dst, "total": t_end - t0})


def _to_utc(local: pd.Series, time_zone: str) -> pd.Series:
    """Local wall-clock -> UTC; NaT for non-existent times; ambiguous: first earlier, then later."""
    n = len(local)
    if n == 0:
        return pd.Series([], dtype="datetime64[ns, UTC]")
    dst_first = local.dt.tz_localize(time_zone, ambiguous=np.ones(n, dtype=bool), nonexistent="NaT")
    dst_later = local.dt.tz_localize(time_zone, ambiguous=np.zeros(n, dtype=bool), nonexistent="NaT")
    ambiguous = (dst_first != dst_later) & dst_first.notna() & dst_later.notna()
    result = dst_first
    if ambiguous.any():
        occurrence = local[ambiguous].groupby(local[ambiguous]).cumcount()
        later = occurrence[occurrence > 0].index
        result = dst_first.copy()
        result[later] = dst_later[later]
    return result.dt.tz_convert("UTC")


def _misaligned_in_utc(utc: pd.Series) -> np.ndarray:
    """Instants not on a 15-minute UTC boundary (the table's CHECK), as a mask."""
    if len(utc) == 0:
        return np.zeros(0, dtype=bool)
    ns = utc.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[ns]").astype(np.int64)
    return utc.notna().to_numpy() & (ns % (900 * 10**9) != 0)


def _duplicates(utc: pd.Series, typed: pd.DataFrame, frame: pd.DataFrame, unparseable: dict[str, np.ndarray],
                exact_keys: dict[str, pd.Series]) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """Positions of DUPLICATE_ROW and DUPLICATE_INTERVAL rows, and each row's group's first row."""
    has_instant = utc.notna()
    dup = utc.duplicated(keep=False) & has_instant
    empty = np.array([], dtype=np.int64)
    if not dup.any():
        return empty, empty, pd.Series(dtype="int64")
    sub = typed.loc[dup, list(VALUE_COLUMNS)].copy()
    # Identical means identical cells: parsed numbers (exactly, as SQL numerics compare), or the
    # raw text where it did not parse.
    for col in VALUE_COLUMNS:
        letter = COLUMN_LETTERS[col]
        text = frame.loc[dup, letter].where(unparseable[col][dup.to_numpy()], "")
        sub[col + "_text"] = text.astype(str)
        sub[col + "_exact"] = exact_keys[col][dup].astype(str)
        sub[col + "_blank"] = sub[col].isna()  # so a blank cell never equals a -1 after fillna
    sub = sub.fillna(-1.0)
    fingerprint = pd.util.hash_pandas_object(sub, index=False)
    key = utc[dup]
    distinct = fingerprint.groupby(key).transform("nunique")
    conflicting = distinct > 1
    first_row = typed.loc[dup, "row"].groupby(key).transform("first")
    later_copy = key.groupby(key).cumcount() > 0
    dup_rows = np.flatnonzero(dup.to_numpy())
    row_positions = dup_rows[(~conflicting & later_copy).to_numpy()]
    interval_positions = dup_rows[conflicting.to_numpy()]
    return row_positions, interval_positions, first_row


def _materialize(ef: pd.DataFrame, frame: pd.DataFrame, typed: pd.DataFrame, utc: pd.Series,
                 time_zone: str, first_of: pd.Series) -> list[RowError]:
    """RowError objects (a Python loop over the errors only, never over all rows)."""
    if ef.empty:
        return []
    rows = frame["row"].to_numpy()
    # Rows of each duplicated interval, for DUPLICATE_INTERVAL messages.
    group_rows: dict = {}
    if (ef["code"] == E.DUPLICATE_INTERVAL).any():
        dup_pos = ef.loc[ef["code"] == E.DUPLICATE_INTERVAL, "pos"].to_numpy()
        keys = utc.iloc[dup_pos]
        for ts, pos in zip(keys, dup_pos):
            group_rows.setdefault(ts, []).append(int(rows[pos]))
    out: list[RowError] = []
    for pos, letter, code in zip(ef["pos"].to_numpy(), ef["column"].to_numpy(), ef["code"].to_numpy()):
        pos = int(pos)
        letter = letter if isinstance(letter, str) else None
        value = _raw_text(frame.at[pos, letter]) if letter else None
        # The parameters of each code's template, as the SQL functions pass them.
        params: dict[str, object] = {}
        if code in (E.MISALIGNED_INTERVAL, E.INVALID_LOCAL_TIME):
            params["time_zone"] = time_zone
        elif code == E.OUT_OF_RANGE:
            params["limit"] = _LIMITS[letter]
        elif code == E.UNIQUE_EXCEEDS_NON_UNIQUE:
            params.update(other_column="C", other_count=_raw_text(frame.at[pos, "C"]))
        elif code in (E.DUPLICATE_ROW, E.DUPLICATE_INTERVAL):
            value = _raw_text(frame.at[pos, "A"])
            params.update(first_row=int(first_of.loc[pos]),
                          rows=", ".join(str(r) for r in group_rows.get(utc.iloc[pos], [])))
        out.append(RowError.of(int(rows[pos]), letter, code, value, **params))
    return out
