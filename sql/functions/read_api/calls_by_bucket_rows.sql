-- requires: functions/read_api/rounded_ratio.sql
-- wfm.calls_by_bucket_rows: api_get_calls_by_interval for buckets of 60 minutes and more, from
-- the aggregates where they are valid and from raw rows elsewhere, with exactly the result of
-- the raw query (wfm.calls_by_interval_rows). Per service, [p_start_time, p_end_time) splits into
-- three disjoint multiranges:
--   days   whole local days inside the range (1440-minute buckets only), local date before the
--          watermark's, no pending change -> wfm.agg_daily_service_stats (service totals)
--   hours  whole UTC hours inside the rest, before the watermark, no pending change, and for
--          local buckets (480+ minutes) only hours that fall into one local hour
--          -> wfm.agg_hourly_stats
--   raw    the remainder (partial days/hours at the ends, pending changes, after the watermark,
--          +05:30 hours for local buckets) -> wfm.service_interval_stats, index range scans
-- Each part yields (service, instant, additive totals); the bucket of a day row (its local
-- midnight), an hour row (local buckets: its hour lies in one local hour) and an interval is
-- the bucket of each of its intervals, so summing the parts per bucket is exact. One statement:
-- the watermark, change log and tables come from one snapshot. Internal: no grant.
-- Issue 15 (week hourly at 1 client): the parts that are whole buckets (an hour row for 60
-- minutes, a day row for 1440) are read once and passed through, not first materialized in a
-- CTE with every other part and scanned twice; the ratios use wfm.rounded_ratio. Backend CPU
-- for 7 days x 20 services hourly on the benchmark data: 10.6 ms -> 9.0 ms a call.
-- Session 7: RETURNS TABLE became SETOF wfm.calls_bucket_row, a new result type: DROP first
-- (nothing depends on it in the catalog: api_get_calls_by_interval, plpgsql, calls it from its body).
DROP FUNCTION IF EXISTS wfm.calls_by_bucket_rows(timestamptz, timestamptz, integer, integer[]);
CREATE OR REPLACE FUNCTION wfm.calls_by_bucket_rows(
    p_start_time timestamptz, p_end_time timestamptz, p_interval_minutes integer, p_service_ids integer[])
