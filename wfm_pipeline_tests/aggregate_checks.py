"""The checks of the incremental aggregates (issue 15), shared by test_aggregates and
test_aggregates_call_records: the oracle (the materialized views of sql/051 as sql/121 re-created
them, queried directly on contact_statistics, and the raw bucket query
wfm.calls_by_interval_rows), refresh and watermark helpers, and the two assertions: what is
materialized equals a full recompute, and every read equals aggregating the raw rows.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import psycopg

UTC = timezone.utc
# Default windows of the reads checked: (UTC start, days).
WINDOWS = [(datetime(2024, 3, 29, tzinfo=UTC), 11), (datetime(2024, 10, 25, tzinfo=UTC), 11)]
# 15 (wfm.calls_by_quarter_rows) and 30 (the raw query itself) too: every bucket size the API takes.
BUCKETS = [15, 60, 120, 240, 480, 720, 1440, 30]

# The materialized views of sql/051 as sql/121 re-created them (handled_calls: the calls the
# averages are per): the definition the aggregates must reproduce exactly.
HOURLY_ORACLE = """
SELECT si.service_id,
       date_bin(interval '1 hour', si.interval_start_time, timestamptz '2000-01-01 00:00:00+00') AS hour_start,
       count(*)::integer, sum(si.source_rows)::bigint, sum(si.unique_incoming)::bigint,
       sum(si.non_unique_incoming)::bigint, sum(si.talk_time_total)::bigint,
       sum(si.post_processing_time_total)::bigint, sum(si.answered_calls)::bigint,
       sum(si.sl_offered_calls)::bigint, sum(si.answered_within_sl)::bigint,
       sum(si.abandon_offered_calls)::bigint, sum(si.abandoned_calls)::bigint,
       max(si.sl_threshold_seconds), max(si.last_loaded_at), sum(si.handled_calls)::bigint
FROM wfm.service_interval_stats si
GROUP BY 1, 2"""
DAILY_ORACLE = """
WITH service_intervals AS (
    SELECT si.*, (si.interval_start_time AT TIME ZONE s.time_zone)::date AS stat_date
    FROM wfm.service_interval_stats si JOIN wfm.services s ON s.service_id = si.service_id
)
SELECT service_id, NULL::integer AS group_id, stat_date, count(*)::integer, sum(source_rows)::bigint,
       sum(unique_incoming)::bigint, sum(non_unique_incoming)::bigint, sum(talk_time_total)::bigint,
       sum(post_processing_time_total)::bigint, sum(answered_calls)::bigint, sum(sl_offered_calls)::bigint,
       sum(answered_within_sl)::bigint, sum(abandon_offered_calls)::bigint, sum(abandoned_calls)::bigint,
       max(sl_threshold_seconds),
       to_timestamp(-(max(ARRAY[non_unique_incoming::bigint, -extract(epoch FROM interval_start_time)::bigint]))[2]),
       max(non_unique_incoming)::bigint, max(last_loaded_at), sum(handled_calls)::bigint
FROM service_intervals GROUP BY service_id, stat_date
UNION ALL
SELECT cs.service_id, cs.group_id, (cs.interval_start_time AT TIME ZONE s.time_zone)::date, count(*)::integer,
       count(*)::bigint, sum(cs.unique_incoming)::bigint, sum(cs.non_unique_incoming)::bigint,
       sum(cs.talk_time_total)::bigint, sum(cs.post_processing_time_total)::bigint, sum(cs.answered_calls)::bigint,
       sum(cs.non_unique_incoming) FILTER (WHERE cs.answered_within_sl IS NOT NULL)::bigint,
       sum(cs.answered_within_sl)::bigint,
       sum(cs.non_unique_incoming) FILTER (WHERE cs.abandoned_calls IS NOT NULL)::bigint,
       sum(cs.abandoned_calls)::bigint, max(cs.sl_threshold_seconds),
       to_timestamp(-(max(ARRAY[cs.non_unique_incoming::bigint, -extract(epoch FROM cs.interval_start_time)::bigint]))[2]),
       max(cs.non_unique_incoming)::bigint, max(cs.loaded_at), sum(cs.handled_calls)::bigint
