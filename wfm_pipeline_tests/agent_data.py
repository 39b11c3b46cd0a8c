"""Synthetic agent state events and an INDEPENDENT computation of what they must derive to.

``generate_shifts(...)`` makes the events of agents working shifts (day shifts and night shifts
crossing local midnight), with breaks (not_ready with a reason) and, optionally, talking and
post_processing states; ``split_by_local_day`` cuts them into daily files as an ACD export would
(a night shift's session stays open at the end of one file until the next closes it).

``expected_state_seconds`` computes per agent and 15-minute UTC interval the seconds logged in,
ready, not ready, talking and post-processing from the row TEXT with the standard library only
(strptime, zoneinfo, integer seconds): nothing is shared with the SQL derivation it checks.
``combined`` is the documented rule that merges them with call figures (docs/import.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections import defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

UTC = dt.timezone.utc
FIELDS = ("agent", "state", "at", "reason", "group")
QUARTER = 900


# ---------------------------------------------------------------- generation
def _local(instant: dt.datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).strftime("%d.%m.%Y %H:%M:%S")


def generate_shifts(seed: int, time_zone: str, days: list[dt.date], agents: int, *, talking: bool = False,
                    prefix: str = "A", night_share: float = 0.15) -> list[dict[str, str]]:
    """Rows (FIELDS -> text) of ``agents`` agents working one shift a day, in time order."""
    rng = random.Random(seed)
    zone = ZoneInfo(time_zone)
    events: list[tuple[dt.datetime, int, dict[str, str]]] = []
    for a in range(agents):
        code = f"{prefix}{a:03d}"
        night = rng.random() < night_share
        for day in days:
            start_local = dt.datetime.combine(day, dt.time(21 if night else 7), tzinfo=zone)
            start = (start_local + dt.timedelta(seconds=rng.randint(0, 3 * 3600))).astimezone(UTC)
            end = start + dt.timedelta(hours=8, seconds=rng.randint(-1800, 1800))
            t = start
            seq = [(t, "logged_in", "")]
            t += dt.timedelta(seconds=rng.randint(5, 120))
            while t < end:
                r = rng.random()
                if r < 0.12:
                    seq.append((t, "not_ready", rng.choice(("BREAK", "LUNCH", "MEETING", "TRAINING"))))
                    t += dt.timedelta(seconds=rng.randint(120, 1800))
                elif talking and r < 0.6:
                    seq.append((t, "talking", ""))
                    t += dt.timedelta(seconds=int(rng.expovariate(1 / 240)) + 5)
                    seq.append((t, "post_processing", ""))
                    t += dt.timedelta(seconds=rng.randint(5, 90))
                else:
                    seq.append((t, "ready", ""))
                    t += dt.timedelta(seconds=rng.randint(30, 1500))
            seq.append((t, "logged_out", ""))
            for at, state, reason in seq:
                events.append((at, a, {"agent": code, "state": state, "at": _local(at, zone), "reason": reason,
                                       "group": ""}))
    events.sort(key=lambda e: (e[0], e[1]))
    return [row for _, _, row in events]


def split_by_local_day(rows: list[dict[str, str]]) -> dict[dt.date, list[dict[str, str]]]:
    """The rows of each local calendar day (a daily export), in order."""
    out: dict[dt.date, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        out[dt.datetime.strptime(row["at"], "%d.%m.%Y %H:%M:%S").date()].append(row)
    return dict(sorted(out.items()))


def write_csv(path: Path, rows: list[dict[str, str]], *, delimiter: str = ";",
              fields: tuple[str, ...] = FIELDS) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(fields)
        for r in rows:
            w.writerow([r.get(f, "") for f in fields])
    return path


# ---------------------------------------------------------------- the independent computation
def _instant(text: str, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.strptime(text, "%d.%m.%Y %H:%M:%S").replace(tzinfo=zone).astimezone(UTC)


def _epoch(t: dt.datetime) -> int:
    return int(t.timestamp())


def expected_state_seconds(rows: list[dict[str, str]], time_zone: str
                           ) -> dict[tuple[str, dt.datetime], tuple[int, int, int, int, int]]:
    """(agent, UTC interval start) -> (logged_in, ready, not_ready, talking, post_processing)
    seconds, for every interval the states say something about: each state is held until the
    agent's next event; logged_out counts nothing; an interval touched by the agent's last state
    (still open) is left out, as are intervals without logged-in time."""
    zone = ZoneInfo(time_zone)
    timelines: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for row in rows:
        timelines[row["agent"]].append((_epoch(_instant(row["at"], zone)), row["state"].lower()))
    out: dict[tuple[str, dt.datetime], list[int]] = {}
    unknown: set[tuple[str, int]] = set()
    for agent, events in timelines.items():
        events.sort()
        for i, (start, state) in enumerate(events):
            if state == "logged_out":
                continue
            if i + 1 == len(events):
                unknown.add((agent, start - start % QUARTER))
                continue
            end = events[i + 1][0]
            iv = start - start % QUARTER
            while iv < end:
                secs = min(end, iv + QUARTER) - max(start, iv)
                cell = out.setdefault((agent, iv), [0, 0, 0, 0, 0])
                cell[0] += secs
                slot = {"ready": 1, "not_ready": 2, "talking": 3, "post_processing": 4}.get(state)
                if slot:
                    cell[slot] += secs
                iv += QUARTER
    return {(agent, dt.datetime.fromtimestamp(iv, UTC)): tuple(v) for (agent, iv), v in out.items()
            if (agent, iv) not in unknown and v[0] > 0}


def combined(states: tuple[int, int, int, int, int] | None, call_talk: int | None, call_post: int | None
             ) -> tuple[int | None, int | None, int | None, int, int]:
    """(logged_in, ready, not_ready, talk, post_processing) of agent_activity by the documented
    rule: handling from call records when there are any, else from the states; ready is the
    ready/talking/post-processing time left after handling; handling beyond it comes out of
    not_ready; logged-in is raised to the handling time; unknown without states or when the
    calls' handling exceeds the interval."""
    talk = call_talk if call_talk is not None else (states[3] if states else 0)
    post = call_post if call_post is not None else (states[4] if states else 0)
    if states is None or talk + post > QUARTER:
        return None, None, None, talk, post
    logged_in, ready, not_ready, talking, posting = states
    available = ready + talking + posting
    handling = talk + post
    return (max(logged_in, handling), max(available - handling, 0),
            max(not_ready - max(handling - available, 0), 0), talk, post)


