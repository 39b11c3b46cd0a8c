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
CREATE OR REPLACE FUNCTION wfm.calls_by_bucket_rows(
    p_start_time timestamptz, p_end_time timestamptz, p_interval_minutes integer, p_service_ids integer[])
RETURNS TABLE (
    service_id integer, interval_start timestamptz, interval_end timestamptz, local_start timestamp,
    intervals integer, unique_incoming bigint, non_unique_incoming bigint, aht numeric, avg_talk_time numeric,
    avg_post_processing_time numeric, answered_calls bigint, abandoned_calls bigint,
    service_level_pct numeric, abandonment_rate_pct numeric)
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
        CROSS JOIN LATERAL (   -- their UTC span: local midnight to local midnight
            SELECT d0.days,
                   coalesce((SELECT range_agg(tstzrange(lower(r)::timestamp AT TIME ZONE s.time_zone,
                                                        upper(r)::timestamp AT TIME ZONE s.time_zone))
                             FROM unnest(d0.days) AS r), '{}') AS day_span
        ) d
        CROSS JOIN LATERAL (
            SELECT CASE WHEN st.w IS NULL THEN '{}'::tstzmultirange
                        ELSE wfm.whole_hours(wfm.tstz_span(p_start_time, least(p_end_time, st.w)) - d.day_span)
                             - pend.hours
                   END AS hours
        ) h0
        CROSS JOIN LATERAL (   -- local buckets: without the hours that straddle two local hours
            SELECT CASE WHEN p_interval_minutes >= 480 THEN
                        h0.hours - coalesce((
                            SELECT range_agg(tstzrange(x.hour_start, x.hour_start + interval '1 hour'))
                            FROM unnest(h0.hours) AS r
                            JOIN wfm.agg_hourly_stats x
                              ON x.service_id = s.service_id AND x.hour_start >= lower(r) AND x.hour_start < upper(r)
                             AND NOT x.local_hour_aligned), '{}')
                   ELSE h0.hours END AS hours
        ) h
        WHERE s.service_id = ANY (p_service_ids)
    ), parts AS (
        SELECT p.service_id, p.time_zone, x.stat_date::timestamp AT TIME ZONE p.time_zone AS t, x.intervals,
               x.unique_incoming, x.non_unique_incoming, x.talk_time_total, x.post_processing_time_total,
               x.answered_calls, x.abandoned_calls, x.answered_within_sl, x.sl_offered_calls,
               x.abandon_offered_calls
        FROM plan p
        CROSS JOIN LATERAL unnest(p.days) AS r
        JOIN wfm.agg_daily_service_stats x
          ON x.service_id = p.service_id AND x.group_id IS NULL AND x.stat_date >= lower(r) AND x.stat_date < upper(r)
        UNION ALL
        SELECT p.service_id, p.time_zone, x.hour_start, x.intervals,
               x.unique_incoming, x.non_unique_incoming, x.talk_time_total, x.post_processing_time_total,
               x.answered_calls, x.abandoned_calls, x.answered_within_sl, x.sl_offered_calls,
               x.abandon_offered_calls
        FROM plan p
        CROSS JOIN LATERAL unnest(p.hours) AS r
        JOIN wfm.agg_hourly_stats x
          ON x.service_id = p.service_id AND x.hour_start >= lower(r) AND x.hour_start < upper(r)
        UNION ALL
        SELECT p.service_id, p.time_zone, si.interval_start_time, 1,
               si.unique_incoming::bigint, si.non_unique_incoming::bigint, si.talk_time_total::bigint,
               si.post_processing_time_total::bigint, si.answered_calls::bigint, si.abandoned_calls::bigint,
               si.answered_within_sl::bigint, si.sl_offered_calls::bigint, si.abandon_offered_calls::bigint
        FROM plan p
        CROSS JOIN LATERAL unnest(wfm.tstz_span(p_start_time, p_end_time) - p.day_span - p.hours) AS r
        -- a subquery, not a join: the service and bounds then reach the index below the view's GROUP BY
        CROSS JOIN LATERAL (
            SELECT v.* FROM wfm.service_interval_stats v
            WHERE v.service_id = p.service_id
              AND v.interval_start_time >= lower(r) AND v.interval_start_time < upper(r)
        ) si
    )
    SELECT x.service_id,
           b.bucket_start,
           b.bucket_end,
           b.local_start,
           sum(x.intervals)::integer,
           sum(x.unique_incoming)::bigint,
           sum(x.non_unique_incoming)::bigint,
           round((sum(x.talk_time_total) + sum(x.post_processing_time_total))::numeric
                 / nullif(sum(x.non_unique_incoming), 0), 2),
           round(sum(x.talk_time_total)::numeric / nullif(sum(x.non_unique_incoming), 0), 2),
           round(sum(x.post_processing_time_total)::numeric / nullif(sum(x.non_unique_incoming), 0), 2),
           sum(x.answered_calls)::bigint,
           sum(x.abandoned_calls)::bigint,
           round(100 * sum(x.answered_within_sl)::numeric / nullif(sum(x.sl_offered_calls), 0), 2),
           round(100 * sum(x.abandoned_calls)::numeric / nullif(sum(x.abandon_offered_calls), 0), 2)
    FROM parts x
    CROSS JOIN LATERAL (
        SELECT CASE WHEN p_interval_minutes >= 480
                    THEN date_bin(make_interval(mins => p_interval_minutes),
                                  x.t AT TIME ZONE x.time_zone, timestamp '2000-01-01')
                    ELSE date_bin(make_interval(mins => p_interval_minutes),
                                  x.t, timestamptz '2000-01-01 00:00:00+00') AT TIME ZONE x.time_zone
               END AS local_start
    ) l
    CROSS JOIN LATERAL (
        SELECT CASE WHEN p_interval_minutes >= 480 THEN l.local_start AT TIME ZONE x.time_zone
                    ELSE date_bin(make_interval(mins => p_interval_minutes),
                                  x.t, timestamptz '2000-01-01 00:00:00+00') END AS bucket_start,
               CASE WHEN p_interval_minutes >= 480
                    THEN (l.local_start + make_interval(mins => p_interval_minutes)) AT TIME ZONE x.time_zone
                    ELSE date_bin(make_interval(mins => p_interval_minutes),
                                  x.t, timestamptz '2000-01-01 00:00:00+00')
                         + make_interval(mins => p_interval_minutes) END AS bucket_end,
               l.local_start
    ) b
    GROUP BY x.service_id, b.bucket_start, b.bucket_end, b.local_start
    ORDER BY x.service_id, b.bucket_start
$$;
COMMENT ON FUNCTION wfm.calls_by_bucket_rows(timestamptz, timestamptz, integer, integer[]) IS
    'Internal (no argument checks): api_get_calls_by_interval for buckets of 60+ minutes, summed from the daily and hourly aggregates where they are materialized and valid and from raw rows elsewhere; equal to wfm.calls_by_interval_rows.';
REVOKE ALL ON FUNCTION wfm.calls_by_bucket_rows(timestamptz, timestamptz, integer, integer[]) FROM PUBLIC;
