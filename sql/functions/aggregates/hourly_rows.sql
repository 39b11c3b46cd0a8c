-- requires: functions/views/service_interval_stats.sql
-- wfm.hourly_rows: THE definition of an hourly aggregate row (sql/051's mv_hourly_stats): per
-- service and UTC hour, the additive totals of the service's 15-minute series
-- (wfm.service_interval_stats) for intervals in [p_from, p_to). The refresh writes its rows into
-- wfm.agg_hourly_stats; the real-time reads use it for what is not materialized.
--
-- An inlinable SQL function (no SET, not SECURITY DEFINER): called per (service, range) in a
-- LATERAL join, the planner expands it, so the ids and bounds reach the index on
-- (service_id, interval_start_time) and prune partitions. date_bin with an explicit UTC origin
-- (not date_trunc, which follows the session TimeZone) keeps the rows independent of who runs it.
-- local_start (sql/290, last column) is the hour's start in the service's zone, stored so the
-- hourly reads need no time-zone conversion per row. Adding it changed the result type: DROP
-- first (nothing depends on it in the catalog: wfm.hourly_stats and the refresh call it from bodies).
DROP FUNCTION IF EXISTS wfm.hourly_rows(integer[], timestamptz, timestamptz);
CREATE OR REPLACE FUNCTION wfm.hourly_rows(p_service_ids integer[], p_from timestamptz, p_to timestamptz)
RETURNS TABLE (
    service_id integer, hour_start timestamptz, intervals integer, source_rows bigint,
    unique_incoming bigint, non_unique_incoming bigint, talk_time_total bigint,
    post_processing_time_total bigint, answered_calls bigint, sl_offered_calls bigint,
    answered_within_sl bigint, abandon_offered_calls bigint, abandoned_calls bigint,
    sl_threshold_seconds integer, last_loaded_at timestamptz, handled_calls bigint, local_hour_aligned boolean,
    local_start timestamp)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT h.service_id, h.hour_start, h.intervals, h.source_rows, h.unique_incoming, h.non_unique_incoming,
           h.talk_time_total, h.post_processing_time_total, h.answered_calls, h.sl_offered_calls,
           h.answered_within_sl, h.abandon_offered_calls, h.abandoned_calls, h.sl_threshold_seconds,
           h.last_loaded_at, h.handled_calls,
           -- the hour starts on a local whole hour and no offset change happens inside it
           extract(minute FROM h.hour_start AT TIME ZONE s.time_zone) = 0
           AND (h.hour_start + interval '45 minutes') AT TIME ZONE s.time_zone
               = (h.hour_start AT TIME ZONE s.time_zone) + interval '45 minutes',
           h.hour_start AT TIME ZONE s.time_zone
    FROM (
        SELECT si.service_id,
               date_bin(interval '1 hour', si.interval_start_time, timestamptz '2000-01-01 00:00:00+00') AS hour_start,
               count(*)::integer                          AS intervals,
               sum(si.source_rows)::bigint                AS source_rows,
               sum(si.unique_incoming)::bigint            AS unique_incoming,
               sum(si.non_unique_incoming)::bigint        AS non_unique_incoming,
               sum(si.talk_time_total)::bigint            AS talk_time_total,
               sum(si.post_processing_time_total)::bigint AS post_processing_time_total,
               sum(si.answered_calls)::bigint             AS answered_calls,
               sum(si.sl_offered_calls)::bigint           AS sl_offered_calls,
               sum(si.answered_within_sl)::bigint         AS answered_within_sl,
               sum(si.abandon_offered_calls)::bigint      AS abandon_offered_calls,
               sum(si.abandoned_calls)::bigint            AS abandoned_calls,
               max(si.sl_threshold_seconds)               AS sl_threshold_seconds,
               max(si.last_loaded_at)                     AS last_loaded_at,
               sum(si.handled_calls)::bigint              AS handled_calls
        FROM wfm.service_interval_stats si
        WHERE si.service_id = ANY (p_service_ids)
          AND si.interval_start_time >= p_from
          AND si.interval_start_time < p_to
        GROUP BY 1, 2
    ) h
    JOIN wfm.services s ON s.service_id = h.service_id
$$;
COMMENT ON FUNCTION wfm.hourly_rows(integer[], timestamptz, timestamptz) IS
    'Internal: the hourly aggregate rows (per service and UTC hour) of the given services'' intervals in [p_from, p_to), computed from contact_statistics, with the hour''s local start in the service''s zone; what wfm.refresh_aggregates() materializes.';
REVOKE ALL ON FUNCTION wfm.hourly_rows(integer[], timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.hourly_rows(integer[], timestamptz, timestamptz) TO wfm_readonly;
