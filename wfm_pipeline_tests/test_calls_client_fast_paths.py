"""The call-record client's session-6 fast paths give exactly what the exact paths give.

* the reader's plain-text split (``reader._split_plain``) gives pandas' C parser's cells, and
  leaves every text it could read differently (quotes, CR, blank or ragged lines) to pandas;
* the validator's digit arithmetic for ``YYYY-MM-DDTHH:MM:SS`` and ``DD.MM.YYYY HH:MM:SS``
  (``validate._strict_times``) agrees with the Argus parser cell by cell, on the cells that could
  tell them apart (impossible dates, leap days, hour 24, second 60, the year bounds, non-ASCII
  digits, the other ISO forms);
* whole files validated with the fast paths and with the exact parser alone (and without the
  reader's empty-cell marks) give the same accepted calls and the same errors (row, column,
  code, value, message), DST gap and overlap, empty cells, both time formats and bad values
  included; one tz localization per column gives both readings of repeated times;
* the COPY stream patched in place equals the one built with the batch id (and the agent-state
  loader's ``encode_locating`` + ``patch``), and the months per call equal the pandas ones.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import uuid

import numpy as np
import pandas as pd
import pytest

from wfm_pipeline.argus.errors import ArgusFileError
from wfm_pipeline.argus.validate import _parse_datetime
from wfm_pipeline.calls import reader, validate
from wfm_pipeline.calls.reader import parse_call_file
from wfm_pipeline.calls.validate import _parse_datetime_fast, _strict_times, validate_calls

ZONE = "Europe/Berlin"


def _pandas_cells(text: str, delimiter: str) -> list[list[str]]:
    frame = pd.read_csv(io.StringIO(text), sep=delimiter, header=None, dtype=str, keep_default_na=False,
                        na_filter=False, skip_blank_lines=False, engine="c", quoting=csv.QUOTE_MINIMAL)
    return frame.to_numpy().tolist()


@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
@pytest.mark.parametrize("text", [
    "a;b;c\n1;2;3\n",
    "a;b;c\n1;2;3",                       # no final line feed
    "a;b;c\n;;\n x ; y\u00a0;\u2003z\n",  # empty cells, white space (also non-ASCII) kept for the strip
    "call_id;agent\nÄ-1;Агент\n",          # non-ASCII text
    "one\ntwo\n\u00a0\n",                  # a single column
    "a;b\n1;2\n3;4\n5;6\n",
    "a;b\n1 2;3\n;4\n",                   # white space inside a cell
])
def test_plain_split_gives_pandas_cells(text: str, delimiter: str) -> None:
    text = text.replace(";", delimiter) if delimiter != ";" else text
    plain = reader._split_plain(text, delimiter)
    assert plain is not None
    assert [list(row) for row in zip(*plain.columns)] == _pandas_cells(text, delimiter)
    assert all(type(v) is str for column in plain.columns for v in column)
    for column, empty in zip(plain.columns, plain.empty):
        # a column's empty mask is known only when no cell needs stripping, and then it is right
        if any(v != v.strip() for v in column):
            assert empty is None
        if empty is not None:
            assert empty.tolist() == [v == "" for v in column]


@pytest.mark.parametrize("text", [
    'a;b\n"1;2";3\n',     # quotes: pandas unquotes
    "a;b\r\n1;2\r\n",     # CR line ends
    "a;b\n\n1;2\n",       # a blank line: pandas keeps a row of empty cells
    "a;b\n1;2\n\n",       # a trailing blank line
    "a;b\n1\n",           # a short line: pandas pads it
    "a;b\n1;2;3\n",       # a long line: pandas refuses, the csv module takes it
    "a;b\n1;\x002\n",     # NUL
    "",
    "\n",
])
def test_plain_split_leaves_other_text_to_pandas(text: str) -> None:
    assert reader._split_plain(text, ";") is None


def _both_reads(text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    data = text.encode("utf-8")
    fast = parse_call_file(data, "calls.csv")
    with monkeypatch.context() as m:
        m.setattr(reader, "_split_plain", lambda text, delimiter: None)
        exact = parse_call_file(data, "calls.csv")
    return fast, exact


def test_parse_call_file_same_raw_calls_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    text = ("Call_ID; offered_at ;answered_at;ended_at;OUTCOME;agent;customer_id;wrap_up_seconds;group;extra\n"
            "c1;2025-03-30T01:59:59;2025-03-30T03:00:01;2025-03-30T03:05:00;answered;A1;0;5;G1;x\n"
            " c2 ;30.03.2025 02:30:00;;;abandoned; ;;; ;y\n"
            ";;;;;;;;;\n"
            "c3;2025-10-26T02:30:00;2025-10-26T02:31:00;2025-10-26T02:32:00;Answered;Агент;cust;12;G2;z\n")
    fast, exact = _both_reads(text, monkeypatch)
    assert fast.frame.equals(exact.frame)
    assert (fast.header_row, fast.blank_rows, fast.ignored_columns) == (exact.header_row, exact.blank_rows,
                                                                       exact.ignored_columns)
    assert fast.blank_rows == 1 and fast.frame["row"].tolist() == [2, 3, 5]
    assert fast.frame["call_id"].tolist() == ["c1", "c2", "c3"]
    assert fast.frame["agent"].tolist() == ["A1", None, "Агент"]


def test_parse_call_file_file_errors_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    for text in ("call_id;offered_at\nc1;2025-01-01T00:00:00\n",          # missing columns
                 "call_id;offered_at;answered_at;ended_at;outcome;agent;agent\n1;2;3;4;5;6;7\n",  # duplicate
                 "call_id;offered_at;answered_at;ended_at;outcome;agent\n;;;;;\n"):  # no data rows
        outcomes = []
        for split in (True, False):
            with monkeypatch.context() as m:
                if not split:
                    m.setattr(reader, "_split_plain", lambda text, delimiter: None)
                with pytest.raises(ArgusFileError) as caught:
                    parse_call_file(text.encode(), "calls.csv")
                outcomes.append(caught.value.error)
        assert outcomes[0] == outcomes[1]


# ---------------------------------------------------------------- times
def _cells() -> list[object]:
    good = ["2024-02-29T23:59:59", "29.02.2024 23:59:59", "2025-01-01T00:00:00", "01.01.2025 00:00:00",
            "1678-01-01T00:00:00", "01.01.1678 00:00:00", "2261-12-31T23:59:59", "31.12.2261 23:59:59",
            "2000-02-29T12:00:00", "2025-03-30T02:30:00", "30.03.2025 02:30:00", "2025-10-26T02:30:00",
            "26.10.2025 02:30:00", "2025-12-31T23:59:59"]
    bad = ["2025-02-29T00:00:00", "29.02.2025 00:00:00", "1900-02-29T00:00:00", "2025-04-31T10:00:00",
           "31.04.2025 10:00:00", "2025-13-01T00:00:00", "01.13.2025 00:00:00", "2025-00-10T00:00:00",
           "00.01.2025 00:00:00", "2025-01-00T00:00:00", "2025-01-01T24:00:00", "01.01.2025 24:00:00",
           "2025-01-01T23:60:00", "2025-01-01T23:59:60", "01.01.2025 23:59:60", "1677-12-31T23:59:59",
           "31.12.1677 23:59:59", "2262-01-01T00:00:00", "01.01.2262 00:00:00", "9999-12-31T23:59:59",
           "0000-01-01T00:00:00", "2025-01-01 10:00:00", "2025-01-01t10:00:00", "2025-01-01T10:00:0x",
           "2025/01/01T10:00:00", "01-01-2025 10:00:00", "1.01.2025 10:00:00 ", "+025-01-01T10:00:00",
           "-025-01-01T10:00:00", "2025-1-01T10:00:00X", "01.01.2025T10:00:00", "2025-01-01T10:00:00Z",
           "2025-01-01T10:00:00+01:00", "2025-01-01T10:00", "01.01.2025 10:00", "1.1.2025 10:00:00",
           "2025-01-01T10:00:00.5", "garbage", "2025-01-01T1０:00:00", "０1.01.2025 10:00:00", None]
    return good + bad


def _exact(column: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    return _parse_datetime(column)


def test_strict_times_agree_with_the_argus_parser_cell_by_cell() -> None:
    cells = _cells()
    column = pd.Series(cells, dtype=object)
    fast = _parse_datetime_fast(column)
    exact = _exact(column)
    assert fast[0].tolist() == exact[0].tolist()
    assert fast[1].tolist() == exact[1].tolist()
    assert fast[2].tolist() == exact[2].tolist()
    # and the arithmetic took the cells it should (its own answer, not the exact parser's)
    nineteen = np.array([c for c in cells if isinstance(c, str) and len(c) == 19 and c.isascii()], dtype=object)
    naive, taken = _strict_times(nineteen)
    expected = _exact(pd.Series(nineteen, dtype=object))
    taken_cells = set(nineteen[taken])
    assert "2024-02-29T23:59:59" in taken_cells and "29.02.2024 23:59:59" in taken_cells
    assert not taken_cells & {"2025-02-29T00:00:00", "2025-01-01T24:00:00", "2262-01-01T00:00:00",
                              "2025-01-01 10:00:00", "01.01.2025 23:59:60"}
    assert naive[taken].tolist() == expected[0].to_numpy()[taken].tolist()


def test_strict_times_random_cells_match() -> None:
    rng = np.random.default_rng(6)
    n = 20_000
    seconds = rng.integers(-9_000_000_000, 9_000_000_000, n)   # 1684..2255
    stamps = pd.to_datetime(seconds, unit="s")
    iso = stamps.strftime("%Y-%m-%dT%H:%M:%S").to_numpy(dtype=object)
    dmy = stamps.strftime("%d.%m.%Y %H:%M:%S").to_numpy(dtype=object)
    cells = np.where(rng.random(n) < 0.5, iso, dmy).astype(object)
    # digits replaced at random positions by other digits: many impossible dates and times
    noisy = cells.copy()
    hit = rng.random(n) < 0.5
    for i in np.flatnonzero(hit):
        text = list(noisy[i])
        position = int(rng.integers(0, 19))
        if text[position].isdigit():
            text[position] = str(int(rng.integers(0, 10)))
            noisy[i] = "".join(text)
    column = pd.Series(np.concatenate([cells, noisy]), dtype=object)
    fast = _parse_datetime_fast(column)
    exact = _exact(column)
    assert (fast[0].isna() == exact[0].isna()).all()
    assert fast[0].equals(exact[0])
    assert (fast[1] == exact[1]).all() and (fast[2] == exact[2]).all()
    assert exact[1].sum() > 100   # the noise made invalid cells for both


def test_strict_times_non_ascii_goes_the_general_way() -> None:
    assert _strict_times(np.array(["2025-01-01T1０:00:00"], dtype=object)) is None


# ---------------------------------------------------------------- whole files
def _file_text(rows: list[str]) -> bytes:
    header = "call_id;offered_at;answered_at;ended_at;outcome;agent;customer_id;wrap_up_seconds;group"
    return ("\n".join([header, *rows]) + "\n").encode()


ROWS = [
    "c1;2025-03-30T01:59:00;2025-03-30T01:59:30;2025-03-30T03:01:00;answered;A1;cust1;10;G1",
    "c2;30.03.2025 02:30:00;;30.03.2025 03:10:00;abandoned;;;;",             # DST gap (offered)
    "c3;2025-03-30T01:50:00;2025-03-30T02:15:00;2025-03-30T03:20:00;answered;A2;0;;G2",  # gap (answered)
    "c4;2025-10-26T02:30:00;2025-10-26T02:10:00;2025-10-26T02:20:00;answered;A1;cust2;5;",  # overlap: later
    "c5;26.10.2025 02:40:00;26.10.2025 02:45:00;26.10.2025 02:35:00;answered;A1;cust2;5;G1",  # overlap
    "c6;2025-02-29T10:00:00;;2025-03-01T10:00:00;abandoned;;;;",              # no such day
    "c7;2025-01-01T24:00:00;;;other;;;;",                                    # hour 24
    "c8;01.01.2025 10:00:60;;;other;;;;",                                    # second 60
    "c9;;;;answered;;;;",                                                    # empties
    "c10;2025-01-01T10:00:00Z;2025-01-01T11:00:05+01:00;2025-01-01T10:01:00;answered;A3;;;",  # instants
    "c11;2025-01-01 10:00:00;2025-01-01 10:00:10;2025-01-01 10:05:00;answered;A3;;;",  # ISO with a space
    "c12;1.1.2025 10:00;1.1.2025 10:00:20;1.1.2025 10:03;ANSWERED;A3;;;",     # short Argus forms
    "c13;2025-01-01T10:00:00;2025-01-01T09:59:00;2025-01-03T10:00:00;answered;A3;;;",  # before / too long
    "c14;2025-01-01T10:00:00;;2024-12-31T10:00:00;abandoned;;;;",
    "c15;2262-01-01T00:00:00;;;other;;;;",                                   # out of range
    "c16;2025-01-01T10:00:00;2025-01-01T10:00:00;2025-01-01T10:00:00;busy;;;;",
    "c1;2025-03-30T01:59:00;2025-03-30T01:59:30;2025-03-30T03:01:00;answered;A1;cust1;10;G1",  # copy
    "c17;2025-06-01T10:00:00;2025-06-01T10:00:01;2025-06-01T10:00:02;answered;A4;;x;G9",
]


@pytest.mark.parametrize("rows", [ROWS, ROWS * 3 + [r.replace("c", "d", 1) for r in ROWS]])
def test_validate_same_verdicts_with_and_without_fast_paths(rows: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    data = _file_text(rows)
    groups = {"G1": 1, "G2": 2}
    fast = validate_calls(parse_call_file(data, "calls.csv"), ZONE, groups, service="S")
    with monkeypatch.context() as m:
        m.setattr(reader, "_split_plain", lambda text, delimiter: None)
        m.setattr(validate, "_parse_datetime_fast", lambda column, blank=None: _parse_datetime(column))
        # and without the reader's empty-cell marks (the validator looks for itself)
        exact = validate_calls(dataclasses.replace(parse_call_file(data, "calls.csv"), empty=None), ZONE, groups,
                               service="S")
    assert fast.errors == exact.errors
    assert (fast.skipped, fast.rejected, fast.rows_total) == (exact.skipped, exact.rejected, exact.rows_total)
    pd.testing.assert_frame_equal(fast.valid, exact.valid)
    codes = {(e.row, e.column, e.code, e.value) for e in fast.errors}
    assert (3, "offered_at", "INVALID_LOCAL_TIME", "30.03.2025 02:30:00") in codes
    assert (4, "answered_at", "INVALID_LOCAL_TIME", "2025-03-30T02:15:00") in codes
    assert (7, "offered_at", "INVALID_DATETIME", "2025-02-29T10:00:00") in codes
    assert (8, "offered_at", "INVALID_DATETIME", "2025-01-01T24:00:00") in codes
    assert (9, "offered_at", "INVALID_DATETIME", "01.01.2025 10:00:60") in codes
    assert (16, "offered_at", "INVALID_DATETIME", "2262-01-01T00:00:00") in codes
    accepted = set(fast.valid["call_id"])
    assert {"c1", "c4", "c5", "c11", "c12"} <= accepted and "c10" not in accepted   # c10 ends before its answer


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Pacific/Chatham", "UTC"])
def test_one_localization_gives_both_readings(zone: str) -> None:
    """``validate._localize`` (one localization, the unsure few again) = localizing every cell
    both ways, around every clock change of 2025 (gaps, repeated times, 30-minute shifts)."""
    start = pd.Timestamp("2025-01-01")
    minutes = pd.Series(start + pd.to_timedelta(np.arange(0, 366 * 24 * 60, 7), unit="min"))
    local = pd.concat([minutes, pd.Series([pd.NaT, pd.Timestamp("2025-03-30 02:30"), pd.Timestamp("2025-10-26 02:30"),
                                           pd.Timestamp("2025-11-02 01:30"), pd.Timestamp("2025-04-06 01:45")])],
                      ignore_index=True)
    n = len(local)
    early = local.dt.tz_localize(zone, ambiguous=np.ones(n, dtype=bool), nonexistent="NaT").dt.tz_convert("UTC")
    late = local.dt.tz_localize(zone, ambiguous=np.zeros(n, dtype=bool), nonexistent="NaT").dt.tz_convert("UTC")
    got_early, got_late = validate._localize(local, zone)
    pd.testing.assert_series_equal(got_early, early)
    pd.testing.assert_series_equal(got_late, late)
    if zone != "UTC":
        assert ((early != late) & early.notna()).sum() > 0 and early.isna().sum() > 1   # repeated and missing times


# ---------------------------------------------------------------- the COPY stream, prepared ahead
def _columns(rng: np.random.Generator, n: int) -> list:
    from wfm_pipeline.calls import binary_copy as bc
    when = pd.Series(pd.to_datetime(rng.integers(-2_000_000_000, 2_000_000_000, n), unit="s", utc=True))
    when[rng.random(n) < 0.2] = pd.NaT
    words = np.array(["", "a", "Агент", "x;y\n\"z\"", "long" * 20, None], dtype=object)
    return [bc.timestamptz(when), bc.int4(rng.integers(-2**31, 2**31, n), rng.random(n) < 0.3),
            bc.text(words[rng.integers(0, len(words), n)]), bc.uuid_const(uuid.UUID(int=0), n),
            bc.int4(np.arange(n))]


@pytest.mark.parametrize("n", [0, 1, 7, 5_000])
def test_buffer_patched_in_place_is_the_patched_stream(n: int) -> None:
    """``encode_buffer`` + ``patch_in_place`` (the call loader's) = ``encode_locating`` +
    ``patch`` (the agent-state loader's), byte for byte, and ``encode`` with the id itself."""
    from wfm_pipeline.calls import binary_copy as bc
    rng = np.random.default_rng(n)
    columns = _columns(rng, n)
    data, at = bc.encode_locating(columns, n, locate=3)
    buf, at_buf = bc.encode_buffer(columns, n, locate=3)
    assert buf.tobytes() == data and ((at is None and at_buf is None) or np.array_equal(at, at_buf))
    if n == 0:   # nothing to locate (the loaders then patch nothing)
        assert at is None and data == bc.encode(columns, 0)
        return
    batch = uuid.uuid4()
    bc.patch_in_place(buf, at_buf, batch.bytes)
    patched = bc.patch(data, at, batch.bytes)
    columns[3] = bc.uuid_const(batch, n)
    assert buf.tobytes() == patched == bc.encode(columns, n)
    bc.patch_in_place(buf, at_buf, batch.bytes)   # a retried load patches again: same stream
    assert buf.tobytes() == patched


def test_prepared_calls_stream_and_months_match_the_direct_ones() -> None:
    """The call loader's prepared stream (patched in place, sent as a memoryview) equals the
    stream built with the batch id, and the months each call needs (numpy) equal the pandas
    computation they replace, over month ends, talk past midnight and calls without agent."""
    from wfm_pipeline.argus.loader import Target
    from wfm_pipeline.calls import loader
    rows = []
    for i in range(400):
        day, next_day = ("2025-01-31", "2025-02-01") if i % 2 else ("2025-06-30", "2025-07-01")
        minute = f"{i % 60:02d}"
        if i % 3 == 0:     # abandoned: no answer, no agent
            rows.append(f"c{i};{day}T23:{minute}:00;;{day}T23:{minute}:40;abandoned;;;;G1")
        else:              # answered, talk past midnight (and the month end), with or without an agent
            agent = "A1" if i % 5 else ""
            rows.append(f"c{i};{day}T23:{minute}:00;{day}T23:{minute}:30;{next_day}T02:{minute}:00;answered;"
                        f"{agent};;{i % 100};G1")
    validation = validate_calls(parse_call_file(_file_text(rows), "c.csv"), ZONE, {"G1": 1}, service="S")
    valid = validation.valid
    assert len(valid) == 400
    target = Target(7, "S", ZONE)
    prepared = loader.prepare_load(validation, target)
    batch = uuid.uuid4()
    assert bytes(prepared.copy_data(valid, target, batch)) == loader.call_copy_data(valid, target, batch)
    other = uuid.uuid4()
    assert bytes(prepared.copy_data(valid, target, other)) == loader.call_copy_data(valid, target, other)
    # the months: the pandas computation of session 5
    offered = valid["offered_at"].dt.tz_convert("UTC")
    first = offered.dt.year * 100 + offered.dt.month
    act_end = valid["ended_at"] + pd.to_timedelta(valid["wrap_up_seconds"].fillna(0).astype("int64"), unit="s")
    has_agent = (valid["outcome"] == "answered") & valid["agent_code"].notna()
    end = act_end.where(has_agent, valid["offered_at"]).dt.tz_convert("UTC")
    last = end.dt.year * 100 + end.dt.month
    expected = pd.DataFrame({"first": first.astype("int64"), "last": np.maximum(first, last).astype("int64")})
    pd.testing.assert_frame_equal(loader._row_months(valid), expected)
    assert set(expected["first"]) == {202501, 202506} and set(expected["last"]) == {202501, 202502, 202506, 202507}