FROM wfm.contact_statistics cs JOIN wfm.services s ON s.service_id = cs.service_id
WHERE cs.group_id IS NOT NULL
GROUP BY cs.service_id, cs.group_id, 3"""
_HOURLY_COLUMNS = ("service_id, hour_start, intervals, source_rows, unique_incoming, non_unique_incoming, "
                   "talk_time_total, post_processing_time_total, answered_calls, sl_offered_calls, answered_within_sl, "
                   "abandon_offered_calls, abandoned_calls, sl_threshold_seconds, last_loaded_at, handled_calls")
_DAILY_COLUMNS = ("service_id, group_id, stat_date, intervals, source_rows, unique_incoming, non_unique_incoming, "
                  "talk_time_total, post_processing_time_total, answered_calls, sl_offered_calls, answered_within_sl, "
                  "abandon_offered_calls, abandoned_calls, sl_threshold_seconds, peak_interval_start, "
                  "peak_non_unique_incoming, last_loaded_at, handled_calls")


def sorted_rows(rows) -> list[tuple]:
    return sorted(rows, key=lambda r: tuple((v is None, str(v)) for v in r))


def refresh(conn: psycopg.Connection, *, full: bool = False, until: datetime | None = None) -> dict:
    rows = conn.execute("SELECT view_name, mode, changes_applied, rows_deleted, rows_written, row_count, "
                        "materialized_until FROM wfm.refresh_aggregates(%s, %s)", (full, until)).fetchall()
    conn.commit()
    return {r[0]: r[1:] for r in rows}


def watermark(conn: psycopg.Connection) -> datetime | None:
    return conn.execute("SELECT materialized_until FROM wfm.aggregates WHERE view_name = 'wfm.mv_hourly_stats'"
                        ).fetchone()[0]


# ---------------------------------------------------------------- the checks

def assert_tables_equal_a_full_recompute(conn: psycopg.Connection) -> None:
    """What the refresh materialized is exactly sql/051's definition, before the watermark."""
    w = watermark(conn)
    assert w is not None
    assert conn.execute("SELECT count(*) FROM wfm.aggregate_changes").fetchone() == (0,)
    table = conn.execute(f"SELECT {_HOURLY_COLUMNS} FROM wfm.agg_hourly_stats").fetchall()
    oracle = conn.execute(f"SELECT * FROM ({HOURLY_ORACLE}) o WHERE hour_start < %s", (w,)).fetchall()
    assert sorted_rows(table) == sorted_rows(oracle)
    table = conn.execute(f"SELECT {_DAILY_COLUMNS} FROM wfm.agg_daily_service_stats").fetchall()
    oracle = conn.execute(f"""SELECT o.* FROM ({DAILY_ORACLE}) o JOIN wfm.services s USING (service_id)
                              WHERE o.stat_date < (%s::timestamptz AT TIME ZONE s.time_zone)::date""", (w,)).fetchall()
    assert sorted_rows(table) == sorted_rows(oracle)
    counts = dict(conn.execute("SELECT view_name, row_count FROM wfm.aggregates").fetchall())
    assert counts == {"wfm.mv_hourly_stats": conn.execute("SELECT count(*) FROM wfm.agg_hourly_stats").fetchone()[0],
                      "wfm.mv_daily_service_stats":
                          conn.execute("SELECT count(*) FROM wfm.agg_daily_service_stats").fetchone()[0]}
    # The hour-alignment flag agrees with the hour's four intervals' local hours.
    wrong = conn.execute("""SELECT count(*) FROM wfm.agg_hourly_stats h JOIN wfm.services s USING (service_id)
                            WHERE h.local_hour_aligned <> ((SELECT count(DISTINCT date_trunc('hour',
                                      (h.hour_start + q * interval '15 minutes') AT TIME ZONE s.time_zone))
                                  FROM generate_series(0, 3) q) = 1)""").fetchone()[0]
    assert wrong == 0
    # The 15-minute series (sql/291): wfm.service_interval_stats' rows before the watermark, with
    # the raw query's ratios and the interval's local start in the service's zone of now.
    table = conn.execute("""SELECT service_id, interval_start, local_start, unique_incoming, non_unique_incoming,
                                     talk_time_total, post_processing_time_total, handled_calls, answered_calls,
                                     answered_within_sl, sl_offered_calls, abandoned_calls, abandon_offered_calls,
                                     aht, avg_talk_time, avg_post_processing_time, service_level_pct,
                                     abandonment_rate_pct
                              FROM wfm.agg_quarter_stats""").fetchall()
    oracle = conn.execute("""
        SELECT si.service_id, si.interval_start_time, si.interval_start_time AT TIME ZONE s.time_zone,
               si.unique_incoming, si.non_unique_incoming, si.talk_time_total, si.post_processing_time_total,
               si.handled_calls, si.answered_calls, si.answered_within_sl, si.sl_offered_calls, si.abandoned_calls,
               si.abandon_offered_calls,
               round((si.talk_time_total + si.post_processing_time_total)::numeric / nullif(si.handled_calls, 0), 2),
               round(si.talk_time_total::numeric / nullif(si.handled_calls, 0), 2),
               round(si.post_processing_time_total::numeric / nullif(si.handled_calls, 0), 2),
               round(100 * si.answered_within_sl::numeric / nullif(si.sl_offered_calls, 0), 2),
               round(100 * si.abandoned_calls::numeric / nullif(si.abandon_offered_calls, 0), 2)
        FROM wfm.service_interval_stats si JOIN wfm.services s USING (service_id)
        WHERE si.interval_start_time < %s""", (w,)).fetchall()
    assert sorted_rows(table) == sorted_rows(oracle)
    # The stored local start (sql/290) is the hour's start in the service's zone of now.
    wrong = conn.execute("""SELECT count(*) FROM wfm.agg_hourly_stats h JOIN wfm.services s USING (service_id)
                            WHERE h.local_start IS DISTINCT FROM h.hour_start AT TIME ZONE s.time_zone""").fetchone()[0]
    assert wrong == 0


