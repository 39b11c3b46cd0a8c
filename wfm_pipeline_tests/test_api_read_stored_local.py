"""Session 6 read paths (issue 15): the hour's local start stored in wfm.agg_hourly_stats
(sql/290), the stored 15-minute series wfm.agg_quarter_stats (sql/291) that answers 15-minute
buckets over past, hour-aligned ranges, and the raw 15-minute query's one aggregate for the
service-level row. All must give exactly what aggregating the raw rows gives
(wfm.calls_by_interval_rows): on DST days, in +05:30 / +05:45 / Lord Howe (30-minute DST) zones,
across a service's time-zone change, and with pending changes before and rows after the
watermark."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import psycopg

from wfm_pipeline_tests.aggregate_checks import (
    assert_tables_equal_a_full_recompute,
    refresh,
    sorted_rows,
    watermark,
)
from wfm_pipeline_tests.stats_rows import ensure_stat_months, insert_row, new_batch

UTC = timezone.utc
FIRST = datetime(2024, 3, 29, tzinfo=UTC)   # Berlin springs forward on 31 March, Lord Howe falls back 7 April
DAYS = 10
ZONES = ("Europe/Berlin", "Asia/Kolkata", "Australia/Lord_Howe", "America/New_York")


def _load(conn: psycopg.Connection, seed: int) -> list[int]:
    """Four services, two groups each; every kind of interval: groups only, a service-level row
    only, a service-level row over its groups, NULL counters in either, gaps."""
    rng = random.Random(seed)
    ensure_stat_months(conn, FIRST, FIRST + timedelta(days=DAYS))
    batch = new_batch(conn)
    ids = []
    for n, zone in enumerate(ZONES):
        sid = conn.execute("INSERT INTO services (code, name, time_zone) VALUES (%s, %s, %s) RETURNING service_id",
                           (f"L{n}", f"L{n}", zone)).fetchone()[0]
        groups = [conn.execute("INSERT INTO groups (service_id, code, name) VALUES (%s, %s, %s) RETURNING group_id",
                               (sid, f"G{k}", f"G{k}")).fetchone()[0] for k in range(2)]
        ids.append(sid)
        for q in range(DAYS * 96):
            kind = rng.random()
            if kind < 0.08:
                continue                                           # no data in this interval
            rows = ([None] if kind < 0.25 else []) + ([] if kind < 0.15 else groups)
            for group_id in rows:
                calls = rng.randint(0, 40)
                answered = rng.choice([None, rng.randint(0, calls)])
                insert_row(conn, batch, FIRST + timedelta(minutes=15 * q), sid, group_id, rng.randint(0, calls), calls,
                           rng.randint(0, 900) if calls else rng.choice([None, 0]),
                           rng.randint(0, 120) if calls else rng.choice([None, 0]), answered=answered,
                           within_sl=rng.choice([None, rng.randint(0, calls if answered is None else answered)]),
                           abandoned=rng.choice([None, rng.randint(0, calls - (answered or 0))]))
    conn.commit()
    return ids


def _same_as_raw(conn: psycopg.Connection, start: datetime, end: datetime, minutes: int, ids: list[int] | None) -> int:
    got = conn.execute("SELECT * FROM api_get_calls_by_interval(%s, %s, %s, %s)", (start, end, minutes, ids)).fetchall()
    every = [r[0] for r in conn.execute("SELECT service_id FROM services ORDER BY 1")]
    want = conn.execute("SELECT * FROM wfm.calls_by_interval_rows(%s, %s, %s, %s)",
                        (start, end, minutes, ids or every)).fetchall()
    assert got == want, (start, end, minutes, ids)
    return len(got)


def _hour_rows_path(conn: psycopg.Connection, start: datetime, end: datetime, ids: list[int] | None) -> bool:
    """Whether a 60-minute (15-minute) read of the range is answered by the stored hour (quarter)
    rows as they are."""
    ids = ids or [r[0] for r in conn.execute("SELECT service_id FROM services ORDER BY 1")]
    return conn.execute("SELECT wfm.aggregated_hours(%s, %s, %s) = wfm.tstz_span(%s, %s)",
                        (start, end, ids, start, end)).fetchone()[0]


def _stale_local_starts(conn: psycopg.Connection) -> int:
    return conn.execute("""SELECT count(*) FROM wfm.agg_hourly_stats h JOIN wfm.services s USING (service_id)
                           WHERE h.local_start IS DISTINCT FROM h.hour_start AT TIME ZONE s.time_zone""").fetchone()[0]


def test_quarter_hours_follow_the_service_level_rule_in_every_kind_of_interval(conn) -> None:
    """One day or two of 15-minute buckets (the day_3_services path) on DST days and in
    half-hour zones: the service-level row wins over its groups, NULL counters stay unknown."""
    ids = _load(conn, 615)
    mixed = conn.execute("""SELECT count(*) FROM (SELECT 1 FROM contact_statistics GROUP BY service_id,
                                interval_start_time HAVING count(*) > 1 AND bool_or(group_id IS NULL)) x""").fetchone()[0]
    alone = conn.execute("""SELECT count(*) FROM (SELECT 1 FROM contact_statistics GROUP BY service_id,
                                interval_start_time HAVING count(*) = 1 AND bool_or(group_id IS NULL)) x""").fetchone()[0]
    assert mixed > 100 and alone > 50                         # both shapes of a service-level interval are read
    rng = random.Random(6)
    for day in range(DAYS - 1):
        start = FIRST + timedelta(days=day, minutes=15 * rng.randint(0, 40))
        end = start + timedelta(minutes=15 * rng.randint(1, 2 * 96))
        asked = rng.sample(ids, rng.randint(1, 3))
        assert _same_as_raw(conn, start, end, 15, asked) > 0
    # Whole days, all services, in both directions of a DST change; a single interval (point).
    for start in (datetime(2024, 3, 30, 22, tzinfo=UTC), datetime(2024, 4, 6, 13, tzinfo=UTC)):
        assert _same_as_raw(conn, start, start + timedelta(days=1), 15, None) > 300
    assert _same_as_raw(conn, FIRST + timedelta(hours=5), FIRST + timedelta(hours=5, minutes=15), 15, [ids[2]]) <= 1


def test_stored_local_start_is_what_the_hourly_reads_return(conn) -> None:
    ids = _load(conn, 616)
    end = FIRST + timedelta(days=DAYS)
    refresh(conn)
    assert _stale_local_starts(conn) == 0
    # The week_hourly_all path: past, hour-aligned ranges over the DST weekend, every zone.
    for start, stop, asked in [(FIRST, end, None), (FIRST + timedelta(days=1), FIRST + timedelta(days=8), None),
                               (FIRST + timedelta(hours=45), FIRST + timedelta(hours=52), [ids[2], ids[1]])]:
        assert _hour_rows_path(conn, start, stop, asked)
        assert _same_as_raw(conn, start, stop, 60, asked) > 0
    # The day_3_services path: 15-minute buckets of whole aggregated hours, from agg_quarter_stats.
    for day in range(DAYS):
        start = FIRST + timedelta(days=day)
        assert _same_as_raw(conn, start, start + timedelta(days=1), 15, [ids[day % 4], ids[(day + 1) % 4]]) > 0
    assert _same_as_raw(conn, FIRST + timedelta(hours=3), FIRST + timedelta(days=DAYS, hours=-5), 15, None) > 0
    got = conn.execute("SELECT interval_start, local_start FROM api_get_calls_by_interval(%s, %s, 60, %s)",
                       (datetime(2024, 3, 31, 0, tzinfo=UTC), datetime(2024, 3, 31, 3, tzinfo=UTC), [ids[0]])).fetchall()
    assert got == [(datetime(2024, 3, 31, 0, tzinfo=UTC), datetime(2024, 3, 31, 1)),    # CET
                   (datetime(2024, 3, 31, 1, tzinfo=UTC), datetime(2024, 3, 31, 3)),    # CEST from 01:00 UTC
                   (datetime(2024, 3, 31, 2, tzinfo=UTC), datetime(2024, 3, 31, 4))]


def test_a_time_zone_change_reads_raw_until_the_refresh_rewrites_the_local_starts(conn) -> None:
    ids = _load(conn, 617)
    end = FIRST + timedelta(days=DAYS)
    refresh(conn)
    before = sorted_rows(conn.execute("SELECT service_id, hour_start, local_start FROM wfm.agg_hourly_stats "
                                      "WHERE service_id <> %s", (ids[1],)).fetchall())
    conn.execute("UPDATE services SET time_zone = 'Asia/Kathmandu' WHERE service_id = %s", (ids[1],))   # +05:45
    conn.commit()
    # Its stored hours still carry the old zone's local start, but they are pending now: reads
    # that include the service take the general path, with the new zone.
    assert _stale_local_starts(conn) > 0
    assert not _hour_rows_path(conn, FIRST, end, None)
    assert _hour_rows_path(conn, FIRST, end, [ids[0], ids[2]])
    assert _same_as_raw(conn, FIRST, end, 60, None) > 0
    (local,) = conn.execute("SELECT local_start FROM api_get_calls_by_interval(%s, %s, 60, %s)",
                            (datetime(2024, 4, 2, 6, tzinfo=UTC), datetime(2024, 4, 2, 7, tzinfo=UTC), [ids[1]])
                            ).fetchone()
    assert local == datetime(2024, 4, 2, 11, 45)
    assert _same_as_raw(conn, FIRST, end, 15, [ids[1]]) > 0
    assert conn.execute("SELECT local_start FROM api_get_calls_by_interval(%s, %s, 15, %s)",
                        (datetime(2024, 4, 2, 6, tzinfo=UTC), datetime(2024, 4, 2, 7, tzinfo=UTC), [ids[1]])
                        ).fetchone() == (datetime(2024, 4, 2, 11, 45),)
    refresh(conn)
    assert conn.execute("SELECT count(*) FROM wfm.agg_quarter_stats q JOIN services s USING (service_id) "
                        "WHERE q.local_start <> q.interval_start AT TIME ZONE s.time_zone").fetchone() == (0,)
    assert _same_as_raw(conn, FIRST, end, 15, [ids[1], ids[3]]) > 0
    assert _stale_local_starts(conn) == 0
    assert _hour_rows_path(conn, FIRST, end, None)
    assert _same_as_raw(conn, FIRST, end, 60, None) > 0
    assert sorted_rows(conn.execute("SELECT service_id, hour_start, local_start FROM wfm.agg_hourly_stats "
                                    "WHERE service_id <> %s", (ids[1],)).fetchall()) == before
    assert_tables_equal_a_full_recompute(conn)
    # A full rebuild writes the same local starts as the incremental refresh did.
    incremental = sorted_rows(conn.execute("SELECT * FROM wfm.agg_hourly_stats").fetchall())
    refresh(conn, full=True)
    assert sorted_rows(conn.execute("SELECT * FROM wfm.agg_hourly_stats").fetchall()) == incremental


def test_pending_changes_and_rows_after_the_watermark(conn) -> None:
    ids = _load(conn, 618)
    end = FIRST + timedelta(days=DAYS)
    refresh(conn, until=FIRST + timedelta(days=5, hours=7, minutes=40))   # watermark 5 d 07:00 in
    w = watermark(conn)
    assert w == FIRST + timedelta(days=5, hours=7)
    # A change before the watermark (pending) and new rows after it.
    conn.execute("UPDATE contact_statistics SET non_unique_incoming = non_unique_incoming + 5, "
                 "unique_incoming = unique_incoming + 2 WHERE service_id = %s AND interval_start_time = %s",
                 (ids[3], FIRST + timedelta(days=2, hours=3, minutes=15)))
    batch = new_batch(conn)
    insert_row(conn, batch, end + timedelta(hours=1), ids[0], None, 3, 4, 100, 10, answered=4, within_sl=2, abandoned=0)
    conn.commit()
    assert not _hour_rows_path(conn, FIRST, w, None)                       # the pending hour
    assert _hour_rows_path(conn, FIRST, w, [ids[0], ids[1], ids[2]])
    assert not _hour_rows_path(conn, FIRST, end, [ids[0]])                 # reaches past the watermark
    for start, stop in [(FIRST, w), (FIRST, end + timedelta(days=1)), (w - timedelta(hours=5), w + timedelta(hours=5)),
                        (FIRST + timedelta(days=2), FIRST + timedelta(days=2, hours=6))]:
        for minutes in (15, 60):
            assert _same_as_raw(conn, start, stop, minutes, None) > 0
    refresh(conn)
    assert_tables_equal_a_full_recompute(conn)
    assert _hour_rows_path(conn, FIRST, end, None)
    assert _same_as_raw(conn, FIRST, end, 60, None) > 0


def test_local_start_column_is_not_null_and_documented(conn) -> None:
    row = conn.execute("""SELECT a.attnotnull, format_type(a.atttypid, a.atttypmod),
                                 col_description(a.attrelid, a.attnum) IS NOT NULL
                          FROM pg_catalog.pg_attribute a
                          WHERE a.attrelid = 'wfm.agg_hourly_stats'::regclass AND a.attname = 'local_start'""").fetchone()
    assert row == (True, "timestamp without time zone", True)


def test_rounded_ratio_integer_path_at_half_cent_boundaries_up_to_its_guard(conn) -> None:
    """wfm.rounded_ratio's integer path (guards since session 6: 1 <= d < 1e9, 0 <= f*n < 1e8)
    equals numeric rounding on, just below and just above half-cent boundaries, for denominators
    spread over 1 .. 1e9 on a log scale (so most values take the integer path), and at the edges
    of the guard."""
    differ, integer_path = conn.execute("""
        WITH b(d, f, m) AS (   -- a half-cent boundary (2m + 1) / 200 of f * n / d with f * n < 1e8
            SELECT d, f, floor(random() * ((2e10 / d)::numeric - 1) / 2)::bigint
            FROM (SELECT greatest(1, floor(exp(random() * ln(999999999))))::bigint AS d,
                         (ARRAY[1, 100])[1 + (random() > 0.5)::int] AS f
                  FROM generate_series(1, 30000)) x
        ), v(n, d, f) AS (
            SELECT greatest(0, floor((2 * m + 1)::numeric * d / (200 * f))::bigint + k), d, f
            FROM b CROSS JOIN generate_series(-2, 2) k
            UNION ALL
            VALUES (99999999::bigint, 1::bigint, 1), (100000000, 1, 1), (999999, 7, 100), (1000000, 7, 100),
                   (99999999, 999999999, 1), (99999999, 1000000000, 1), (0, 999999999, 100), (-1, 3, 1)
        )
        SELECT count(*) FILTER (WHERE wfm.rounded_ratio(n, d, f)::text
                                      IS DISTINCT FROM round(f * n::numeric / nullif(d, 0), 2)::text),
               count(*) FILTER (WHERE d BETWEEN 1 AND 999999999 AND n BETWEEN 0 AND 99999999 / f)
        FROM v""").fetchone()
    assert differ == 0
    assert integer_path > 100000


def test_quarter_reads_of_aggregated_hours_come_from_the_stored_series(conn) -> None:
    """The path is really taken (a row altered in the table shows through), only where every hour
    is aggregated, and a TRUNCATE empties the series with the other aggregates."""
    ids = _load(conn, 619)
    refresh(conn)
    day = FIRST + timedelta(days=3)
    assert _hour_rows_path(conn, day, day + timedelta(days=1), [ids[0]])
    conn.execute("UPDATE wfm.agg_quarter_stats SET unique_incoming = unique_incoming + 1000 "
                 "WHERE service_id = %s AND interval_start = %s", (ids[0], day + timedelta(hours=10)))
    altered = conn.execute("SELECT unique_incoming FROM api_get_calls_by_interval(%s, %s, 15, %s) "
                           "WHERE interval_start = %s", (day, day + timedelta(days=1), [ids[0]],
                                                         day + timedelta(hours=10))).fetchone()[0]
    raw = conn.execute("SELECT unique_incoming FROM wfm.calls_by_interval_rows(%s, %s, 15, %s) "
                       "WHERE interval_start = %s", (day, day + timedelta(days=1), [ids[0]],
                                                     day + timedelta(hours=10))).fetchone()[0]
    assert altered == raw + 1000
    # Not hour-aligned, or a point: the raw rows, whatever the table says.
    for start, stop in [(day + timedelta(minutes=15), day + timedelta(days=1)),
                        (day + timedelta(hours=10), day + timedelta(hours=10, minutes=15))]:
        assert not _hour_rows_path(conn, start, stop, [ids[0]])
        assert _same_as_raw(conn, start, stop, 15, [ids[0]]) > 0
    refresh(conn, full=True)
    assert_tables_equal_a_full_recompute(conn)
    assert _same_as_raw(conn, day, day + timedelta(days=1), 15, [ids[0]]) > 0
    conn.execute("TRUNCATE wfm.contact_statistics")
    conn.commit()
    assert conn.execute("SELECT count(*) FROM wfm.agg_quarter_stats").fetchone() == (0,)
    assert _same_as_raw(conn, day, day + timedelta(days=1), 15, None) == 0
