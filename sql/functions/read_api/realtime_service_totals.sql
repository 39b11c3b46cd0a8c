-- wfm.realtime_service_totals: the exact per-service totals of wfm.api_get_realtime_stats for
-- one service and window, summed over wfm.service_interval_stats (per interval: the
-- service-level row when present, else the sum of the groups). The realtime function reads
-- contact_statistics in one flat pass and calls this only for a service whose window mixes
-- service-level rows with group rows (where the flat sums could count a call twice).
-- Deliberately not inlinable (it has a SET clause): as a function scan, its plan is built and
-- run only when it is called; inlined into the realtime query, the executor would set up the
-- view's aggregation (about 25 aggregates and a hash table) on every call (issue 15, realtime at
-- 50 clients). Internal: no grant.
CREATE OR REPLACE FUNCTION wfm.realtime_service_totals(
    p_service_id integer, p_start_time timestamptz, p_end_time timestamptz)
RETURNS TABLE (
    intervals bigint, last_interval_start timestamptz, unique_incoming bigint, non_unique_incoming bigint,
    talk_time_total bigint, post_processing_time_total bigint, handled_calls bigint, answered_calls bigint,
    answered_within_sl bigint, sl_offered_calls bigint, abandoned_calls bigint, abandon_offered_calls bigint,
    last_loaded_at timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = wfm, pg_catalog, pg_temp
AS $$
    SELECT count(*), max(si.interval_start_time), sum(si.unique_incoming)::bigint, sum(si.non_unique_incoming)::bigint,
           sum(si.talk_time_total)::bigint, sum(si.post_processing_time_total)::bigint, sum(si.handled_calls)::bigint,
           sum(si.answered_calls)::bigint, sum(si.answered_within_sl)::bigint, sum(si.sl_offered_calls)::bigint,
           sum(si.abandoned_calls)::bigint, sum(si.abandon_offered_calls)::bigint, max(si.last_loaded_at)
    FROM wfm.service_interval_stats si
    WHERE si.service_id = p_service_id
      AND si.interval_start_time >= p_start_time
      AND si.interval_start_time <= p_end_time
$$;
COMMENT ON FUNCTION wfm.realtime_service_totals(integer, timestamptz, timestamptz) IS
    'Internal (no argument checks): additive totals of one service over the intervals starting in [p_start_time, p_end_time], from wfm.service_interval_stats; the exact path of api_get_realtime_stats for windows that mix service-level and group rows.';
REVOKE ALL ON FUNCTION wfm.realtime_service_totals(integer, timestamptz, timestamptz) FROM PUBLIC;
