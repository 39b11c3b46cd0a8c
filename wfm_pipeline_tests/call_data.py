"""Synthetic call records and an INDEPENDENT computation of what they must derive to.

``generate(...)`` makes rows as a bank's ACD export would: repeat callers, unknown callers
(empty or 0), calls answered with no agent recorded, abandonments, ``other`` rows, long calls
spreading over intervals, calls crossing local midnight and month ends, the repeated hour when
daylight-saving time ends, wall-clock text (DD.MM.YYYY and ISO) and instants with offsets.

``expected_intervals`` / ``expected_agents`` compute every interval and agent figure from the
row TEXT with the standard library only (strptime, zoneinfo, integer microseconds, Fractions):
nothing is shared with the validator or the SQL derivation they check.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections import defaultdict
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

UTC = dt.timezone.utc
FIELDS = ("call_id", "offered_at", "answered_at", "ended_at", "outcome", "agent", "customer_id",
          "wrap_up_seconds", "group")
QUARTER_US = 15 * 60 * 10**6


# ---------------------------------------------------------------- generation
def _fmt(instant: dt.datetime, zone: ZoneInfo, rng: random.Random) -> str:
    r = rng.random()
    if r < 0.80:
        return instant.astimezone(zone).strftime("%d.%m.%Y %H:%M:%S")
    if r < 0.90:
        local = instant.astimezone(zone)
        text = local.strftime("%Y-%m-%dT%H:%M:%S")
        return text + (f".{local.microsecond:06d}" if local.microsecond else "")
    if r < 0.95:
        return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return instant.astimezone(dt.timezone(dt.timedelta(hours=3))).strftime("%Y-%m-%dT%H:%M:%S+03:00")


def generate(seed: int, time_zone: str, days: list[dt.date], per_day: int, *, prefix: str = "c",
             agents: int = 12, customers: int = 40, groups: tuple[str, ...] = ("G1", "G2")) -> list[dict[str, str]]:
    """Rows (FIELDS -> text, '' = empty) for ``per_day`` calls offered on each local day."""
    rng = random.Random(seed)
    zone = ZoneInfo(time_zone)
    rows: list[dict[str, str]] = []
    for day in days:
        start = dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(UTC)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone).astimezone(UTC)
        span = int((end - start).total_seconds())
        for n in range(per_day):
            r = rng.random()
            if r < 0.08:        # the last minutes of the local day: talk crosses midnight
                offset = span - rng.randint(1, 600)
            elif r < 0.12 and day.month == 10 and day.day == 26:   # the repeated hour 02:00-03:00
                offset = 2 * 3600 + rng.randint(0, 7199)
            else:
                offset = rng.randint(0, span - 1)
            offered = start + dt.timedelta(seconds=offset)
            if rng.random() < 0.03:   # a fraction of a second now and then
                offered += dt.timedelta(microseconds=rng.choice((250000, 500000, 750000)))
            kind = rng.random()
            outcome = "answered" if kind < 0.74 else "abandoned" if kind < 0.90 else "other"
            wait = dt.timedelta(seconds=min(int(rng.expovariate(1 / 25)), 3000))
            if rng.random() < 0.05:
                wait = dt.timedelta(seconds=rng.choice((19, 20, 21)))   # around the SL threshold
            row = {f: "" for f in FIELDS}
            row["call_id"] = f"{prefix}{day:%m%d}-{n:05d}"
            row["offered_at"] = _fmt(offered, zone, rng)
            row["outcome"] = outcome if rng.random() < 0.9 else outcome.upper()
            if outcome == "answered":
                answered = offered + wait
                talk = rng.expovariate(1 / 240)
                if rng.random() < 0.04:
                    talk = rng.uniform(1800, 7200)       # long: spreads over many intervals
                ended = answered + dt.timedelta(seconds=int(talk))
                row["answered_at"] = _fmt(answered, zone, rng)
                row["ended_at"] = _fmt(ended, zone, rng)
                row["agent"] = "" if rng.random() < 0.1 else f"A{rng.randint(1, agents):02d}"
                row["wrap_up_seconds"] = "" if rng.random() < 0.3 else str(rng.randint(0, 180))
            elif outcome == "abandoned":
                hang_up = offered + dt.timedelta(seconds=min(int(rng.expovariate(1 / 40)), 4000))
                row["ended_at"] = _fmt(hang_up, zone, rng)
            elif rng.random() < 0.5:
                row["ended_at"] = _fmt(offered + dt.timedelta(seconds=rng.randint(0, 30)), zone, rng)
            c = rng.random()
            row["customer_id"] = "" if c < 0.1 else "0" if c < 0.25 else f"cust{rng.randint(1, customers)}"
            g = rng.random()
            row["group"] = groups[0] if g < 0.4 else groups[1] if g < 0.7 else ""
            rows.append(row)
    return rows


def write_csv(path: Path, rows: list[dict[str, str]], *, delimiter: str = ";", header_case: str = "lower",
              extra: bool = False) -> Path:
    names = [f.upper() if header_case == "upper" else f for f in FIELDS]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(names + (["Comment"] if extra else []))
        for row in rows:
            w.writerow([row[f] for f in FIELDS] + (["ignored"] if extra else []))
    return path


# ---------------------------------------------------------------- the independent computation
def _parse(text: str, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """(earlier, later) UTC instant of a time cell (equal unless it is an ambiguous wall-clock time)."""
    text = text.strip()
    for fmt in ("%d.%m.%Y %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S"):
        try:
            naive = dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        a = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
        b = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
        return min(a, b), max(a, b)
    instant = dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    return instant, instant


def resolve(row: dict[str, str], zone: ZoneInfo) -> dict:
    """The row's instants by the documented rule: offered_at the earlier candidate; answered_at
    and ended_at the earlier one unless it is before the time they follow."""
    def pick(text: str, after: dt.datetime | None) -> dt.datetime | None:
        if not text.strip():
            return None
        early, late = _parse(text, zone)
        return early if after is None or early >= after else late
    offered = pick(row["offered_at"], None)
    answered = pick(row["answered_at"], offered)
    ended = pick(row["ended_at"], answered if row["answered_at"].strip() else offered)
    customer = row["customer_id"].strip()
    return {"call_id": row["call_id"].strip(), "offered": offered, "answered": answered, "ended": ended,
            "outcome": row["outcome"].strip().lower(), "agent": row["agent"].strip() or None,
            "customer": None if customer in ("", "0") else customer,
            "wrap": int(row["wrap_up_seconds"]) if row["wrap_up_seconds"].strip() else 0,
            "group": row["group"].strip() or None}


def current_calls(batches: list[list[dict[str, str]]], time_zone: str) -> list[dict]:
    """The calls that count after importing ``batches`` in order: per call_id and UTC month of
    offered_at, the latest batch's row."""
    zone = ZoneInfo(time_zone)
    latest: dict[tuple, dict] = {}
    for rows in batches:
        for row in rows:
            call = resolve(row, zone)
            latest[(call["call_id"], call["offered"].year, call["offered"].month)] = call
    return list(latest.values())