RETURNS SETOF wfm.calls_bucket_row   -- the column list, once (sql/298)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH st AS (
        SELECT a.materialized_until AS w FROM wfm.aggregates a WHERE a.view_name = 'wfm.mv_hourly_stats'
    ), plan AS (
        SELECT s.service_id, s.time_zone, d.days, d.day_span, h.hours
        FROM wfm.services s
        CROSS JOIN st
        CROSS JOIN LATERAL (   -- this service's pending changes that touch the range
            SELECT coalesce(range_agg(tstzrange(c.range_start, c.range_end)), '{}') AS hours,
                   coalesce(range_agg(daterange(c.stat_date, c.stat_date, '[]')), '{}') AS days
            FROM wfm.aggregate_changes c
            WHERE c.service_id = s.service_id AND c.range_start < p_end_time AND c.range_end > p_start_time
        ) pend
        CROSS JOIN LATERAL (   -- local days wholly inside the range: from the first local midnight at or after the start
            SELECT CASE WHEN p_interval_minutes = 1440 AND st.w IS NOT NULL THEN
                        wfm.date_span(
                            (p_start_time AT TIME ZONE s.time_zone)::date
                            + CASE WHEN ((p_start_time AT TIME ZONE s.time_zone)::date)::timestamp AT TIME ZONE s.time_zone
                                        >= p_start_time THEN 0 ELSE 1 END,
                            least((p_end_time AT TIME ZONE s.time_zone)::date, (st.w AT TIME ZONE s.time_zone)::date))
                        - pend.days
                   ELSE '{}'::datemultirange END AS days
        ) d0
        CROSS JOIN LATERAL (   -- their UTC span (local midnight to local midnight), and that span widened to whole hours
            SELECT d0.days,
                   coalesce(range_agg(tstzrange(m.lo, m.hi)), '{}') AS day_span,
                   coalesce(range_agg(tstzrange(date_bin(interval '1 hour', m.lo, timestamptz '2000-01-01 00:00:00+00'),
                                                date_bin(interval '1 hour', m.hi + interval '59 minutes 59.999999 seconds',
                                                         timestamptz '2000-01-01 00:00:00+00'))), '{}') AS day_hours
            FROM unnest(d0.days) AS r
            CROSS JOIN LATERAL (SELECT lower(r)::timestamp AT TIME ZONE s.time_zone AS lo,
                                       upper(r)::timestamp AT TIME ZONE s.time_zone AS hi) m
        ) d
        CROSS JOIN LATERAL (   -- whole UTC hours in the range before the watermark, outside those days and pending changes
            SELECT CASE WHEN st.w IS NULL THEN '{}'::tstzmultirange
                        ELSE wfm.tstz_span(date_bin(interval '1 hour', p_start_time + interval '59 minutes 59.999999 seconds',
                                                    timestamptz '2000-01-01 00:00:00+00'),
                                           least(date_bin(interval '1 hour', p_end_time, timestamptz '2000-01-01 00:00:00+00'),
                                                 st.w))
                             - d.day_hours - pend.hours
                   END AS hours
        ) h0
        CROSS JOIN LATERAL (   -- local buckets: without the hours that straddle two local hours
            SELECT CASE WHEN p_interval_minutes >= 480 THEN
                        h0.hours - coalesce((
                            SELECT range_agg(tstzrange(x.hour_start, x.hour_start + interval '1 hour'))
                            FROM unnest(h0.hours) AS r
                            CROSS JOIN LATERAL (   -- the partial index of such hours, per range
                                SELECT a.hour_start FROM wfm.agg_hourly_stats a
                                WHERE a.service_id = s.service_id AND NOT a.local_hour_aligned
                                  AND a.hour_start >= lower(r) AND a.hour_start < upper(r)
                                OFFSET 0) x), '{}')
                   ELSE h0.hours END AS hours
        ) h
        WHERE s.service_id = ANY (p_service_ids)
    ), whole AS (   -- parts that are a whole bucket by themselves: a day row for 1440 minutes, an hour row
                    -- for 60 (disjoint from every other part's buckets), passed through as they are
        SELECT p.service_id, p.time_zone, NULL::timestamptz AS utc_key,
               date_bin(make_interval(mins => p_interval_minutes),
                        (x.stat_date::timestamp AT TIME ZONE p.time_zone) AT TIME ZONE p.time_zone,
                        timestamp '2000-01-01') AS local_key,
               x.intervals, x.unique_incoming, x.non_unique_incoming, x.talk_time_total,
               x.post_processing_time_total, x.answered_calls, x.abandoned_calls, x.answered_within_sl,
               x.sl_offered_calls, x.abandon_offered_calls, x.handled_calls
        FROM plan p
        CROSS JOIN LATERAL unnest(p.days) AS r
        CROSS JOIN LATERAL (   -- per range, through the unique key (the one-time filter skips it for other buckets)
            SELECT d.* FROM wfm.agg_daily_service_stats d
            WHERE d.service_id = p.service_id AND d.group_id IS NULL
              AND d.stat_date >= lower(r) AND d.stat_date < upper(r)
            OFFSET 0
        ) x
        WHERE p_interval_minutes = 1440
        UNION ALL
        SELECT p.service_id, p.time_zone, x.hour_start, NULL::timestamp,
               x.intervals, x.unique_incoming, x.non_unique_incoming, x.talk_time_total,
               x.post_processing_time_total, x.answered_calls, x.abandoned_calls, x.answered_within_sl,
               x.sl_offered_calls, x.abandon_offered_calls, x.handled_calls
        FROM plan p
        CROSS JOIN LATERAL unnest(p.hours) AS r
        CROSS JOIN LATERAL (
            SELECT h.* FROM wfm.agg_hourly_stats h
            WHERE h.service_id = p.service_id AND h.hour_start >= lower(r) AND h.hour_start < upper(r)
            OFFSET 0
        ) x
        WHERE p_interval_minutes = 60
    ), parts AS (   -- the rest: hour rows inside longer buckets and raw intervals, summed per bucket below
        SELECT p.service_id, p.time_zone, x.hour_start AS t, x.intervals,
               x.unique_incoming, x.non_unique_incoming, x.talk_time_total, x.post_processing_time_total,
               x.answered_calls, x.abandoned_calls, x.answered_within_sl, x.sl_offered_calls,
               x.abandon_offered_calls, x.handled_calls
        FROM plan p
        CROSS JOIN LATERAL unnest(p.hours) AS r
        CROSS JOIN LATERAL (
            SELECT h.* FROM wfm.agg_hourly_stats h
            WHERE h.service_id = p.service_id AND h.hour_start >= lower(r) AND h.hour_start < upper(r)
            OFFSET 0
        ) x
        WHERE p_interval_minutes <> 60
        UNION ALL
        SELECT p.service_id, p.time_zone, si.interval_start_time, 1,
               si.unique_incoming::bigint, si.non_unique_incoming::bigint, si.talk_time_total::bigint,
               si.post_processing_time_total::bigint, si.answered_calls::bigint, si.abandoned_calls::bigint,
               si.answered_within_sl::bigint, si.sl_offered_calls::bigint, si.abandon_offered_calls::bigint,
               si.handled_calls::bigint
        FROM plan p
        CROSS JOIN LATERAL unnest(wfm.tstz_span(p_start_time, p_end_time) - p.day_span - p.hours) AS r
        -- a subquery kept apart (OFFSET 0), not a join: the service and bounds then reach the index
        -- below the view's GROUP BY, per range, instead of the whole table being aggregated first
        CROSS JOIN LATERAL (
            SELECT v.* FROM wfm.service_interval_stats v
            WHERE v.service_id = p.service_id
              AND v.interval_start_time >= lower(r) AND v.interval_start_time < upper(r)
              -- the query's own bounds too: they prune partitions when the plan starts
              AND v.interval_start_time >= p_start_time AND v.interval_start_time < p_end_time
            OFFSET 0
        ) si
    ), summed AS (   -- per bucket: UTC buckets by their start, local ones by their local start
        SELECT k.service_id, k.time_zone, k.utc_key, k.local_key,
               sum(k.intervals)::integer AS intervals,
               sum(k.unique_incoming)::bigint AS unique_incoming,
               sum(k.non_unique_incoming)::bigint AS non_unique_incoming,
               sum(k.talk_time_total)::bigint AS talk_time_total,
               sum(k.post_processing_time_total)::bigint AS post_processing_time_total,
               sum(k.answered_calls)::bigint AS answered_calls,
               sum(k.abandoned_calls)::bigint AS abandoned_calls,
               sum(k.answered_within_sl)::bigint AS answered_within_sl,
               sum(k.sl_offered_calls)::bigint AS sl_offered_calls,
               sum(k.abandon_offered_calls)::bigint AS abandon_offered_calls,
               sum(k.handled_calls)::bigint AS handled_calls
        FROM (
            SELECT x.*,
                   CASE WHEN p_interval_minutes < 480
                        THEN date_bin(make_interval(mins => p_interval_minutes), x.t, timestamptz '2000-01-01 00:00:00+00')
                   END AS utc_key,
                   CASE WHEN p_interval_minutes >= 480
                        THEN date_bin(make_interval(mins => p_interval_minutes), x.t AT TIME ZONE x.time_zone,
                                      timestamp '2000-01-01')
                   END AS local_key
            FROM parts x
        ) k
        GROUP BY k.service_id, k.utc_key, k.local_key, k.time_zone
    )
    -- The other two bucket columns are derived once per bucket.
    SELECT g.service_id,
           coalesce(g.utc_key, g.local_key AT TIME ZONE g.time_zone),
           CASE WHEN g.utc_key IS NOT NULL THEN g.utc_key + make_interval(mins => p_interval_minutes)
                ELSE (g.local_key + make_interval(mins => p_interval_minutes)) AT TIME ZONE g.time_zone END,
           coalesce(g.local_key, g.utc_key AT TIME ZONE g.time_zone),
           g.intervals, g.unique_incoming, g.non_unique_incoming,
           -- averages per handled call (answered where known, else offered: issue 13)
           wfm.rounded_ratio(g.talk_time_total + g.post_processing_time_total, g.handled_calls),
           wfm.rounded_ratio(g.talk_time_total, g.handled_calls),
           wfm.rounded_ratio(g.post_processing_time_total, g.handled_calls),
           g.answered_calls, g.abandoned_calls,
           wfm.rounded_ratio(g.answered_within_sl, g.sl_offered_calls, 100),
           wfm.rounded_ratio(g.abandoned_calls, g.abandon_offered_calls, 100)
    FROM (
        SELECT w.service_id, w.time_zone, w.utc_key, w.local_key, w.intervals, w.unique_incoming,
               w.non_unique_incoming, w.talk_time_total, w.post_processing_time_total, w.answered_calls,
               w.abandoned_calls, w.answered_within_sl, w.sl_offered_calls, w.abandon_offered_calls,
               w.handled_calls
        FROM whole w
        UNION ALL
        SELECT s.service_id, s.time_zone, s.utc_key, s.local_key, s.intervals, s.unique_incoming,
               s.non_unique_incoming, s.talk_time_total, s.post_processing_time_total, s.answered_calls,
               s.abandoned_calls, s.answered_within_sl, s.sl_offered_calls, s.abandon_offered_calls,
               s.handled_calls
        FROM summed s
    ) g
    -- the bucket order (a local bucket's start orders as its local start: DST shifts are shorter
    -- than the buckets)
    ORDER BY g.service_id, g.utc_key, g.local_key
$$;
COMMENT ON FUNCTION wfm.calls_by_bucket_rows(timestamptz, timestamptz, integer, integer[]) IS
    'Internal (no argument checks): api_get_calls_by_interval for buckets of 60+ minutes, summed from the daily and hourly aggregates where they are materialized and valid and from raw rows elsewhere; equal to wfm.calls_by_interval_rows.';
REVOKE ALL ON FUNCTION wfm.calls_by_bucket_rows(timestamptz, timestamptz, integer, integer[]) FROM PUBLIC;
