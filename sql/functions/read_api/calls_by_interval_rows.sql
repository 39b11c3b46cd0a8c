-- wfm.calls_by_interval_rows (first defined in sql/052_read_api.sql).
-- The bucketed query itself, as an inlinable SQL function (STABLE, not SECURITY DEFINER, no
-- SET): the planner expands it into the caller's query, so partition pruning and the index on
-- (service_id, interval_start_time) apply to the caller's arguments. Internal: no grant.
-- Issue 13: averages are per handled call (answered where known, else offered); service level
-- and abandonment stay over offered calls.
-- Session 7: RETURNS TABLE became SETOF wfm.calls_bucket_row, a new result type: DROP first
-- (nothing depends on it in the catalog: api_get_calls_by_interval, plpgsql, calls it from its body).
DROP FUNCTION IF EXISTS wfm.calls_by_interval_rows(timestamptz, timestamptz, integer, integer[]);
CREATE OR REPLACE FUNCTION wfm.calls_by_interval_rows(
    p_start_time timestamptz, p_end_time timestamptz, p_interval_minutes integer, p_service_ids integer[])
RETURNS SETOF wfm.calls_bucket_row   -- the column list, once (sql/298)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT si.service_id,
           b.bucket_start,
           b.bucket_end,
           b.local_start,
           count(*)::integer,
           sum(si.unique_incoming)::bigint,
           sum(si.non_unique_incoming)::bigint,
           -- averages per handled call (answered where known, else offered: issue 13)
           round((sum(si.talk_time_total) + sum(si.post_processing_time_total))::numeric
                 / nullif(sum(si.handled_calls), 0), 2),
           round(sum(si.talk_time_total)::numeric / nullif(sum(si.handled_calls), 0), 2),
           round(sum(si.post_processing_time_total)::numeric / nullif(sum(si.handled_calls), 0), 2),
           sum(si.answered_calls)::bigint,
           sum(si.abandoned_calls)::bigint,
           round(100 * sum(si.answered_within_sl)::numeric / nullif(sum(si.sl_offered_calls), 0), 2),
           round(100 * sum(si.abandoned_calls)::numeric / nullif(sum(si.abandon_offered_calls), 0), 2)
    FROM wfm.service_interval_stats si
    JOIN wfm.services s ON s.service_id = si.service_id
    CROSS JOIN LATERAL (
        SELECT CASE WHEN p_interval_minutes >= 480
                    THEN date_bin(make_interval(mins => p_interval_minutes),
                                  si.interval_start_time AT TIME ZONE s.time_zone, timestamp '2000-01-01')
                    ELSE date_bin(make_interval(mins => p_interval_minutes),
                                  si.interval_start_time, timestamptz '2000-01-01 00:00:00+00') AT TIME ZONE s.time_zone
               END AS local_start
    ) l
    CROSS JOIN LATERAL (
        SELECT CASE WHEN p_interval_minutes >= 480 THEN l.local_start AT TIME ZONE s.time_zone
                    ELSE date_bin(make_interval(mins => p_interval_minutes),
                                  si.interval_start_time, timestamptz '2000-01-01 00:00:00+00') END AS bucket_start,
               CASE WHEN p_interval_minutes >= 480
                    THEN (l.local_start + make_interval(mins => p_interval_minutes)) AT TIME ZONE s.time_zone
                    ELSE date_bin(make_interval(mins => p_interval_minutes),
                                  si.interval_start_time, timestamptz '2000-01-01 00:00:00+00')
                         + make_interval(mins => p_interval_minutes) END AS bucket_end,
               l.local_start
    ) b
    WHERE si.interval_start_time >= p_start_time
      AND si.interval_start_time < p_end_time
      AND si.service_id = ANY (p_service_ids)
    GROUP BY si.service_id, b.bucket_start, b.bucket_end, b.local_start
    ORDER BY si.service_id, b.bucket_start
$$;
COMMENT ON FUNCTION wfm.calls_by_interval_rows(timestamptz, timestamptz, integer, integer[]) IS
    'Internal (no argument checks): the bucketed query of api_get_calls_by_interval, inlined into its caller.';
REVOKE ALL ON FUNCTION wfm.calls_by_interval_rows(timestamptz, timestamptz, integer, integer[]) FROM PUBLIC;
