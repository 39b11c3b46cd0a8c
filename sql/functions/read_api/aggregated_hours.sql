-- requires: functions/aggregates/tstz_span.sql
-- wfm.aggregated_hours: the whole UTC hours of [p_start_time, p_end_time) that
-- wfm.agg_hourly_stats answers for every service in p_service_ids: before its watermark
-- (materialized_until, hour-aligned) and without a pending change of any of those services.
-- The same split as wfm.calls_by_bucket_rows' hours for 60-minute buckets, taken over all the
-- services at once. Inlinable SQL. Internal: no grant.
CREATE OR REPLACE FUNCTION wfm.aggregated_hours(
    p_start_time timestamptz, p_end_time timestamptz, p_service_ids integer[])
RETURNS tstzmultirange
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT coalesce((
        SELECT wfm.tstz_span(date_bin(interval '1 hour', p_start_time + interval '59 minutes 59.999999 seconds',
                                      timestamptz '2000-01-01 00:00:00+00'),
                             least(date_bin(interval '1 hour', p_end_time, timestamptz '2000-01-01 00:00:00+00'),
                                   a.materialized_until))
               - coalesce((SELECT range_agg(tstzrange(c.range_start, c.range_end))
                           FROM wfm.aggregate_changes c
                           WHERE c.service_id = ANY (p_service_ids)
                             AND c.range_start < p_end_time AND c.range_end > p_start_time), '{}')
        FROM wfm.aggregates a
        WHERE a.view_name = 'wfm.mv_hourly_stats' AND a.materialized_until IS NOT NULL), '{}')
$$;
COMMENT ON FUNCTION wfm.aggregated_hours(timestamptz, timestamptz, integer[]) IS
    'Internal: the whole UTC hours of [p_start_time, p_end_time) before the hourly aggregate''s watermark without pending changes of the given services, i.e. answered exactly by wfm.agg_hourly_stats rows.';
REVOKE ALL ON FUNCTION wfm.aggregated_hours(timestamptz, timestamptz, integer[]) FROM PUBLIC;
