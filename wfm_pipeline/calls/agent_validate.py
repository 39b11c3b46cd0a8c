"""Validating agent state events of a file: every rule, every error, column-at-a-time.

``validate_events(raw, target, groups, stored) -> EventValidation``. The rules are those of the
JSON path (``wfm.stage_agent_events``, sql/functions/agents/), which a conformance test holds to
the same verdicts and messages:

=================  ===========================================================================
agent              MISSING_VALUE, OUT_OF_RANGE (longer than 100 characters)
state              MISSING_VALUE, INVALID_STATE (logged_in, ready, not_ready, talking,
                   post_processing, logged_out; any case)
at                 MISSING_VALUE, INVALID_DATETIME, INVALID_LOCAL_TIME (daylight-saving gap)
reason             OUT_OF_RANGE (longer than 100 characters)
group              UNKNOWN_GROUP (not a group code of the service)
=================  ===========================================================================

and per agent, among rows whose agent and time are valid: ``EVENT_OUT_OF_ORDER`` (earlier than
an earlier row of the agent), ``DUPLICATE_ROW`` (the same state at the same time again with the
same reason and group: skipped) and ``DUPLICATE_EVENT`` (the same state at the same time with
another reason or group: every copy rejected); several states of an agent in one second keep the
file's order (the n-th is placed n-1 microseconds later). Then the session rules on the agent's
timeline - the rows without any error above merged with ``stored``, the agent's current events
in the database around the file (an input row replaces a stored event at the same time):
``NOT_LOGGED_IN`` (a state other than logged_in while logged out) and ``OVERLAPPING_SESSION``
(logged_in while logged in), "logged in" decided by the latest earlier logged_in / logged_out of
the file, or stored event (any stored state but logged_out means logged in).

Times are the call records' (``calls.validate._parse_time``: date cells, ``DD.MM.YYYY
HH:MM[:SS]``, ISO 8601 wall-clock or with an offset), fractions of a second dropped; an
ambiguous wall-clock time is the earlier instant unless that is before an earlier row of the same
agent, then the later one.
"""

from __future__ import annotations

import time
from typing import Any
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import psycopg

from wfm_pipeline.argus import errors as E
from wfm_pipeline.argus.errors import RowError
from wfm_pipeline.argus.loader import Target
from wfm_pipeline.calls.agent_reader import FIELDS, STATES, RawEvents
from wfm_pipeline.calls.agent_times import parse_times
from wfm_pipeline.calls.validate import _text, _Time

MAX_TEXT = 100
_ROW_BITS = 2 ** 24      # row numbers below 16.7 million: (second, row) packed in one int64