def _us(delta: dt.timedelta) -> int:
    return (delta.days * 86400 + delta.seconds) * 10**6 + delta.microseconds


def _bin(instant: dt.datetime) -> dt.datetime:
    epoch_us = _us(instant - dt.datetime(2000, 1, 1, tzinfo=UTC))
    return dt.datetime(2000, 1, 1, tzinfo=UTC) + dt.timedelta(microseconds=epoch_us - epoch_us % QUARTER_US)


def _round(value: Fraction) -> int:
    """Half away from zero (PostgreSQL's numeric round) for the non-negative values here."""
    return int(value + Fraction(1, 2)) if value >= 0 else -int(-value + Fraction(1, 2))


def expected_intervals(calls: list[dict], group_ids: dict[str, int], threshold: int = 20) -> dict[tuple, tuple]:
    """{(group_id or None, interval start UTC): (unique, non_unique, avg_talk, avg_pp, answered,
    answered_within_sl, abandoned, sl_threshold)} for the service and each group."""
    buckets: dict[tuple, list[dict]] = defaultdict(list)
    for c in calls:
        if c["outcome"] == "other":
            continue
        iv = _bin(c["offered"])
        buckets[(None, iv)].append(c)
        if c["group"]:
            buckets[(group_ids[c["group"]], iv)].append(c)
    out = {}
    for key, cs in buckets.items():
        answered = [c for c in cs if c["outcome"] == "answered"]
        known = {c["customer"] for c in cs if c["customer"] is not None}
        unknown = sum(1 for c in cs if c["customer"] is None)
        talk = sum(_us(c["ended"] - c["answered"]) for c in answered)
        wrap = sum(c["wrap"] for c in answered)
        n = len(answered)
        out[key] = (len(known) + unknown, len(cs),
                    _round(Fraction(talk, n * 10**6)) if n else 0, _round(Fraction(wrap, n)) if n else 0,
                    n, sum(1 for c in answered if _us(c["answered"] - c["offered"]) <= threshold * 10**6),
                    sum(1 for c in cs if c["outcome"] == "abandoned"), threshold)
    return out


def _overlap_us(start: dt.datetime, end: dt.datetime, iv: dt.datetime) -> int:
    lo, hi = max(start, iv), min(end, iv + dt.timedelta(microseconds=QUARTER_US))
    return max(_us(hi - lo), 0)