def assert_reads_equal_raw(conn: psycopg.Connection, rng: random.Random, *, calls: int = 12,
                           windows: list[tuple[datetime, int]] = WINDOWS) -> None:
    """The readers' views and the API equal aggregating the raw rows, whatever is materialized:
    random bounds, bucket sizes and services inside ``windows`` ((UTC start, days) pairs)."""
    view = conn.execute(f"SELECT {_HOURLY_COLUMNS} FROM wfm.mv_hourly_stats").fetchall()
    assert sorted_rows(view) == sorted_rows(conn.execute(HOURLY_ORACLE).fetchall())
    view = conn.execute(f"SELECT {_DAILY_COLUMNS} FROM wfm.mv_daily_service_stats").fetchall()
    assert sorted_rows(view) == sorted_rows(conn.execute(DAILY_ORACLE).fetchall())

    services = [r[0] for r in conn.execute("SELECT service_id FROM wfm.services ORDER BY 1")]
    for i in range(calls):
        start_window, days = windows[i % len(windows)]
        minutes = BUCKETS[i % len(BUCKETS)]
        # Quarter-hour aligned bounds (not hour or day aligned), also reaching past the data.
        start = start_window + timedelta(minutes=15 * rng.randint(-20, days * 96 - 40))
        end = start + timedelta(minutes=15 * rng.randint(1, days * 96))
        ids = None if i % 3 == 0 else rng.sample(services, rng.randint(1, min(3, len(services))))
        got = conn.execute("SELECT * FROM wfm.api_get_calls_by_interval(%s, %s, %s, %s)",
                           (start, end, minutes, ids)).fetchall()
        want = conn.execute("SELECT * FROM wfm.calls_by_interval_rows(%s, %s, %s, %s)",
                            (start, end, minutes, ids or services)).fetchall()
        assert got == want, (start, end, minutes, ids)
        # Whole local days of one service (how the month class asks), in its own zone.
        sid = rng.choice(services)
        tz = conn.execute("SELECT time_zone FROM wfm.services WHERE service_id = %s", (sid,)).fetchone()[0]
        first = (start_window + timedelta(days=rng.randint(-1, 3))).date()
        local = conn.execute("SELECT %s::timestamp AT TIME ZONE %s, %s::timestamp AT TIME ZONE %s",
                             (first, tz, first + timedelta(days=rng.randint(1, days)), tz)).fetchone()
        got = conn.execute("SELECT * FROM wfm.api_get_calls_by_interval(%s, %s, 1440, %s)",
                           (*local, [sid])).fetchall()
        want = conn.execute("SELECT * FROM wfm.calls_by_interval_rows(%s, %s, 1440, %s)",
                            (*local, [sid])).fetchall()
        assert got == want, (local, sid)

    w = watermark(conn)
    for sid in rng.sample(services, min(2, len(services))):
        for start, days in windows:
            for day in (start.date() + timedelta(days=d) for d in range(-1, days + 1)):
                got = conn.execute("SELECT * FROM wfm.api_get_service_summary(%s, %s)", (sid, day)).fetchall()
                want = conn.execute(f"""
                    SELECT %(s)s, %(d)s::date, d.group_id, g.code, coalesce(d.count, 0), coalesce(d.uniq, 0)::bigint,
                           coalesce(d.calls, 0)::bigint,
                           round((d.talk + d.pp)::numeric / nullif(d.handled, 0), 2),
                           round(d.talk::numeric / nullif(d.handled, 0), 2),
                           round(d.pp::numeric / nullif(d.handled, 0), 2),
                           d.answered, d.abandoned, round(100 * d.within::numeric / nullif(d.sl_offered, 0), 2),
                           round(100 * d.abandoned::numeric / nullif(d.ab_offered, 0), 2), d.peak, d.peak_calls,
                           d.loaded, %(w)s::timestamptz
                    FROM (SELECT 1) one
                    LEFT JOIN (SELECT service_id, group_id, stat_date, count, src, uniq, calls, talk, pp, answered,
                                      sl_offered, within, ab_offered, abandoned, thr, peak, peak_calls, loaded,
                                      handled
                               FROM ({DAILY_ORACLE}) o(service_id, group_id, stat_date, count, src, uniq, calls, talk,
                                      pp, answered, sl_offered, within, ab_offered, abandoned, thr, peak, peak_calls,
                                      loaded, handled)) d ON d.service_id = %(s)s AND d.stat_date = %(d)s
                    LEFT JOIN wfm.groups g ON g.group_id = d.group_id
                    ORDER BY d.group_id NULLS FIRST""", {"s": sid, "d": day, "w": w}).fetchall()
                assert got == want, (sid, day)
