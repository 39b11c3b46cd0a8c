-- requires: functions/views/service_interval_stats.sql
-- wfm.quarter_rows: THE definition of a row of wfm.agg_quarter_stats (sql/291): per service and
-- 15-minute interval in [p_from, p_to), wfm.service_interval_stats' additive totals (the
-- service-level row when present, else the sum of the groups) and the interval's start in the
-- service's time zone. The refresh writes its rows; the table's generated columns add the ratios.
-- Inlinable SQL (no SET, not SECURITY DEFINER): called per (service, range) in a LATERAL join,
-- the ids and bounds reach the index and prune partitions.
CREATE OR REPLACE FUNCTION wfm.quarter_rows(p_service_ids integer[], p_from timestamptz, p_to timestamptz)
RETURNS TABLE (
    service_id integer, interval_start timestamptz, local_start timestamp,
    unique_incoming bigint, non_unique_incoming bigint, talk_time_total bigint, post_processing_time_total bigint,
    handled_calls bigint, answered_calls bigint, answered_within_sl bigint, sl_offered_calls bigint,
    abandoned_calls bigint, abandon_offered_calls bigint)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT si.service_id, si.interval_start_time, si.interval_start_time AT TIME ZONE s.time_zone,
           si.unique_incoming::bigint, si.non_unique_incoming::bigint, si.talk_time_total::bigint,
           si.post_processing_time_total::bigint, si.handled_calls::bigint, si.answered_calls::bigint,
           si.answered_within_sl::bigint, si.sl_offered_calls::bigint, si.abandoned_calls::bigint,
           si.abandon_offered_calls::bigint
    FROM (   -- kept apart (OFFSET 0), so that the ids and bounds, when they come from a LATERAL
             -- join's outer row, still reach the view's scan below its GROUP BY (per range, index)
             -- instead of becoming a join filter over the whole table's aggregation
        SELECT v.* FROM wfm.service_interval_stats v
        WHERE v.service_id = ANY (p_service_ids)
          AND v.interval_start_time >= p_from
          AND v.interval_start_time < p_to
        OFFSET 0
    ) si
    JOIN wfm.services s ON s.service_id = si.service_id
$$;
COMMENT ON FUNCTION wfm.quarter_rows(integer[], timestamptz, timestamptz) IS
    'Internal: the rows of wfm.agg_quarter_stats (per service and 15-minute interval: wfm.service_interval_stats'' totals and the local start) of the given services'' intervals in [p_from, p_to), computed from contact_statistics; what wfm.refresh_aggregates() materializes.';
REVOKE ALL ON FUNCTION wfm.quarter_rows(integer[], timestamptz, timestamptz) FROM PUBLIC;
