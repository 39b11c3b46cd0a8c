-- wfm.calls_by_quarter_agg_rows: api_get_calls_by_interval for 15-minute buckets when every hour
-- of [p_start_time, p_end_time) is one that the aggregates answer (wfm.aggregated_hours: before the
-- watermark, no pending change of the requested services; the caller checks that it is the whole
-- range). Each row of wfm.agg_quarter_stats (sql/291) is then its bucket as it is: the result equals
-- wfm.calls_by_quarter_rows' and the raw query's (wfm.calls_by_interval_rows).
-- Why (issue 15, day_3_services at 50 clients closed loop, throughput-bound): from the raw rows a
-- day of 3 services is 2,880 index tuples aggregated into 288 intervals, five ratios and a local
-- time computed per interval (~1.45 ms of backend CPU); here it is 288 stored rows read in key
-- order (~0.3 ms). Hours whose service changed its zone are pending until the refresh rewrites
-- them, so a stored local_start is never stale here.
-- Inlinable SQL (STABLE, no SET, not SECURITY DEFINER). Internal: no grant.
-- Session 7: RETURNS TABLE became SETOF wfm.calls_bucket_row, a new result type: DROP first
-- (nothing depends on it in the catalog: api_get_calls_by_interval, plpgsql, calls it from its body).
DROP FUNCTION IF EXISTS wfm.calls_by_quarter_agg_rows(timestamptz, timestamptz, integer[]);
CREATE OR REPLACE FUNCTION wfm.calls_by_quarter_agg_rows(
    p_start_time timestamptz, p_end_time timestamptz, p_service_ids integer[])
RETURNS SETOF wfm.calls_bucket_row   -- the column list, once (sql/298)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT q.service_id, q.interval_start, q.interval_start + interval '15 minutes', q.local_start, 1,
           q.unique_incoming, q.non_unique_incoming,
           q.aht, q.avg_talk_time, q.avg_post_processing_time,   -- stored with the row (generated)
           q.answered_calls, q.abandoned_calls,
           q.service_level_pct, q.abandonment_rate_pct
    FROM wfm.agg_quarter_stats q
    WHERE q.service_id = ANY (p_service_ids)
      AND q.interval_start >= p_start_time AND q.interval_start < p_end_time
    ORDER BY q.service_id, q.interval_start
$$;
COMMENT ON FUNCTION wfm.calls_by_quarter_agg_rows(timestamptz, timestamptz, integer[]) IS
    'Internal (no argument checks): api_get_calls_by_interval for 15-minute buckets over a range whose every hour wfm.agg_quarter_stats answers (wfm.aggregated_hours), one ordered scan; equal to wfm.calls_by_interval_rows there.';
REVOKE ALL ON FUNCTION wfm.calls_by_quarter_agg_rows(timestamptz, timestamptz, integer[]) FROM PUBLIC;
