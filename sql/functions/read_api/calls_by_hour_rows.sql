-- wfm.calls_by_hour_rows: api_get_calls_by_interval for 60-minute buckets when every bucket of
-- the range is a whole hour that wfm.agg_hourly_stats answers (p_hours, from
-- wfm.aggregated_hours: before the watermark, no pending change; api_get_calls_by_interval takes
-- this path only when p_hours is its whole range). Each aggregate row is then its bucket, as it
-- is: the result equals wfm.calls_by_bucket_rows' and the raw query's (wfm.calls_by_interval_rows).
-- Why (issue 15, week_hourly_all at 1 client: 7 days x 20 services, 3,360 buckets): the general
-- wfm.calls_by_bucket_rows plans per service and range (nested loops over a CTE), carries the
-- branches of longer and local buckets and raw parts through every row, and sorts its output.
-- Here the rows come from one scan of agg_hourly_stats_key over all requested services, already
-- in (service, hour) order: no sort, no union; the ratios are the row's stored columns
-- (sql/250: computed once, when the refresh writes the hour), and so is the local start (sql/290:
-- before, one `AT TIME ZONE` per row, the zone found by position in an array, ~1 ms a week of 20
-- services). Hours whose service changed its zone are pending (the trigger logs them) until the
-- refresh rewrites them, so p_hours never holds one with a stale local_start.
-- Inlinable SQL (STABLE, no SET, not SECURITY DEFINER). Internal: no grant.
-- Session 7: RETURNS TABLE became SETOF wfm.calls_bucket_row, a new result type: DROP first
-- (nothing depends on it in the catalog: api_get_calls_by_interval, plpgsql, calls it from its body).
DROP FUNCTION IF EXISTS wfm.calls_by_hour_rows(tstzmultirange, integer[]);
CREATE OR REPLACE FUNCTION wfm.calls_by_hour_rows(p_hours tstzmultirange, p_service_ids integer[])
RETURNS SETOF wfm.calls_bucket_row   -- the column list, once (sql/298)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT h.service_id,
           h.hour_start,
           h.hour_start + interval '1 hour',
           h.local_start,   -- stored with the hour (sql/290)
           h.intervals, h.unique_incoming, h.non_unique_incoming,
           -- averages per handled call and percentages: stored with the hour (sql/250)
           h.aht, h.avg_talk_time, h.avg_post_processing_time,
           h.answered_calls, h.abandoned_calls,
           h.service_level_pct, h.abandonment_rate_pct
    FROM wfm.agg_hourly_stats h
    WHERE h.service_id = ANY (p_service_ids)
      AND h.hour_start >= lower(p_hours) AND h.hour_start < upper(p_hours)
      AND h.hour_start <@ p_hours
    ORDER BY h.service_id, h.hour_start
$$;
COMMENT ON FUNCTION wfm.calls_by_hour_rows(tstzmultirange, integer[]) IS
    'Internal (no argument checks): api_get_calls_by_interval for 60-minute buckets over hours that wfm.agg_hourly_stats answers (p_hours from wfm.aggregated_hours), one ordered scan; equal to wfm.calls_by_interval_rows there.';
REVOKE ALL ON FUNCTION wfm.calls_by_hour_rows(tstzmultirange, integer[]) FROM PUBLIC;
