-- wfm.api_get_realtime_stats (first defined in sql/052_read_api.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it. Issue 13: averages are per
-- handled call (service_interval_stats.handled_calls: answered where known, else offered).

CREATE OR REPLACE FUNCTION wfm.api_get_realtime_stats(
    p_service_ids integer[],
    p_lookback_minutes integer DEFAULT 60)
RETURNS TABLE (
    service_id integer,
    window_start timestamptz,
    window_end timestamptz,
    intervals integer,
    last_interval_start timestamptz,
    unique_incoming bigint,
    non_unique_incoming bigint,
    aht numeric,
    avg_talk_time numeric,
    avg_post_processing_time numeric,
    answered_calls bigint,
    abandoned_calls bigint,
    service_level_pct numeric,
    abandonment_rate_pct numeric,
    last_loaded_at timestamptz)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan  -- at most one day: one cached plan, pruned at start-up
AS $$
#variable_conflict use_column
DECLARE
    v_ids   integer[];
    v_end   timestamptz := now();
    v_start timestamptz;
BEGIN
    IF p_lookback_minutes IS NULL THEN
        RAISE EXCEPTION 'api_get_realtime_stats: p_lookback_minutes must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF p_lookback_minutes NOT BETWEEN 15 AND 1440 THEN
        RAISE EXCEPTION 'api_get_realtime_stats: p_lookback_minutes = % is outside 15..1440', p_lookback_minutes
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For longer periods use api_get_calls_by_interval.';
    END IF;
    v_ids := wfm.check_service_ids(p_service_ids);
    v_start := v_end - make_interval(mins => p_lookback_minutes);

    RETURN QUERY
    SELECT id,
           v_start,
           v_end,
           coalesce(count(si.interval_start_time), 0)::integer,
           max(si.interval_start_time),
           coalesce(sum(si.unique_incoming), 0)::bigint,
           coalesce(sum(si.non_unique_incoming), 0)::bigint,
           round((sum(si.talk_time_total) + sum(si.post_processing_time_total))::numeric
                 / nullif(sum(si.handled_calls), 0), 2),
           round(sum(si.talk_time_total)::numeric / nullif(sum(si.handled_calls), 0), 2),
           round(sum(si.post_processing_time_total)::numeric / nullif(sum(si.handled_calls), 0), 2),
           sum(si.answered_calls)::bigint,
           sum(si.abandoned_calls)::bigint,
           round(100 * sum(si.answered_within_sl)::numeric / nullif(sum(si.sl_offered_calls), 0), 2),
           round(100 * sum(si.abandoned_calls)::numeric / nullif(sum(si.abandon_offered_calls), 0), 2),
           max(si.last_loaded_at)
    FROM unnest(v_ids) AS id
    -- Filter inside the subquery: the service ids then reach the index (a join condition would
    -- not be pushed below the view's GROUP BY and all services would be aggregated).
    LEFT JOIN (SELECT * FROM wfm.service_interval_stats v
               WHERE v.service_id = ANY (v_ids)
                 AND v.interval_start_time >= v_start
                 AND v.interval_start_time <= v_end) si ON si.service_id = id
    GROUP BY id
    ORDER BY id;
END
$$;
COMMENT ON FUNCTION wfm.api_get_realtime_stats(integer[], integer) IS
    'Per requested service (NULL = all), totals and averages per handled call (answered where known, else offered) of the intervals that started in the last p_lookback_minutes (15..1440); services without data get a row with 0 calls.';
REVOKE ALL ON FUNCTION wfm.api_get_realtime_stats(integer[], integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.api_get_realtime_stats(integer[], integer) TO wfm_api;
