"""Do the derived figures still add up to the stored calls? Read-only checks per UTC month (plain
Python; the Dagster ``agent_activity`` asset and the file imports report them as asset checks).

* ``interval_counts``: every contact_statistics row whose newest batch is a call-record batch
  (``import_batches.kind = 'calls'``) holds exactly the counts of the current call records offered
  in its 15-minute interval (outcome ``other`` excluded): ``non_unique_incoming`` = offered,
  ``answered_calls``, ``abandoned_calls``; the service row (group NULL) counts every call of the
  service, a group row the calls of that group. An interval with current calls and no row at all
  is a mismatch too; one whose row came from a later Argus or JSON batch is not judged (the latest
  applied batch wins, by design).
* ``calls_handled``: per service and 15-minute interval, ``sum(agent_activity.calls_handled)``
  equals the current answered calls with an agent answered in that interval.

Both read one month (partition pruning on both sides; calls answered in the month may have been
offered up to a day before it). ``MAX_SHOWN`` mismatches are returned with the total count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import psycopg
from psycopg.rows import dict_row

MAX_SHOWN = 20
_ORIGIN = "timestamptz '2000-01-01 00:00+00'"


@dataclass
class MonthVerdict:
    """One check over one month: rows compared, mismatches (the first ``MAX_SHOWN``) and their count."""

    month: date
    compared: int
    mismatched: int
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.mismatched == 0


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) of a UTC month."""
    lo = datetime(month.year, month.month, 1, tzinfo=timezone.utc)
    hi = datetime(month.year + (month.month == 12), month.month % 12 + 1, 1, tzinfo=timezone.utc)
    return lo, hi


_INTERVALS = f"""
WITH calls AS (
    SELECT c.service_id, c.group_id, c.outcome,
           pg_catalog.date_bin('15 minutes', c.offered_at, {_ORIGIN}) AS iv
    FROM wfm.call_records c
    WHERE c.offered_at >= %(lo)s AND c.offered_at < %(hi)s AND c.is_current AND c.outcome <> 'other'
), counted AS (
    SELECT service_id, -1 AS gkey, iv, count(*) AS offered,
           count(*) FILTER (WHERE outcome = 'answered') AS answered,
           count(*) FILTER (WHERE outcome = 'abandoned') AS abandoned
    FROM calls GROUP BY service_id, iv
    UNION ALL
    SELECT service_id, group_id, iv, count(*),
           count(*) FILTER (WHERE outcome = 'answered'), count(*) FILTER (WHERE outcome = 'abandoned')
    FROM calls WHERE group_id IS NOT NULL GROUP BY service_id, group_id, iv
), stored AS (
    SELECT cs.service_id, coalesce(cs.group_id, -1) AS gkey, cs.interval_start_time AS iv,
           cs.non_unique_incoming AS offered, cs.answered_calls AS answered, cs.abandoned_calls AS abandoned,
           b.kind
    FROM wfm.contact_statistics cs
    JOIN wfm.import_batches b ON b.import_batch_id = cs.import_batch_id
    WHERE cs.interval_start_time >= %(lo)s AND cs.interval_start_time < %(hi)s
), judged AS (
    SELECT coalesce(k.service_id, s.service_id) AS service_id, coalesce(k.gkey, s.gkey) AS gkey,
           coalesce(k.iv, s.iv) AS iv, k.offered AS calls_offered, k.answered AS calls_answered,
           k.abandoned AS calls_abandoned, s.offered AS stored_offered, s.answered AS stored_answered,
           s.abandoned AS stored_abandoned, s.kind
    FROM counted k
    FULL JOIN stored s ON s.service_id = k.service_id AND s.gkey = k.gkey AND s.iv = k.iv
    WHERE s.kind = 'calls' OR s.kind IS NULL
), bad AS (
    SELECT * FROM judged
    WHERE (calls_offered, calls_answered, calls_abandoned)
          IS DISTINCT FROM (stored_offered::bigint, stored_answered::bigint, stored_abandoned::bigint)
)
SELECT (SELECT count(*) FROM judged) AS compared, (SELECT count(*) FROM bad) AS mismatched,
       (SELECT coalesce(pg_catalog.jsonb_agg(x), '[]') FROM (
            SELECT sv.code AS service, g.code AS "group", b.iv AS interval_start,
                   b.calls_offered, b.stored_offered, b.calls_answered, b.stored_answered,
                   b.calls_abandoned, b.stored_abandoned
            FROM bad b
            JOIN wfm.services sv ON sv.service_id = b.service_id
            LEFT JOIN wfm.groups g ON g.group_id = b.gkey
            ORDER BY b.iv, sv.code, g.code NULLS FIRST LIMIT {MAX_SHOWN}) x) AS examples
"""