def expected_agents(calls: list[dict]) -> dict[tuple, tuple]:
    """{(agent code, interval start UTC): (talk_seconds, post_processing_seconds, calls_handled)}."""
    talk: dict[tuple, int] = defaultdict(int)
    pp: dict[tuple, int] = defaultdict(int)
    handled: dict[tuple, int] = defaultdict(int)
    step = dt.timedelta(microseconds=QUARTER_US)
    for c in calls:
        if c["outcome"] != "answered" or c["agent"] is None:
            continue
        act_end = c["ended"] + dt.timedelta(seconds=c["wrap"])
        handled[(c["agent"], _bin(c["answered"]))] += 1
        iv = _bin(c["answered"])
        while iv < max(act_end, c["answered"] + dt.timedelta(microseconds=1)):
            talk[(c["agent"], iv)] += _overlap_us(c["answered"], c["ended"], iv)
            pp[(c["agent"], iv)] += _overlap_us(c["ended"], act_end, iv)
            iv += step
    keys = set(talk) | set(pp) | set(handled)
    return {k: (_round(Fraction(talk[k], 10**6)), _round(Fraction(pp[k], 10**6)), handled[k])
            for k in keys if talk[k] > 0 or pp[k] > 0 or handled[k] > 0}


def stored_intervals(conn, service_id: int) -> dict[tuple, tuple]:
    rows = conn.execute(
        """SELECT group_id, interval_start_time, unique_incoming, non_unique_incoming, avg_talk_time,
                  avg_post_processing_time, answered_calls, answered_within_sl, abandoned_calls, sl_threshold_seconds
           FROM wfm.contact_statistics WHERE service_id = %s""", (service_id,)).fetchall()
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def stored_agents(conn, service_id: int) -> dict[tuple, tuple]:
    rows = conn.execute(
        """SELECT a.code, aa.interval_start_time, aa.talk_seconds, aa.post_processing_seconds, aa.calls_handled
           FROM wfm.agent_activity aa JOIN wfm.agents a USING (agent_id) WHERE aa.service_id = %s""",
        (service_id,)).fetchall()
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}


# ---------------------------------------------------------------- conformance corpus
LONG = "x" * 101


def call_row(call_id="c", offered="05.01.2026 10:00:00", answered="05.01.2026 10:00:15", ended="05.01.2026 10:05:00",
        outcome="answered", agent="A1", customer="111", wrap="30", group="G1") -> dict[str, str]:
    return dict(zip(FIELDS, (call_id, offered, answered, ended, outcome, agent, customer, wrap, group)))


