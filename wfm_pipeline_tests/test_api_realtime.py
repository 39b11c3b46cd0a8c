"""api_get_realtime_stats (issue 15): the flat per-service pass equals the per-interval rule of
wfm.service_interval_stats on every data shape, and the id checks behave as before."""

from __future__ import annotations

import random
from datetime import timedelta

import psycopg
import pytest

from wfm_pipeline_tests.stats_rows import ensure_stat_months, insert_row, new_batch

# The function's result as it was computed before issue 15: per interval through the view
# (service-level row when present, else the sum of the groups), then summed per service.
REFERENCE = """
    SELECT id, now() - make_interval(mins => %(lb)s), now(),
           coalesce(count(si.interval_start_time), 0)::integer, max(si.interval_start_time),
           coalesce(sum(si.unique_incoming), 0)::bigint, coalesce(sum(si.non_unique_incoming), 0)::bigint,
           round((sum(si.talk_time_total) + sum(si.post_processing_time_total))::numeric
                 / nullif(sum(si.handled_calls), 0), 2),
           round(sum(si.talk_time_total)::numeric / nullif(sum(si.handled_calls), 0), 2),
           round(sum(si.post_processing_time_total)::numeric / nullif(sum(si.handled_calls), 0), 2),
           sum(si.answered_calls)::bigint, sum(si.abandoned_calls)::bigint,
           round(100 * sum(si.answered_within_sl)::numeric / nullif(sum(si.sl_offered_calls), 0), 2),
           round(100 * sum(si.abandoned_calls)::numeric / nullif(sum(si.abandon_offered_calls), 0), 2),
           max(si.last_loaded_at)
    FROM (SELECT DISTINCT unnest(%(ids)s::int[]) AS id) ids
    LEFT JOIN wfm.service_interval_stats si
           ON si.service_id = ids.id
          AND si.interval_start_time >= now() - make_interval(mins => %(lb)s)
          AND si.interval_start_time <= now()
    GROUP BY id
    ORDER BY id
"""


def _random_row(rng: random.Random) -> dict:
    calls = rng.randint(0, 40)
    answered = rng.choice([None, rng.randint(0, calls)])
    handled = calls if answered is None else answered
    return {"unique": rng.randint(0, calls), "calls": calls,
            "talk": rng.randint(0, 600) if calls or rng.random() < 0.5 else None,
            "pp": rng.randint(0, 120) if calls or rng.random() < 0.5 else None,
            "answered": answered,
            "within_sl": rng.choice([None, rng.randint(0, handled)]),
            "abandoned": rng.choice([None, rng.randint(0, calls - (answered or 0))])}


@pytest.fixture
def shapes(conn: psycopg.Connection) -> dict[str, int]:
    """Five services, three groups each, rows over the last three hours (and one interval ahead):
    groups only; service-level rows only; both in the same intervals; both, in different
    intervals; no rows at all."""
    rng = random.Random(15)
    now = conn.execute("SELECT now()").fetchone()[0]
    current = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    intervals = [current - timedelta(minutes=15 * k) for k in range(-1, 13)]
    ensure_stat_months(conn, intervals[-1], intervals[0])
    batch = new_batch(conn)
    ids: dict[str, int] = {}
    for shape in ("groups", "service", "mixed", "apart", "empty"):
        sid = conn.execute("INSERT INTO services (code, name, time_zone) VALUES (%s, %s, 'Europe/Berlin') "
                           "RETURNING service_id", (f"RT_{shape}", shape)).fetchone()[0]
        groups = [conn.execute("INSERT INTO groups (service_id, code, name) VALUES (%s, %s, %s) RETURNING group_id",
                               (sid, f"G{k}", f"G{k}")).fetchone()[0] for k in range(3)]
        ids[shape] = sid
        for n, ts in enumerate(intervals):
            if shape == "empty" or rng.random() < 0.15:
                continue   # gaps
            service_row = {"groups": False, "service": True, "mixed": n % 3 != 2, "apart": n % 2 == 0}[shape]
            group_rows = {"groups": True, "service": False, "mixed": True, "apart": n % 2 == 1}[shape]
            targets = ([None] if service_row else []) + (groups if group_rows else [])
            for group_id in targets:
                r = _random_row(rng)
                insert_row(conn, batch, ts, sid, group_id, r["unique"], r["calls"], r["talk"], r["pp"],
                           within_sl=r["within_sl"], answered=r["answered"], abandoned=r["abandoned"])
    conn.commit()
    return ids


