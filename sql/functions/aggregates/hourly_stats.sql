-- requires: functions/aggregates/hourly_rows.sql
-- wfm.hourly_stats: the hourly aggregate, always current ("real-time" aggregate): per service,
-- [p_from, p_to) splits into
--   materialized: whole UTC hours inside the range, before the watermark, without a pending
--                 change -> read from wfm.agg_hourly_stats (index range scans)
--   raw:          everything else (partial hours at the ends, pending changes, after the
--                 watermark) -> aggregated from contact_statistics by wfm.hourly_rows
-- two disjoint multiranges by construction, so every interval is counted exactly once and the
-- result equals aggregating the raw rows. One statement: the watermark, the change log and the
-- table are read in one snapshot.
CREATE OR REPLACE FUNCTION wfm.hourly_stats(p_service_ids integer[], p_from timestamptz, p_to timestamptz)
RETURNS TABLE (
    service_id integer, hour_start timestamptz, intervals integer, source_rows bigint,
    unique_incoming bigint, non_unique_incoming bigint, talk_time_total bigint,
    post_processing_time_total bigint, answered_calls bigint, sl_offered_calls bigint,
    answered_within_sl bigint, abandon_offered_calls bigint, abandoned_calls bigint,
    sl_threshold_seconds integer, last_loaded_at timestamptz, handled_calls bigint)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH parts AS (
        SELECT s.service_id, m.hours,
               wfm.tstz_span(p_from, p_to) - m.hours AS raw
        FROM wfm.services s
        CROSS JOIN (SELECT a.materialized_until AS w FROM wfm.aggregates a
                    WHERE a.view_name = 'wfm.mv_hourly_stats') st
        CROSS JOIN LATERAL (
            SELECT CASE WHEN st.w IS NULL THEN '{}'::tstzmultirange
                        ELSE wfm.tstz_span(date_bin(interval '1 hour', p_from + interval '59 minutes 59.999999 seconds',
                                                    timestamptz '2000-01-01 00:00:00+00'),
                                           least(date_bin(interval '1 hour', p_to, timestamptz '2000-01-01 00:00:00+00'),
                                                 st.w))
                             - coalesce((SELECT range_agg(tstzrange(c.range_start, c.range_end))
                                         FROM wfm.aggregate_changes c
                                         WHERE c.service_id = s.service_id
                                           AND c.range_start < p_to AND c.range_end > p_from), '{}')
                   END AS hours
        ) m
        WHERE p_service_ids IS NULL OR s.service_id = ANY (p_service_ids)
    )
    SELECT h.service_id, h.hour_start, h.intervals, h.source_rows, h.unique_incoming, h.non_unique_incoming,
           h.talk_time_total, h.post_processing_time_total, h.answered_calls, h.sl_offered_calls,
           h.answered_within_sl, h.abandon_offered_calls, h.abandoned_calls, h.sl_threshold_seconds,
           h.last_loaded_at, h.handled_calls
    FROM parts p
    CROSS JOIN LATERAL unnest(p.hours) AS r
    CROSS JOIN LATERAL (   -- per range through the key (OFFSET 0: never a scan of the whole table)
        SELECT a.* FROM wfm.agg_hourly_stats a
        WHERE a.service_id = p.service_id AND a.hour_start >= lower(r) AND a.hour_start < upper(r)
        OFFSET 0
    ) h
    UNION ALL
    SELECT x.service_id, x.hour_start, x.intervals, x.source_rows, x.unique_incoming, x.non_unique_incoming,
           x.talk_time_total, x.post_processing_time_total, x.answered_calls, x.sl_offered_calls,
           x.answered_within_sl, x.abandon_offered_calls, x.abandoned_calls, x.sl_threshold_seconds,
           x.last_loaded_at, x.handled_calls
    FROM parts p
    CROSS JOIN LATERAL unnest(p.raw) AS r
    CROSS JOIN LATERAL wfm.hourly_rows(ARRAY[p.service_id], lower(r), upper(r)) AS x
$$;
COMMENT ON FUNCTION wfm.hourly_stats(integer[], timestamptz, timestamptz) IS
    'Per service (NULL = all) and UTC hour, additive totals of the intervals in [p_from, p_to): from wfm.agg_hourly_stats up to the watermark where nothing is pending, from contact_statistics for the rest. Always current; equal to aggregating the raw rows. Behind wfm.mv_hourly_stats.';
REVOKE ALL ON FUNCTION wfm.hourly_stats(integer[], timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.hourly_stats(integer[], timestamptz, timestamptz) TO wfm_readonly;
