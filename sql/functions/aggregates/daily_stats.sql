-- requires: functions/aggregates/daily_rows.sql
-- wfm.daily_stats: the daily aggregate, always current: per service, the local days
-- [p_from_day, p_to_day) split into days read from wfm.agg_daily_service_stats (local date
-- before the watermark's, no pending change) and days aggregated from contact_statistics by
-- wfm.daily_rows (the rest). Disjoint day sets: equal to aggregating the raw rows. One statement.
CREATE OR REPLACE FUNCTION wfm.daily_stats(p_service_ids integer[], p_from_day date, p_to_day date)
RETURNS TABLE (
    service_id integer, group_id integer, stat_date date, intervals integer, source_rows bigint,
    unique_incoming bigint, non_unique_incoming bigint, talk_time_total bigint,
    post_processing_time_total bigint, answered_calls bigint, sl_offered_calls bigint,
    answered_within_sl bigint, abandon_offered_calls bigint, abandoned_calls bigint,
    sl_threshold_seconds integer, peak_interval_start timestamptz, peak_non_unique_incoming bigint,
    last_loaded_at timestamptz, handled_calls bigint)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH parts AS (
        SELECT s.service_id, m.days,
               wfm.date_span(p_from_day, p_to_day) - m.days AS raw
        FROM wfm.services s
        CROSS JOIN (SELECT a.materialized_until AS w FROM wfm.aggregates a
                    WHERE a.view_name = 'wfm.mv_daily_service_stats') st
        CROSS JOIN LATERAL (
            SELECT CASE WHEN st.w IS NULL THEN '{}'::datemultirange
                        ELSE wfm.date_span(p_from_day, least(p_to_day, (st.w AT TIME ZONE s.time_zone)::date))
                             - coalesce((SELECT range_agg(daterange(c.stat_date, c.stat_date, '[]'))
                                         FROM wfm.aggregate_changes c
                                         WHERE c.service_id = s.service_id
                                           AND c.stat_date >= p_from_day AND c.stat_date < p_to_day), '{}')
                   END AS days
        ) m
        WHERE p_service_ids IS NULL OR s.service_id = ANY (p_service_ids)
    )
    SELECT d.service_id, d.group_id, d.stat_date, d.intervals, d.source_rows, d.unique_incoming,
           d.non_unique_incoming, d.talk_time_total, d.post_processing_time_total, d.answered_calls,
           d.sl_offered_calls, d.answered_within_sl, d.abandon_offered_calls, d.abandoned_calls,
           d.sl_threshold_seconds, d.peak_interval_start, d.peak_non_unique_incoming, d.last_loaded_at,
           d.handled_calls
    FROM parts p
    CROSS JOIN LATERAL unnest(p.days) AS r
    CROSS JOIN LATERAL (   -- per range through the key (OFFSET 0: never a scan of the whole table)
        SELECT a.* FROM wfm.agg_daily_service_stats a
        WHERE a.service_id = p.service_id AND a.stat_date >= lower(r) AND a.stat_date < upper(r)
        OFFSET 0
    ) d
    UNION ALL
    SELECT x.service_id, x.group_id, x.stat_date, x.intervals, x.source_rows, x.unique_incoming,
           x.non_unique_incoming, x.talk_time_total, x.post_processing_time_total, x.answered_calls,
           x.sl_offered_calls, x.answered_within_sl, x.abandon_offered_calls, x.abandoned_calls,
           x.sl_threshold_seconds, x.peak_interval_start, x.peak_non_unique_incoming, x.last_loaded_at,
           x.handled_calls
    FROM parts p
    CROSS JOIN LATERAL unnest(p.raw) AS r
    -- the outer bounds (whole days: one day wider than the range on each side) prune partitions at start-up
    CROSS JOIN LATERAL wfm.daily_rows(ARRAY[p.service_id], lower(r), upper(r),
                                      (p_from_day::timestamp - interval '1 day') AT TIME ZONE 'UTC',
                                      (p_to_day::timestamp + interval '1 day') AT TIME ZONE 'UTC') AS x
$$;
COMMENT ON FUNCTION wfm.daily_stats(integer[], date, date) IS
    'Per service (NULL = all; group_id NULL = service total) and group, per local day in [p_from_day, p_to_day): from wfm.agg_daily_service_stats for days materialized and not pending, from contact_statistics for the rest. Always current; equal to aggregating the raw rows. Behind wfm.mv_daily_service_stats and api_get_service_summary.';
REVOKE ALL ON FUNCTION wfm.daily_stats(integer[], date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.daily_stats(integer[], date, date) TO wfm_readonly;