_HANDLED = f"""
WITH answered AS (
    SELECT c.service_id, pg_catalog.date_bin('15 minutes', c.answered_at, {_ORIGIN}) AS iv, count(*) AS calls
    FROM wfm.call_records c
    WHERE c.offered_at >= %(lo)s - interval '1 day' AND c.offered_at < %(hi)s
      AND c.answered_at >= %(lo)s AND c.answered_at < %(hi)s
      AND c.is_current AND c.outcome = 'answered' AND c.agent_code IS NOT NULL
    GROUP BY 1, 2
), stored AS (
    SELECT a.service_id, a.interval_start_time AS iv, pg_catalog.sum(a.calls_handled) AS calls
    FROM wfm.agent_activity a
    WHERE a.interval_start_time >= %(lo)s AND a.interval_start_time < %(hi)s
    GROUP BY 1, 2
    HAVING pg_catalog.sum(a.calls_handled) > 0
), judged AS (
    SELECT coalesce(k.service_id, s.service_id) AS service_id, coalesce(k.iv, s.iv) AS iv,
           k.calls AS answered_with_agent, s.calls AS calls_handled
    FROM answered k
    FULL JOIN stored s ON s.service_id = k.service_id AND s.iv = k.iv
), bad AS (
    SELECT * FROM judged WHERE answered_with_agent IS DISTINCT FROM calls_handled::bigint
)
SELECT (SELECT count(*) FROM judged) AS compared, (SELECT count(*) FROM bad) AS mismatched,
       (SELECT coalesce(pg_catalog.jsonb_agg(x), '[]') FROM (
            SELECT sv.code AS service, b.iv AS interval_start, b.answered_with_agent, b.calls_handled
            FROM bad b JOIN wfm.services sv ON sv.service_id = b.service_id
            ORDER BY b.iv, sv.code LIMIT {MAX_SHOWN}) x) AS examples
"""

_SUMMARY = """
SELECT count(*) AS rows, count(DISTINCT a.agent_id) AS agents, count(DISTINCT a.service_id) AS services,
       coalesce(pg_catalog.sum(a.calls_handled), 0) AS calls_handled,
       coalesce(pg_catalog.sum(a.talk_seconds), 0) AS talk_seconds,
       coalesce(pg_catalog.sum(a.post_processing_seconds), 0) AS post_processing_seconds,
       pg_catalog.sum(a.logged_in_seconds) AS logged_in_seconds
FROM wfm.agent_activity a
WHERE a.interval_start_time >= %(lo)s AND a.interval_start_time < %(hi)s
"""


def _verdict(conn: psycopg.Connection, query: str, month: date) -> MonthVerdict:
    lo, hi = month_bounds(month)
    compared, mismatched, examples = conn.execute(query, {"lo": lo, "hi": hi}).fetchone()
    return MonthVerdict(month, int(compared), int(mismatched), list(examples or []))


def interval_counts(conn: psycopg.Connection, month: date) -> MonthVerdict:
    """Call-derived contact_statistics rows of ``month`` against the current call records."""
    return _verdict(conn, _INTERVALS, month)


def calls_handled(conn: psycopg.Connection, month: date) -> MonthVerdict:
    """agent_activity.calls_handled of ``month`` against the answered calls with an agent."""
    return _verdict(conn, _HANDLED, month)


def month_summary(conn: psycopg.Connection, month: date) -> dict[str, Any]:
    """agent_activity of one month: rows, agents, services, calls handled, talk / wrap-up / logged-in
    seconds (logged-in None when no agent states cover the month)."""
    lo, hi = month_bounds(month)
    with conn.cursor(row_factory=dict_row) as cur:
        return dict(cur.execute(_SUMMARY, {"lo": lo, "hi": hi}).fetchone())


def activity_months(conn: psycopg.Connection, batch_id: Any, service_id: int, first: datetime, last: datetime,
                    months: list[str]) -> list[date]:
    """The UTC months of agent_activity a batch wrote: the months of its own events or calls
    (``months``, ``YYYY-MM``; rows it removed there count too) and those of the rows it owns up
    to three days after its last interval (talk and wrap-up past a month end)."""
    found = {date.fromisoformat(f"{m}-01") for m in months}
    if first is not None and last is not None:
        rows = conn.execute(
            """SELECT DISTINCT (pg_catalog.date_trunc('month', a.interval_start_time AT TIME ZONE 'UTC'))::date
               FROM wfm.agent_activity a
               WHERE a.service_id = %s AND a.interval_start_time >= %s AND a.interval_start_time < %s
                 AND a.import_batch_id = %s""",
            (service_id, first, last + timedelta(days=3), batch_id)).fetchall()
        found.update(r[0] for r in rows)
    return sorted(found)


__all__ = ["MAX_SHOWN", "MonthVerdict", "activity_months", "calls_handled", "interval_counts", "month_bounds",
           "month_summary"]
