-- Per-agent statistics (issue 13) from wfm.agent_activity, bucketed by the rules of
-- api_get_calls_by_interval: 15..240-minute buckets aligned in absolute time (UTC origin), 480,
-- 720 and 1440-minute buckets on the service's local day (1440 = the local calendar day).
-- Seconds are summed; a state the bucket does not know for every interval (logged-in, ready,
-- not-ready: NULL until agent states arrive) is NULL. Ratios, NULL when not computable:
--   aht          (talk + post-processing) / calls handled
--   occupancy    (talk + post-processing) / (talk + post-processing + ready)
--   utilization  (talk + post-processing) / logged-in
CREATE OR REPLACE FUNCTION wfm.api_get_agent_stats(
    p_start_time timestamptz,
    p_end_time timestamptz,
    p_interval_minutes integer DEFAULT 60,
    p_service_ids integer[] DEFAULT NULL,
    p_agent_codes text[] DEFAULT NULL)
RETURNS TABLE (
    service_id integer,
    agent_code text,
    interval_start timestamptz,
    interval_end timestamptz,
    local_start timestamp,
    talk_seconds bigint,
    post_processing_seconds bigint,
    logged_in_seconds bigint,
    ready_seconds bigint,
    not_ready_seconds bigint,
    calls_handled bigint,
    aht numeric,
    occupancy numeric,
    utilization numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
SET jit = off  -- millisecond calls: compiling costs more than it saves (PG15: 30 ms a call), and benchmarks run without JIT
AS $$
#variable_conflict use_column
DECLARE
    v_ids    integer[];
    v_agents integer[];
BEGIN
    IF p_start_time IS NULL OR p_end_time IS NULL OR p_interval_minutes IS NULL THEN
        RAISE EXCEPTION 'api_get_agent_stats: p_start_time, p_end_time and p_interval_minutes must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF p_interval_minutes <> ALL (ARRAY[15, 30, 60, 120, 240, 480, 720, 1440]) THEN
        RAISE EXCEPTION 'api_get_agent_stats: p_interval_minutes = % is not a supported bucket', p_interval_minutes
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use 15, 30, 60, 120, 240, 480, 720 or 1440.';
    END IF;
    IF p_end_time <= p_start_time THEN
        RAISE EXCEPTION 'api_get_agent_stats: p_end_time (%) must be after p_start_time (%)', p_end_time, p_start_time
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_end_time - p_start_time > interval '400 days' THEN
        RAISE EXCEPTION 'api_get_agent_stats: range % .. % is longer than 400 days', p_start_time, p_end_time
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Query at most 400 days per call.';
    END IF;
    v_ids := wfm.check_service_ids(p_service_ids);
    IF p_agent_codes IS NOT NULL THEN
        IF pg_catalog.array_position(p_agent_codes, NULL) IS NOT NULL THEN
            RAISE EXCEPTION 'p_agent_codes must not contain NULL' USING ERRCODE = 'null_value_not_allowed';
        END IF;
        -- unknown codes simply have no rows (an agent appears with its first handled call)
        v_agents := ARRAY(SELECT a.agent_id FROM wfm.agents a WHERE a.code = ANY (p_agent_codes) ORDER BY a.agent_id);
    END IF;

    RETURN QUERY
    SELECT aa.service_id,
           ag.code,
           b.bucket_start,
           b.bucket_end,
           b.local_start,
           pg_catalog.sum(aa.talk_seconds)::bigint,
           pg_catalog.sum(aa.post_processing_seconds)::bigint,
           CASE WHEN pg_catalog.bool_and(aa.logged_in_seconds IS NOT NULL) THEN pg_catalog.sum(aa.logged_in_seconds) END::bigint,
           CASE WHEN pg_catalog.bool_and(aa.ready_seconds IS NOT NULL) THEN pg_catalog.sum(aa.ready_seconds) END::bigint,
           CASE WHEN pg_catalog.bool_and(aa.not_ready_seconds IS NOT NULL) THEN pg_catalog.sum(aa.not_ready_seconds) END::bigint,
           pg_catalog.sum(aa.calls_handled)::bigint,
           pg_catalog.round((pg_catalog.sum(aa.talk_seconds) + pg_catalog.sum(aa.post_processing_seconds))::numeric
                            / NULLIF(pg_catalog.sum(aa.calls_handled), 0), 2),
           CASE WHEN pg_catalog.bool_and(aa.ready_seconds IS NOT NULL) THEN
                pg_catalog.round((pg_catalog.sum(aa.talk_seconds) + pg_catalog.sum(aa.post_processing_seconds))::numeric
                                 / NULLIF(pg_catalog.sum(aa.talk_seconds) + pg_catalog.sum(aa.post_processing_seconds)
                                          + pg_catalog.sum(aa.ready_seconds), 0), 4) END,
           CASE WHEN pg_catalog.bool_and(aa.logged_in_seconds IS NOT NULL) THEN
                pg_catalog.round((pg_catalog.sum(aa.talk_seconds) + pg_catalog.sum(aa.post_processing_seconds))::numeric
                                 / NULLIF(pg_catalog.sum(aa.logged_in_seconds), 0), 4) END
    FROM wfm.agent_activity aa
    JOIN wfm.services s ON s.service_id = aa.service_id
    JOIN wfm.agents ag ON ag.agent_id = aa.agent_id
    CROSS JOIN LATERAL (
        SELECT CASE WHEN p_interval_minutes >= 480
                    THEN pg_catalog.date_bin(pg_catalog.make_interval(mins => p_interval_minutes),
                                             aa.interval_start_time AT TIME ZONE s.time_zone, timestamp '2000-01-01')
                    ELSE pg_catalog.date_bin(pg_catalog.make_interval(mins => p_interval_minutes),
                                             aa.interval_start_time, timestamptz '2000-01-01 00:00:00+00')
                         AT TIME ZONE s.time_zone
               END AS local_start
    ) l
    CROSS JOIN LATERAL (
        SELECT CASE WHEN p_interval_minutes >= 480 THEN l.local_start AT TIME ZONE s.time_zone
                    ELSE pg_catalog.date_bin(pg_catalog.make_interval(mins => p_interval_minutes),
                                             aa.interval_start_time, timestamptz '2000-01-01 00:00:00+00') END AS bucket_start,
               CASE WHEN p_interval_minutes >= 480
                    THEN (l.local_start + pg_catalog.make_interval(mins => p_interval_minutes)) AT TIME ZONE s.time_zone
                    ELSE pg_catalog.date_bin(pg_catalog.make_interval(mins => p_interval_minutes),
                                             aa.interval_start_time, timestamptz '2000-01-01 00:00:00+00')
                         + pg_catalog.make_interval(mins => p_interval_minutes) END AS bucket_end,
               l.local_start
    ) b
    WHERE aa.interval_start_time >= p_start_time
      AND aa.interval_start_time < p_end_time
      AND aa.service_id = ANY (v_ids)
      AND (v_agents IS NULL OR aa.agent_id = ANY (v_agents))
    GROUP BY aa.service_id, ag.code, b.bucket_start, b.bucket_end, b.local_start
    ORDER BY aa.service_id, ag.code, b.bucket_start;
END
$$;
COMMENT ON FUNCTION wfm.api_get_agent_stats(timestamptz, timestamptz, integer, integer[], text[]) IS
    'Per service, agent and bucket (15/30/60/120/240 minutes UTC-aligned, 480/720/1440 on the service''s local day, as api_get_calls_by_interval) for agent_activity intervals starting in [p_start_time, p_end_time) (at most 400 days): talk, post-processing, logged-in, ready and not-ready seconds (NULL when unknown), calls handled, AHT, occupancy ((talk + post-processing) / (that + ready)) and utilization ((talk + post-processing) / logged-in), NULL when not computable. NULL p_service_ids / p_agent_codes = all.';
REVOKE ALL ON FUNCTION wfm.api_get_agent_stats(timestamptz, timestamptz, integer, integer[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.api_get_agent_stats(timestamptz, timestamptz, integer, integer[], text[]) TO wfm_api;
