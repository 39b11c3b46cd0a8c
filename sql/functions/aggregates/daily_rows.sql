-- requires: functions/views/service_interval_stats.sql
-- wfm.daily_rows: THE definition of a daily aggregate row (sql/051's mv_daily_service_stats):
-- per service (group_id NULL: the service's 15-minute series) and per group, per LOCAL calendar
-- day of the service, additive totals and the peak 15-minute interval, for the local days in
-- [p_from_day, p_to_day).
--
-- The scan is bounded in UTC one day wider than the local days on each side (no zone is more
-- than 14 hours off UTC), then filtered on the local date: partition pruning and the index on
-- (service_id, interval_start_time) apply. p_scan_from/p_scan_to bound the scan further: a caller
-- inside a LATERAL join passes its own outer bounds there, so the partitions outside them are
-- pruned when the plan starts (the per-range bounds prune only while it runs); a day cut by them
-- is incomplete, so callers pass bounds that hold whole days or drop the cut days. Two aggregations UNIONed (not one over a UNION of
-- inputs) so each is a hash aggregate. Peak without sorting: arrays compare element by element,
-- so the maximum of [calls, -epoch] is the busiest interval, the earliest one on ties.
DROP FUNCTION IF EXISTS wfm.daily_rows(integer[], date, date, timestamptz);
CREATE OR REPLACE FUNCTION wfm.daily_rows(
    p_service_ids integer[], p_from_day date, p_to_day date,
    p_scan_from timestamptz DEFAULT '-infinity', p_scan_to timestamptz DEFAULT 'infinity')
RETURNS TABLE (
    service_id integer, group_id integer, stat_date date, intervals integer, source_rows bigint,
    unique_incoming bigint, non_unique_incoming bigint, talk_time_total bigint,
    post_processing_time_total bigint, answered_calls bigint, sl_offered_calls bigint,
    answered_within_sl bigint, abandon_offered_calls bigint, abandoned_calls bigint,
    sl_threshold_seconds integer, peak_interval_start timestamptz, peak_non_unique_incoming bigint,
    last_loaded_at timestamptz, handled_calls bigint)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    -- The day filters vanish when the bounds are infinite literals (the full rebuild): the query
    -- is then sql/051's view query, planned as REFRESH planned it (both arms in parallel workers).
    SELECT d.* FROM (
        SELECT x.service_id, NULL::integer AS group_id, x.stat_date,
               count(*)::integer AS intervals,
               sum(x.source_rows)::bigint AS source_rows,
               sum(x.unique_incoming)::bigint AS unique_incoming,
               sum(x.non_unique_incoming)::bigint AS non_unique_incoming,
               sum(x.talk_time_total)::bigint AS talk_time_total,
               sum(x.post_processing_time_total)::bigint AS post_processing_time_total,
               sum(x.answered_calls)::bigint AS answered_calls,
               sum(x.sl_offered_calls)::bigint AS sl_offered_calls,
               sum(x.answered_within_sl)::bigint AS answered_within_sl,
               sum(x.abandon_offered_calls)::bigint AS abandon_offered_calls,
               sum(x.abandoned_calls)::bigint AS abandoned_calls,
               max(x.sl_threshold_seconds) AS sl_threshold_seconds,
               to_timestamp(-(max(ARRAY[x.non_unique_incoming::bigint,
                                        -extract(epoch FROM x.interval_start_time)::bigint]))[2]) AS peak_interval_start,
               max(x.non_unique_incoming)::bigint AS peak_non_unique_incoming,
               max(x.last_loaded_at) AS last_loaded_at,
               sum(x.handled_calls)::bigint AS handled_calls
        FROM (
            SELECT si.*, (si.interval_start_time AT TIME ZONE s.time_zone)::date AS stat_date
            FROM wfm.service_interval_stats si
            JOIN wfm.services s ON s.service_id = si.service_id
            WHERE si.service_id = ANY (p_service_ids)
              AND si.interval_start_time >= (p_from_day::timestamp - interval '1 day') AT TIME ZONE 'UTC'
              AND si.interval_start_time < (p_to_day::timestamp + interval '1 day') AT TIME ZONE 'UTC'
              AND si.interval_start_time >= p_scan_from AND si.interval_start_time < p_scan_to
        ) x
        GROUP BY x.service_id, x.stat_date
    ) d
    WHERE (p_from_day = '-infinity' OR d.stat_date >= p_from_day)
      AND (p_to_day = 'infinity' OR d.stat_date < p_to_day)
    UNION ALL
    SELECT d.* FROM (
        SELECT x.service_id, x.group_id, x.stat_date,
               count(*)::integer,
               count(*)::bigint,
               sum(x.unique_incoming)::bigint,
               sum(x.non_unique_incoming)::bigint,
               sum(x.talk_time_total)::bigint,
               sum(x.post_processing_time_total)::bigint,
               sum(x.answered_calls)::bigint,
               sum(x.non_unique_incoming) FILTER (WHERE x.answered_within_sl IS NOT NULL)::bigint,
               sum(x.answered_within_sl)::bigint,
               sum(x.non_unique_incoming) FILTER (WHERE x.abandoned_calls IS NOT NULL)::bigint,
               sum(x.abandoned_calls)::bigint,
               max(x.sl_threshold_seconds),
               to_timestamp(-(max(ARRAY[x.non_unique_incoming::bigint,
                                        -extract(epoch FROM x.interval_start_time)::bigint]))[2]),
               max(x.non_unique_incoming)::bigint,
               max(x.loaded_at),
               sum(x.handled_calls)::bigint
        FROM (
            SELECT cs.*, (cs.interval_start_time AT TIME ZONE s.time_zone)::date AS stat_date
            FROM wfm.contact_statistics cs
            JOIN wfm.services s ON s.service_id = cs.service_id
            WHERE cs.group_id IS NOT NULL
              AND cs.service_id = ANY (p_service_ids)
              AND cs.interval_start_time >= (p_from_day::timestamp - interval '1 day') AT TIME ZONE 'UTC'
              AND cs.interval_start_time < (p_to_day::timestamp + interval '1 day') AT TIME ZONE 'UTC'
              AND cs.interval_start_time >= p_scan_from AND cs.interval_start_time < p_scan_to
        ) x
        GROUP BY x.service_id, x.group_id, x.stat_date
    ) d
    WHERE (p_from_day = '-infinity' OR d.stat_date >= p_from_day)
      AND (p_to_day = 'infinity' OR d.stat_date < p_to_day)
$$;
COMMENT ON FUNCTION wfm.daily_rows(integer[], date, date, timestamptz, timestamptz) IS
    'Internal: the daily aggregate rows (service total with group_id NULL, then per group) of the given services'' local days in [p_from_day, p_to_day) (reading only intervals in [p_scan_from, p_scan_to)), computed from contact_statistics; what wfm.refresh_aggregates() materializes.';
REVOKE ALL ON FUNCTION wfm.daily_rows(integer[], date, date, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.daily_rows(integer[], date, date, timestamptz, timestamptz) TO wfm_readonly;