# The call-record conformance corpus (test_calls_conformance.py): (row, expected (field, code)
# set). The expectations document intent; the assertion that matters is file == JSON verdicts.
CALL_CORPUS: list[tuple[dict, set]] = [
    (call_row("ok1"), set()),
    (call_row("ok2", answered="", ended="05.01.2026 10:01:00", outcome="abandoned", agent="", wrap=""), set()),
    (call_row("ok3", answered="", ended="", outcome="other", agent="", customer="", wrap="", group=""), set()),
    (call_row("ok4", outcome=" ANSWERED ", customer="0", wrap="12,0", group=""), set()),
    (call_row("ok5", offered="5.1.2026 10:00:00", answered="2026-01-05T10:00:20.500000",
         ended="2026-01-05T09:03:00Z"), set()),
    (call_row("ok6", offered="2026-01-05T10:10:00+01:00", answered="2026-01-05T12:10:30+03:00", ended="05.01.2026 10:15:00",
         wrap=""), set()),
    # the repeated hour: answered 02:00:10 is the second one (after offered 02:59:50, the first)
    (call_row("dst", offered="26.10.2025 02:59:50", answered="26.10.2025 02:00:10", ended="26.10.2025 02:05:00"), set()),
    (call_row("m1", offered="31.01.2026 23:59:00", answered="01.02.2026 00:00:05", ended="01.02.2026 00:30:00"), set()),
    (call_row("ab_wrap", answered="", outcome="abandoned", wrap="15"), set()),
    (call_row("e1", answered=""), {("answered_at", "MISSING_VALUE")}),
    (call_row("e2", answered="", ended="", outcome="abandoned"), {("ended_at", "MISSING_VALUE")}),
    (call_row("e3", outcome="lost"), {("outcome", "INVALID_OUTCOME")}),
    (call_row("e4", outcome=""), {("outcome", "MISSING_VALUE")}),
    (call_row(""), {("call_id", "MISSING_VALUE")}),
    (call_row(LONG), {("call_id", "OUT_OF_RANGE")}),
    (call_row("e5", offered="32.01.2026 10:00:00"), {("offered_at", "INVALID_DATETIME")}),
    (call_row("e6", offered=""), {("offered_at", "MISSING_VALUE")}),
    (call_row("e7", offered="29.03.2026 02:30:00", answered="29.03.2026 03:30:10", ended="29.03.2026 03:35:00"),
     {("offered_at", "INVALID_LOCAL_TIME")}),
    (call_row("e8", answered="05.01.2026 09:59:00"), {("answered_at", "ANSWERED_BEFORE_OFFERED")}),
    (call_row("e9", ended="05.01.2026 10:00:10"), {("ended_at", "ENDED_BEFORE_ANSWERED")}),
    (call_row("e10", answered="", ended="05.01.2026 09:00:00", outcome="abandoned"), {("ended_at", "ENDED_BEFORE_OFFERED")}),
    (call_row("e11", ended="06.01.2026 10:00:16"), {("ended_at", "TALK_TOO_LONG")}),
    (call_row("e12", answered="06.01.2026 10:00:01", ended="06.01.2026 10:05:00"), {("answered_at", "WAIT_TOO_LONG")}),
    (call_row("e13", answered="", ended="06.01.2026 11:00:00", outcome="abandoned"), {("ended_at", "WAIT_TOO_LONG")}),
    (call_row("e14", outcome="abandoned"), {("answered_at", "OUTCOME_CONFLICT")}),
    (call_row("e15", wrap="1.5"), {("wrap_up_seconds", "NOT_INTEGER")}),
    (call_row("e16", wrap="-3"), {("wrap_up_seconds", "NEGATIVE_VALUE")}),
    (call_row("e17", wrap="90000"), {("wrap_up_seconds", "OUT_OF_RANGE")}),
    (call_row("e18", wrap="abc"), {("wrap_up_seconds", "NOT_INTEGER")}),
    (call_row("e19", group="G9"), {("group", "UNKNOWN_GROUP")}),
    (call_row("e20", agent=LONG), {("agent", "OUT_OF_RANGE")}),
    (call_row("e21", customer=LONG), {("customer_id", "OUT_OF_RANGE")}),
    (call_row("e22", answered="2026-01-04T24:00:00+00:00"), {("answered_at", "INVALID_DATETIME")}),
    (call_row("e23", ended="2026-01-05T10:03:60Z"), {("ended_at", "INVALID_DATETIME")}),
    (call_row("e24", offered="01.01.1677 10:00:00"), {("offered_at", "INVALID_DATETIME")}),
    (call_row("e25", answered="soon", ended="05.01.2026 09:00:00"), {("answered_at", "INVALID_DATETIME")}),
    (call_row("e26", offered="never", answered="05.01.2026 08:00:00"), {("offered_at", "INVALID_DATETIME")}),
    (call_row("e27", answered="", ended="05.01.2026 09:00:00", outcome="other"), {("ended_at", "ENDED_BEFORE_OFFERED")}),
    (call_row("e28", answered="", ended="", outcome="ANSWERED", wrap="x"),
     {("answered_at", "MISSING_VALUE"), ("ended_at", "MISSING_VALUE"), ("wrap_up_seconds", "NOT_INTEGER")}),
    # the ISO wall-clock form ACDs write (the file path's fast path) and what it must refuse
    (call_row("iso1", offered="2026-01-05T10:00:00", answered="2026-01-05T10:00:20", ended="2026-01-05T10:04:00"),
     set()),
    (call_row("iso2", offered="2026-01-05T10:00:60"), {("offered_at", "INVALID_DATETIME")}),
    (call_row("iso3", offered="2026-01-05T24:00:00"), {("offered_at", "INVALID_DATETIME")}),
    (call_row("iso4", offered="2026-02-30T10:00:00"), {("offered_at", "INVALID_DATETIME")}),
    (call_row("iso5", offered="1677-12-31T23:59:59"), {("offered_at", "INVALID_DATETIME")}),
    (call_row("iso6", offered="2026-03-29T02:30:00", answered="2026-03-29T03:30:10", ended="2026-03-29T03:35:00"),
     {("offered_at", "INVALID_LOCAL_TIME")}),
    (call_row("d1"), set()),
    (call_row("d1"), {(None, "DUPLICATE_ROW")}),
    (call_row("d2"), {(None, "DUPLICATE_CALL_ID")}),
    (call_row("d2", agent="A2"), {(None, "DUPLICATE_CALL_ID")}),
    (call_row("d3", offered="05.02.2026 10:00:00", answered="05.02.2026 10:00:15", ended="05.02.2026 10:05:00"), set()),
    (call_row("d3"), set()),   # the same call_id in another month is another call
]