def stored_activity(conn, service_id: int) -> dict[tuple[str, dt.datetime], tuple]:
    """agent_activity of a service: (agent, interval) -> (state_logged_in, state_ready,
    state_not_ready, state_talking, state_post_processing, logged_in, ready, not_ready, talk,
    post_processing, calls_handled, handling_source). Read-only: leaves ``conn`` idle."""
    rows = {(r[0], r[1]): tuple(r[2:]) for r in conn.execute(
        """SELECT a.code, aa.interval_start_time, aa.state_logged_in_seconds, aa.state_ready_seconds,
                  aa.state_not_ready_seconds, aa.state_talking_seconds, aa.state_post_processing_seconds,
                  aa.logged_in_seconds, aa.ready_seconds, aa.not_ready_seconds, aa.talk_seconds,
                  aa.post_processing_seconds, aa.calls_handled, aa.handling_source
           FROM wfm.agent_activity aa JOIN wfm.agents a USING (agent_id)
           WHERE aa.service_id = %s""", (service_id,))}
    conn.rollback()
    return rows


# ---------------------------------------------------------------- the corpus (files and JSON)
def event(agent: str = "A1", state: str = "ready", at: str = "01.10.2025 08:00:00", reason: str = "",
          group: str = "") -> dict[str, str]:
    return {"agent": agent, "state": state, "at": at, "reason": reason, "group": group}


# (row, expected [(column, code)]) in input order; times are Europe/Berlin wall-clock.
AGENT_CORPUS: list[tuple[dict[str, str], list[tuple[str | None, str]]]] = [
    (event("A1", "logged_in", "01.10.2025 08:00:00"), []),
    (event("A1", "READY", "01.10.2025 08:00:30"), []),
    (event("A1", "not_ready", "2025-10-01T08:20:00", "BREAK"), []),
    (event("A1", "ready", "01.10.2025 08:35:00"), []),
    (event("A1", "ready", "01.10.2025 08:35:00"), [(None, "DUPLICATE_ROW")]),          # exact copy: skipped
    (event("A1", "lunch", "01.10.2025 08:40:00"), [("state", "INVALID_STATE")]),
    (event("A1", "ready", "01.10.2025 08:30:00"), [("at", "EVENT_OUT_OF_ORDER")]),
    (event("A1", "logged_out", "01.10.2025 12:00:00"), []),
    (event("A1", "logged_out", "01.10.2025 12:05:00"), [("state", "NOT_LOGGED_IN")]),  # logout without login
    (event("A2", "ready", "01.10.2025 09:00:00"), [("state", "NOT_LOGGED_IN")]),
    (event("A3", "logged_in", "01.10.2025 09:00:00"), []),
    (event("A3", "logged_in", "01.10.2025 09:30:00"), [("state", "OVERLAPPING_SESSION")]),
    (event("A3", "ready", "01.10.2025 09:40:00"), []),
    (event("A3", "not_ready", "01.10.2025 10:00:00", "BREAK"), [("at", "DUPLICATE_EVENT")]),
    (event("A3", "not_ready", "01.10.2025 10:00:00", "LUNCH"), [("at", "DUPLICATE_EVENT")]),
    (event("A3", "ready", "01.10.2025 10:05:00"), []),
    (event("A3", "not_ready", "01.10.2025 10:05:00", "BREAK"), []),                   # same second: in order
    (event("A3", "talking", "01.10.2025 10:10:00", "x" * 101), [("reason", "OUT_OF_RANGE")]),
    (event("A3", "talking", "01.10.2025 10:11:00", group="NOPE"), [("group", "UNKNOWN_GROUP")]),
    (event("A3", "post_processing", "01.10.2025 10:15:00", group="G1"), []),
    (event("", "ready", "01.10.2025 10:20:00"), [("agent", "MISSING_VALUE")]),
    (event("A" * 101, "ready", "01.10.2025 10:20:00"), [("agent", "OUT_OF_RANGE")]),
    (event("A4", "", "01.10.2025 10:20:00"), [("state", "MISSING_VALUE")]),
    (event("A4", "logged_in", ""), [("at", "MISSING_VALUE")]),
    (event("A4", "logged_in", "31.09.2025 10:00:00"), [("at", "INVALID_DATETIME")]),
    (event("A4", "logged_in", "yesterday"), [("at", "INVALID_DATETIME")]),
    (event("A5", "logged_in", "30.03.2025 02:30:00"), [("at", "INVALID_LOCAL_TIME")]),   # spring gap
    (event("A6", "logged_in", "2025-10-01T08:00:00+02:00"), []),
    (event("A6", "logged_out", "2025-10-01T05:00:00Z"), [("at", "EVENT_OUT_OF_ORDER")]),
    (event("A6", "logged_out", "01.10.2025 16:00:00"), []),
]
