-- wfm.api_get_service_summary (first defined in sql/052_read_api.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it. Issue 13: averages are per
-- handled call (handled_calls: answered where known, else offered). Issue 15: always current
-- (the daily aggregate where materialized and unchanged, raw rows otherwise); view_refreshed_at
-- is the aggregate's watermark, "materialized up to".

CREATE OR REPLACE FUNCTION wfm.api_get_service_summary(p_service_id integer, p_date date)
RETURNS TABLE (
    service_id integer,
    stat_date date,
    group_id integer,
    group_code text,
    intervals integer,
    unique_incoming bigint,
    non_unique_incoming bigint,
    aht numeric,
    avg_talk_time numeric,
    avg_post_processing_time numeric,
    answered_calls bigint,
    abandoned_calls bigint,
    service_level_pct numeric,
    abandonment_rate_pct numeric,
    peak_interval_start timestamptz,
    peak_non_unique_incoming bigint,
    last_loaded_at timestamptz,
    view_refreshed_at timestamptz)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
-- One cached generic plan per session: planning the query (the raw part spans every partition,
-- pruned at executor start-up) costs far more than running it.
SET plan_cache_mode = force_generic_plan
SET jit = off  -- millisecond calls: compiling costs more than it saves (PG15: 30 ms a call), and benchmarks run without JIT
AS $$
#variable_conflict use_column
BEGIN
    IF p_service_id IS NULL OR p_date IS NULL THEN
        RAISE EXCEPTION 'api_get_service_summary: p_service_id and p_date must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM wfm.check_service_ids(ARRAY[p_service_id], 'p_service_id');

    -- One statement: the day from the daily aggregate when it is materialized and unchanged,
    -- else aggregated from the raw rows (wfm.daily_stats), and the watermark, in one snapshot.
    RETURN QUERY
    SELECT p_service_id,
           p_date,
           d.group_id,
           g.code,
           coalesce(d.intervals, 0),
           coalesce(d.unique_incoming, 0)::bigint,
           coalesce(d.non_unique_incoming, 0)::bigint,
           round((d.talk_time_total + d.post_processing_time_total)::numeric / nullif(d.handled_calls, 0), 2),
           round(d.talk_time_total::numeric / nullif(d.handled_calls, 0), 2),
           round(d.post_processing_time_total::numeric / nullif(d.handled_calls, 0), 2),
           d.answered_calls,
           d.abandoned_calls,
           round(100 * d.answered_within_sl::numeric / nullif(d.sl_offered_calls, 0), 2),
           round(100 * d.abandoned_calls::numeric / nullif(d.abandon_offered_calls, 0), 2),
           d.peak_interval_start,
           d.peak_non_unique_incoming,
           d.last_loaded_at,
           (SELECT a.materialized_until FROM wfm.aggregates a WHERE a.view_name = 'wfm.mv_daily_service_stats')
    FROM (SELECT 1) AS one
    LEFT JOIN wfm.daily_stats(ARRAY[p_service_id], p_date, p_date + 1) d ON true
    LEFT JOIN wfm.groups g ON g.group_id = d.group_id
    ORDER BY d.group_id NULLS FIRST;
END
$$;
COMMENT ON FUNCTION wfm.api_get_service_summary(integer, date) IS
    'The service''s local calendar day p_date from wfm.mv_daily_service_stats: first row the service total (group_id NULL), then one row per group; totals, averages per handled call (answered where known, else offered), SL/abandonment where known, peak 15-minute interval; view_refreshed_at = the aggregate''s watermark (materialized up to). Always current: days not yet materialized or changed since are aggregated from raw rows. A day without data gives one service row with 0 calls.';
REVOKE ALL ON FUNCTION wfm.api_get_service_summary(integer, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.api_get_service_summary(integer, date) TO wfm_api;