@dataclass
class EventValidation:
    """The verdicts on one file's events.

    ``valid``: one row per accepted event (columns ``at`` (UTC), ``ended_at`` (the agent's next
    event in the file, NaT for its last), ``service_id``, ``agent_code``, ``state``, ``reason``,
    ``group_id``, ``source_row_number``); ``errors``: every problem by row; ``skipped``: exact
    copies (DUPLICATE_ROW only).
    """

    valid: pd.DataFrame
    errors: list[RowError]
    skipped: int
    rejected: int
    rows_total: int
    timings: dict[str, float] = field(default_factory=dict)
    copy_stream: Any = None   # ``valid`` as the loader's COPY stream (agent_loader.CopyStream), when it built one

    @property
    def first_interval(self) -> pd.Timestamp | None:
        return self.valid["at"].min().floor("15min") if len(self.valid) else None

    @property
    def last_interval(self) -> pd.Timestamp | None:
        return self.valid["at"].max().floor("15min") if len(self.valid) else None

    @property
    def months(self) -> list[str]:
        """UTC months (YYYY-MM) of the accepted events."""
        if not len(self.valid):
            return []
        # vectorized: a Python loop over the Timestamps cost ~5 ms a daily file
        keys = np.unique(self.valid["at"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[M]"))
        return [str(k) for k in keys]


def stored_events(conn: psycopg.Connection, service_id: int, agents: list[str], first: pd.Timestamp,
                  last: pd.Timestamp) -> pd.DataFrame:
    """The agents' current stored events in [first, last] and the last one before ``first``:
    columns agent, at (UTC), state."""
    rows = conn.execute(
        """SELECT a.agent, t.started_at, t.state
           FROM unnest(%s::text[]) AS a(agent)
           JOIN wfm.agent_state_transitions t
             ON t.service_id = %s AND t.agent_code = a.agent AND t.started_at BETWEEN %s AND %s
           WHERE t.is_current
           UNION ALL
           SELECT a.agent, b.started_at, b.state
           FROM unnest(%s::text[]) AS a(agent)
           CROSS JOIN LATERAL (
               SELECT t.started_at, t.state FROM wfm.agent_state_transitions t
               WHERE t.service_id = %s AND t.agent_code = a.agent AND t.started_at < %s AND t.is_current
               ORDER BY t.started_at DESC LIMIT 1) b""",
        (agents, service_id, first.to_pydatetime(), last.to_pydatetime(), agents, service_id,
         first.to_pydatetime())).fetchall()
    frame = pd.DataFrame(rows, columns=["agent", "at", "state"])
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame


class _Errors:
    """(position, column, code) triples with extra message parameters, collected as arrays."""

    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []

    def add(self, mask: np.ndarray, column: str | None, code: str, **params: object) -> None:
        positions = np.flatnonzero(mask)
        if positions.size:
            part = pd.DataFrame({"pos": positions, "column": column, "code": code})
            for key, values in params.items():
                part[key] = np.asarray(values, dtype=object)[positions] if isinstance(values, np.ndarray) else values
            self.parts.append(part)

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame({"pos": pd.Series([], dtype="int64"), "column": pd.Series([], dtype=object),
                                 "code": pd.Series([], dtype=object)})
        return pd.concat(self.parts, ignore_index=True)


def _running_max_before(values: np.ndarray, keys: pd.Series, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per key, the maximum of the int64 ``values`` over EARLIER positions where ``mask`` holds:
    (whether there is one, the maximum or 0)."""
    v = pd.Series(pd.array(values, dtype="Int64"))[mask]
    k = keys[mask]
    before = v.groupby(k).cummax().groupby(k).shift(1)
    has = np.zeros(len(values), dtype=bool)
    out = np.zeros(len(values), dtype="int64")
    has[before.index.to_numpy()] = before.notna().to_numpy()
    out[before.index.to_numpy()] = before.fillna(0).to_numpy("int64")
    return has, out


def validate_events(raw: RawEvents | pd.DataFrame, target: Target, groups: dict[str, int] | None = None,
                    stored: pd.DataFrame | None = None, parsed: _Time | None = None) -> EventValidation:
    """Validate the rows of an agent state file of ``target`` (see the module docstring).
    ``parsed``: the ``at`` column already parsed (``calls.validate._parse_time`` in the
    service's time zone), when the caller needed it before (the stored events' span)."""
    t0 = time.perf_counter()
    frame = (raw.frame if isinstance(raw, RawEvents) else raw).reset_index(drop=True)
    n = len(frame)
    groups = groups or {}
    cells = {f: (frame[f] if f in frame else pd.Series([None] * n, dtype=object)) for f in FIELDS}
    text = {f: _text(cells[f]) for f in ("agent", "state", "reason", "group")}
    rows = frame["row"].to_numpy("int64")
    errs = _Errors()

    agent = text["agent"]
    agent_blank = agent.isna().to_numpy()
    agent_long = (agent.str.len() > MAX_TEXT).fillna(False).to_numpy(dtype=bool)
    errs.add(agent_blank, "agent", E.MISSING_VALUE)
    errs.add(agent_long, "agent", E.OUT_OF_RANGE, limit=f"at most {MAX_TEXT} characters")

    state = text["state"].str.lower()
    state_blank = state.isna().to_numpy()
    state_bad = ~state_blank & ~state.isin(STATES).to_numpy()
    errs.add(state_blank, "state", E.MISSING_VALUE)
    errs.add(state_bad, "state", E.INVALID_STATE)

    if parsed is None or len(parsed.blank) != n:
        parsed = parse_times(cells["at"], target.time_zone)
    errs.add(parsed.blank, "at", E.MISSING_VALUE)
    for code in (E.INVALID_DATETIME, E.INVALID_LOCAL_TIME):
        errs.add(parsed.code == code, "at", code, time_zone=target.time_zone)
    at_ok = ~parsed.blank & pd.isna(parsed.code)
    early = parsed.early.dt.floor("s")
    late = parsed.late.dt.floor("s")

    reason_long = (text["reason"].str.len() > MAX_TEXT).fillna(False).to_numpy(dtype=bool)
    errs.add(reason_long, "reason", E.OUT_OF_RANGE, limit=f"at most {MAX_TEXT} characters")
    group_id = text["group"].map(groups)
    group_bad = text["group"].notna().to_numpy() & group_id.isna().to_numpy()
    errs.add(group_bad, "group", E.UNKNOWN_GROUP, service=target.service_code)

    # ---- per agent: the instant, time order, duplicates
    keyok = ~agent_blank & ~agent_long & at_ok & early.notna().to_numpy()
    agent_key = agent.where(keyok)
    zero = pd.Timestamp(0, tz="UTC")
    early_s = np.where(keyok, early.fillna(zero).astype("int64").to_numpy() // 10**9, 0)
    late_s = np.where(keyok, late.fillna(zero).astype("int64").to_numpy() // 10**9, 0)
    has_early, max_early = _running_max_before(early_s, agent_key, keyok)
    at_s = np.where(~has_early | (early_s >= max_early), early_s, late_s)
    packed = at_s.astype("int64") * _ROW_BITS + rows
    has_before, latest = _running_max_before(packed, agent_key, keyok)
    latest_s = latest // _ROW_BITS
    out_of_order = keyok & has_before & (at_s < latest_s)
    order_row = np.where(has_before, latest - latest_s * _ROW_BITS, 0).astype("int64")
    errs.add(out_of_order, "at", E.EVENT_OUT_OF_ORDER, first_row=order_row)

    dup_event = np.zeros(n, dtype=bool)
    dup_row = np.zeros(n, dtype=bool)
    first_row = np.zeros(n, dtype="int64")
    dup_rows = np.full(n, None, dtype=object)
    # (agent, second) and (agent, second, state) as int64 codes (hash factorizing, no sorting):
    # the grouped pandas work below runs only for the rows that share them (usually none)
    # (meaningful for the rows with a key: keyok)
    agent_at = _pair_codes(pd.factorize(agent_key)[0], np.where(keyok, at_s - (at_s[keyok].min() if keyok.any() else 0), 0))
    same_state = np.zeros(n, dtype=bool)
    if keyok.any():
        key3 = _pair_codes(pd.factorize(agent_at)[0], pd.factorize(state.fillna("\x01"))[0])
        same_state[keyok] = pd.Series(key3[keyok]).duplicated(keep=False).to_numpy()
    if same_state.any():
        many = pd.DataFrame({"agent": agent_key, "at": at_s, "state": state.fillna("\x01"),
                             "sig": text["reason"].fillna("\x01") + "\x00" + text["group"].fillna("\x01"),
                             "row": rows})[same_state]
        key = ["agent", "at", "state"]
        if len(many):
            conflict = many.groupby(key)["sig"].transform("nunique") > 1
            firsts = many.groupby(key)["row"].transform("min")
            listed = many.groupby(key)["row"].transform(lambda r: ", ".join(map(str, sorted(r))))
            idx = many.index.to_numpy()
            dup_event[idx[conflict.to_numpy()]] = True
            later = ~conflict.to_numpy() & (many["row"].to_numpy() > firsts.to_numpy())
            dup_row[idx[later]] = True
            first_row[idx] = firsts.to_numpy()
            dup_rows[idx] = listed.to_numpy()
    errs.add(dup_event, "at", E.DUPLICATE_EVENT, rows=dup_rows)
    errs.add(dup_row, None, E.DUPLICATE_ROW, first_row=first_row)

    # the n-th of several states of an agent in one second: n-1 microseconds later
    counted = keyok & ~dup_row
    if pd.Series(agent_at[counted]).duplicated().any():
        nth = pd.Series(counted.astype(int)).groupby([agent_key, pd.Series(at_s)]).cumsum().to_numpy() - 1
    else:   # no two counted states of an agent in one second
        nth = np.zeros(n, dtype=np.int64)
    at = pd.to_datetime(at_s, unit="s", utc=True) + pd.to_timedelta(np.where(counted, nth, 0), unit="us")
    at = pd.Series(at)

    # ---- the session rules on the timeline (this file's clean rows and the stored events)
    field_bad = agent_blank | agent_long | state_blank | state_bad | ~at_ok | reason_long | group_bad
    seq = keyok & ~field_bad & ~out_of_order & ~dup_event & ~dup_row
    seq_err, why = _session_rules(seq, agent_key, state, at, rows, stored, target.time_zone)
    errs.add(seq_err == E.NOT_LOGGED_IN, "state", E.NOT_LOGGED_IN, reason=why)
    errs.add(seq_err == E.OVERLAPPING_SESSION, "state", E.OVERLAPPING_SESSION, reason=why)

    ef = errs.frame().sort_values(["pos"], kind="stable")
    skipped_only = ef.groupby("pos")["code"].agg(lambda s: set(s) == {E.DUPLICATE_ROW})
    bad = np.zeros(n, dtype=bool)
    bad[ef["pos"].to_numpy()] = True
    errors = _materialize(ef, rows, text, cells)
    ok = ~bad
    valid = pd.DataFrame({
        "at": at[ok].reset_index(drop=True),
        "service_id": target.service_id,
        "agent_code": agent[ok].reset_index(drop=True),
        "state": state[ok].reset_index(drop=True),
        "reason": text["reason"][ok].reset_index(drop=True),
        "group_id": group_id[ok].astype("Int64").reset_index(drop=True),
        "source_row_number": pd.Series(rows[ok]),
    })
    # each event's end as far as the file knows (the load re-links it against stored events)
    valid["ended_at"] = _next_of_agent(valid["agent_code"], valid["at"])
    return EventValidation(valid=valid, errors=errors, skipped=int(skipped_only.sum()),
                           rejected=int((~skipped_only).sum()), rows_total=n,
                           timings={"total": time.perf_counter() - t0})


def _pair_codes(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One int64 code per distinct (a, b) pair of int64 codes (a >= -1, b >= 0 below 2**31:
    packed; otherwise numbered by pandas)."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    if not a.size or (int(a.max()) < 2**31 and int(b.max()) < 2**31 and int(a.min()) >= -1 and int(b.min()) >= 0):
        return a * 2**31 + b
    return pd.DataFrame({"a": a, "b": b}).groupby(["a", "b"], sort=False).ngroup().to_numpy(np.int64)


def _next_of_agent(agent: pd.Series, at: pd.Series) -> pd.Series:
    """Each event's next event time of the same agent (NaT for its last), by agent and time."""
    codes = pd.factorize(agent.to_numpy(dtype=object))[0]
    ns = _utc_ns(at)
    order = np.lexsort((ns, codes))
    out = np.full(len(at), np.iinfo(np.int64).min, dtype=np.int64)   # NaT
    if len(order) > 1:
        same = codes[order[1:]] == codes[order[:-1]]
        out[order[:-1][same]] = ns[order[1:][same]]
    return pd.Series(pd.to_datetime(out.view("datetime64[ns]"), utc=True), index=at.index)


def _utc_ns(at: pd.Series) -> np.ndarray:
    """Tz-aware instants as int64 nanoseconds since 1970 (UTC)."""
    return at.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]").view("int64")


def _session_rules(seq: np.ndarray, agent: pd.Series, state: pd.Series, at: pd.Series, rows: np.ndarray,
                   stored: pd.DataFrame | None, time_zone: str) -> tuple[np.ndarray, np.ndarray]:
    """NOT_LOGGED_IN / OVERLAPPING_SESSION per input position (None: fine) and the {reason} text.

    One timeline per agent: the clean rows ``seq`` and the stored events of their agents (a
    stored event at the time of a file row is replaced by it), in time order; each event is
    checked against the latest earlier deciding event of its agent (a logged_in / logged_out
    row, or any stored event). Numpy over the sorted arrays (pandas' merge, sort and grouped
    shift/ffill of object columns cost ~10 ms a daily file)."""
    n = len(seq)
    result = np.full(n, None, dtype=object)
    why = np.full(n, None, dtype=object)
    if not seq.any():
        return result, why
    pos = np.flatnonzero(seq)
    codes, agents = pd.factorize(agent.to_numpy(dtype=object)[pos])
    parts = {"code": [codes.astype(np.int64)], "at": [_utc_ns(at)[pos]], "state": [state.to_numpy(dtype=object)[pos]],
             "row": [rows[pos].astype(np.int64)], "pos": [pos.astype(np.int64)]}
    if stored is not None and len(stored):
        theirs = pd.Index(agents).get_indexer(stored["agent"].to_numpy(dtype=object))
        keep = theirs >= 0     # stored events of the agents with clean rows only
        k = int(keep.sum())
        parts["code"].append(theirs[keep].astype(np.int64))
        parts["at"].append(_utc_ns(stored["at"])[keep])
        parts["state"].append(stored["state"].to_numpy(dtype=object)[keep])
        parts["row"].append(np.zeros(k, dtype=np.int64))
        parts["pos"].append(np.full(k, -1, dtype=np.int64))
    code, at_ns, st, row_of, line_pos = (np.concatenate(parts[c]) for c in ("code", "at", "state", "row", "pos"))
    stored_row = line_pos < 0
    # by agent, then time; a file row before a stored event at the same time, which it replaces
    order = np.lexsort((stored_row, at_ns, code))
    code, at_ns, st, row_of, line_pos, stored_row = (a[order] for a in (code, at_ns, st, row_of, line_pos, stored_row))
    replaced = np.zeros(len(code), dtype=bool)
    replaced[1:] = stored_row[1:] & ~stored_row[:-1] & (code[1:] == code[:-1]) & (at_ns[1:] == at_ns[:-1])
    if replaced.any():
        code, at_ns, st, row_of, line_pos, stored_row = (a[~replaced] for a in (code, at_ns, st, row_of, line_pos,
                                                                             stored_row))
    size = len(code)
    index = np.arange(size)
    first = np.ones(size, dtype=bool)
    first[1:] = code[1:] != code[:-1]
    group_start = np.maximum.accumulate(np.where(first, index, 0))
    login = st == "logged_in"
    decides = stored_row | login | (st == "logged_out")
    # the latest earlier deciding event of the agent (its index in the line)
    prev = np.full(size, -1, dtype=np.int64)
    prev[1:] = np.maximum.accumulate(np.where(decides, index, -1))[:-1]
    has = prev >= group_start
    p = np.where(has, prev, 0)
    logged_in = has & (st[p] != "logged_out")
    overlapping = login & logged_in
    not_logged_in = ~login & ~logged_in
    mask = (line_pos >= 0) & (overlapping | not_logged_in)
    if not mask.any():
        return result, why
    bad = np.flatnonzero(mask)
    deciding = p[bad]
    local = (pd.to_datetime(at_ns[deciding], unit="ns", utc=True).tz_convert(time_zone)
             .strftime("%Y-%m-%d %H:%M:%S").to_numpy())
    for i, j, when in zip(bad.tolist(), deciding.tolist(), local):
        where_at = int(line_pos[i])
        result[where_at] = E.OVERLAPPING_SESSION if overlapping[i] else E.NOT_LOGGED_IN
        if not has[i]:
            why[where_at] = "no logged_in before it"
        else:
            where = f"row {row_of[j]}" if row_of[j] else "stored"
            why[where_at] = f"{st[j]} at {when}, {where}"
    return result, why


def _materialize(ef: pd.DataFrame, rows: np.ndarray, text: dict[str, pd.Series],
                 cells: dict[str, pd.Series]) -> list[RowError]:
    """RowError objects (a Python loop over the errors only). Messages are the codes' templates
    with the parameters the JSON path passes for the same errors."""
    from wfm_pipeline.argus.validate import _raw_text

    if ef.empty:
        return []
    params = [c for c in ef.columns if c not in ("pos", "column", "code")]
    out: list[RowError] = []
    for rec in ef.to_dict("records"):
        pos = int(rec["pos"])
        column = rec["column"] if isinstance(rec["column"], str) else None
        if column is None or column == "at":
            value = _raw_text(cells["at"].iloc[pos])
        else:
            value = text[column].iloc[pos]
        extra = {k: rec[k] for k in params if rec.get(k) is not None and not (isinstance(rec[k], float)
                                                                              and np.isnan(rec[k]))}
        out.append(RowError.of(int(rows[pos]), column, rec["code"], value, **extra))
    return out
