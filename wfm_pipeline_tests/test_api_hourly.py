"""60-minute buckets (issue 15): a past, hour-aligned range is answered by the hourly
aggregate's rows as they are (wfm.calls_by_hour_rows, ratios stored by sql/250), other ranges by
the general path; both equal aggregating the raw rows, DST days and +05:30 zones included."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import psycopg

from wfm_pipeline_tests.aggregate_checks import refresh
from wfm_pipeline_tests.stats_rows import ensure_stat_months, insert_row, new_batch

UTC = timezone.utc
FIRST = datetime(2024, 3, 29, tzinfo=UTC)   # Europe/Berlin springs forward on 31 March
DAYS = 4


def _load(conn: psycopg.Connection) -> list[int]:
    rng = random.Random(60)
    ensure_stat_months(conn, FIRST, FIRST + timedelta(days=DAYS))
    batch = new_batch(conn)
    ids = []
    for code, zone in (("H1", "Europe/Berlin"), ("H2", "Asia/Kolkata")):
        sid = conn.execute("INSERT INTO services (code, name, time_zone) VALUES (%s, %s, %s) RETURNING service_id",
                           (code, code, zone)).fetchone()[0]
        groups = [conn.execute("INSERT INTO groups (service_id, code, name) VALUES (%s, %s, %s) RETURNING group_id",
                               (sid, f"G{k}", f"G{k}")).fetchone()[0] for k in range(2)]
        ids.append(sid)
        for q in range(DAYS * 96):
            if rng.random() < 0.1:
                continue
            ts = FIRST + timedelta(minutes=15 * q)
            # a service-level row over its groups in some intervals (the row wins), groups alone elsewhere
            for group_id in ([None] if q % 7 == 0 else []) + groups:
                calls = rng.randint(0, 30)
                answered = rng.choice([None, rng.randint(0, calls)])
                insert_row(conn, batch, ts, sid, group_id, rng.randint(0, calls), calls, rng.randint(0, 500),
                           rng.randint(0, 90), answered=answered,
                           within_sl=rng.choice([None, rng.randint(0, calls if answered is None else answered)]),
                           abandoned=rng.choice([None, rng.randint(0, calls - (answered or 0))]))
    conn.commit()
    return ids


def _same_as_raw(conn, start, end, ids) -> int:
    got = conn.execute("SELECT * FROM api_get_calls_by_interval(%s, %s, 60, %s)", (start, end, ids)).fetchall()
    want = conn.execute("SELECT * FROM wfm.calls_by_interval_rows(%s, %s, 60, %s)",
                        (start, end, ids or [r[0] for r in conn.execute("SELECT service_id FROM services ORDER BY 1")])
                        ).fetchall()
    assert got == want, (start, end, ids)
    return len(got)


def _from_the_aggregate(conn, start, end, ids) -> bool:
    """Whether api_get_calls_by_interval takes the aggregate-rows path for this range."""
    ids = ids or [r[0] for r in conn.execute("SELECT service_id FROM services ORDER BY 1")]
    return conn.execute("SELECT wfm.aggregated_hours(%s, %s, %s) = wfm.tstz_span(%s, %s)",
                        (start, end, ids, start, end)).fetchone()[0]


def test_hour_aligned_past_ranges_read_the_aggregate_rows_and_equal_raw(conn) -> None:
    ids = _load(conn)
    end = FIRST + timedelta(days=DAYS)
    assert not _from_the_aggregate(conn, FIRST, end, None)          # nothing materialized yet
    assert _same_as_raw(conn, FIRST, end, None) == 2 * DAYS * 24   # every UTC hour of both services
    refresh(conn)
    for start, stop, asked in [(FIRST, end, None), (FIRST + timedelta(hours=40), FIRST + timedelta(hours=75), [ids[1]]),
                               (FIRST + timedelta(hours=47), FIRST + timedelta(hours=49), ids[::-1])]:
        assert _from_the_aggregate(conn, start, stop, asked)
        assert _same_as_raw(conn, start, stop, asked) > 0
    # Not hour-aligned, or reaching past the data: the general path, the same result.
    assert not _from_the_aggregate(conn, FIRST + timedelta(minutes=30), end, None)
    _same_as_raw(conn, FIRST + timedelta(minutes=30), end - timedelta(minutes=45), None)
    # A pending change of one requested service sends the range to the general path until the
    # next refresh; the answer is current either way.
    conn.execute("UPDATE contact_statistics SET non_unique_incoming = non_unique_incoming + 3, "
                 "unique_incoming = unique_incoming + 1 WHERE service_id = %s AND interval_start_time = %s",
                 (ids[0], FIRST + timedelta(hours=50)))
    conn.commit()
    assert not _from_the_aggregate(conn, FIRST, end, None)
    assert _from_the_aggregate(conn, FIRST, end, [ids[1]])
    _same_as_raw(conn, FIRST, end, None)
    refresh(conn)
    assert _from_the_aggregate(conn, FIRST, end, None)
    _same_as_raw(conn, FIRST, end, None)


def test_stored_hourly_ratios_follow_a_rewrite_of_the_hour(conn) -> None:
    """The generated ratio columns (sql/250) are recomputed when the refresh rewrites an hour."""
    ids = _load(conn)
    refresh(conn)
    hour = FIRST + timedelta(hours=30)
    before = conn.execute("SELECT aht, service_level_pct FROM wfm.agg_hourly_stats WHERE service_id = %s "
                          "AND hour_start = %s", (ids[0], hour)).fetchone()
    conn.execute("UPDATE contact_statistics SET avg_talk_time = avg_talk_time + 100, answered_within_sl = 0, "
                 "sl_threshold_seconds = 20 "
                 "WHERE service_id = %s AND interval_start_time >= %s AND interval_start_time < %s",
                 (ids[0], hour, hour + timedelta(hours=1)))
    conn.commit()
    refresh(conn)
    after = conn.execute("SELECT aht, service_level_pct, round((talk_time_total + post_processing_time_total)::numeric "
                         "/ nullif(handled_calls, 0), 2) FROM wfm.agg_hourly_stats WHERE service_id = %s "
                         "AND hour_start = %s", (ids[0], hour)).fetchone()
    assert after[0] == after[2] and after[0] != before[0]
    assert after[1] == 0
    _same_as_raw(conn, FIRST, FIRST + timedelta(days=DAYS), None)