@pytest.mark.parametrize("lookback", [15, 60, 120, 1440])
def test_realtime_equals_the_per_interval_rule_on_every_shape(conn, shapes, lookback) -> None:
    ids = list(shapes.values())
    asked = ids[::-1] + ids[:2]   # unordered, with duplicates
    # one transaction: now() is the same instant for both
    got = conn.execute("SELECT * FROM api_get_realtime_stats(%s, %s)", (asked, lookback)).fetchall()
    want = conn.execute(REFERENCE, {"ids": asked, "lb": lookback}).fetchall()
    conn.rollback()
    assert got == want
    assert [r[0] for r in got] == sorted(ids)
    by_id = {r[0]: r for r in got}
    assert by_id[shapes["empty"]][3:7] == (0, None, 0, 0)
    if lookback >= 60:   # every non-empty shape has rows in the window (gaps are 15 % of intervals)
        assert all(by_id[shapes[s]][3] > 0 for s in ("groups", "service", "mixed", "apart"))


def test_realtime_counts_a_mixed_interval_once(conn, service) -> None:
    """A service-level row and group rows in the same interval: the service row is the total
    (the flat sum would say 10 + 4 + 6 = 20 calls)."""
    sid, gid = service["service_id"], service["group_id"]
    now = conn.execute("SELECT now()").fetchone()[0]
    current = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    ensure_stat_months(conn, current - timedelta(minutes=15), current)
    g2 = conn.execute("INSERT INTO groups (service_id, code, name) VALUES (%s, 'G2', 'G2') RETURNING group_id",
                      (sid,)).fetchone()[0]
    b = new_batch(conn)
    insert_row(conn, b, current, sid, None, 10, 10, 100, 10, answered=10)
    insert_row(conn, b, current, sid, gid, 4, 4, 50, 5, answered=4)
    insert_row(conn, b, current, sid, g2, 6, 6, 50, 5, answered=6)
    insert_row(conn, b, current - timedelta(minutes=15), sid, gid, 3, 3, 200, 0, answered=3)   # groups only here
    conn.commit()
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        row = cur.execute("SELECT * FROM api_get_realtime_stats(%s, 60)", ([sid],)).fetchone()
    assert (row["intervals"], row["non_unique_incoming"], row["answered_calls"]) == (2, 13, 13)
    assert str(row["avg_talk_time"]) == "123.08"   # (100 * 10 + 200 * 3) / 13


@pytest.mark.parametrize("ids, sqlstate, fragment", [
    ([], "22023", "must not be empty"),
    ([None], "22004", "must not contain NULL"),
    ("known+unknown", "P0002", "unknown service id(s) {987654}"),
    ("unknown+unknown", "P0002", "unknown service id(s) {987654,987655}"),
])
def test_realtime_id_errors_are_unchanged(conn, service, ids, sqlstate, fragment) -> None:
    if ids == "known+unknown":
        ids = [service["service_id"], 987654, service["service_id"]]
    elif ids == "unknown+unknown":
        ids = [987655, 987654]
    with pytest.raises(psycopg.Error) as info:
        conn.execute("SELECT * FROM api_get_realtime_stats(%s::int[], 60)", (ids,)).fetchall()
    assert info.value.sqlstate == sqlstate
    assert fragment in info.value.diag.message_primary


def test_realtime_null_lists_every_service(conn, shapes) -> None:
    every = [r[0] for r in conn.execute("SELECT service_id FROM services ORDER BY service_id")]
    got = [r[0] for r in conn.execute("SELECT service_id FROM api_get_realtime_stats(NULL, 60)")]
    assert got == every
