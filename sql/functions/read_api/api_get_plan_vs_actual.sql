-- Plan versus actual (issue 14): did we staff what the forecast asked, and what did it cost in
-- service level? One service, per bucket of [p_start_time, p_end_time):
--   forecast        the latest forecast run of the service (group NULL) made before the bucket
--                   began: calls, AHT, required and scheduled agents (wfm.forecasts)
--   actual          calls offered, AHT (per handled call) and service level (answered within
--                   the threshold / offered) from wfm.service_interval_stats
--   agents          staffed (logged-in seconds / 900) and available ((logged-in - not-ready) /
--                   900) from wfm.agent_interval_stats, occupancy and shrinkage observed
--   predicted SL    per 15-minute interval, what Erlang C (Erlang A when the service has a
--                   patience figure) predicts for the agents actually available with the actual
--                   arrival rate and AHT (wfm.predicted_service_level); a bucket's is the
--                   call-weighted mean of its intervals'. The rate and AHT are those of the actual
--                   calls of the interval and its two neighbours (a centred 45 minutes): one
--                   interval's count is a noisy estimate of the rate, and Erlang's formula is so
--                   steep near capacity that plugging it in biases the prediction low (5-10 points
--                   per day on simulated days: wfm_pipeline_tests/test_plan_vs_actual.py)
--   understaffed    15-minute intervals whose available agents fall short of the required by
--                   more than the service's understaffing_tolerance
-- Buckets: 15, 30, 60, 120, 240 minutes aligned in absolute time (UTC origin) or 1440 = the
-- service's local calendar day (92..100 intervals on daylight-saving days). Agent levels
-- (required, scheduled, staffed, available) are bucket averages over its 15-minute intervals;
-- counts are sums; ratios divide sums. Every 15-minute interval of the range has a row in its
-- bucket, with or without data (NULL where nothing is known).
-- Plans: the query is planned once per session (force_generic_plan; partitions pruned when it
-- starts). A custom plan per call spent more time planning than running (about 4 of 7 ms for a
-- day over the views' partitioned tables); the generic plan is as fast for ranges up to the
-- 100-day limit (docs/benchmarks.md, agent-state benchmark).
CREATE OR REPLACE FUNCTION wfm.api_get_plan_vs_actual(
    p_service_id integer,
    p_start_time timestamptz,
    p_end_time timestamptz,
    p_interval_minutes integer DEFAULT 15)
RETURNS TABLE (
    interval_start timestamptz,
    interval_end timestamptz,
    local_start timestamp,
    forecast_calls numeric,
    actual_calls bigint,
    forecast_aht numeric,
    actual_aht numeric,
    required_agents numeric,
    scheduled_agents numeric,
    staffed_agents numeric,
    available_agents numeric,
    staffing_gap numeric,
    understaffed_intervals integer,
    service_level_target numeric,
    service_level_actual numeric,
    service_level_predicted numeric,
    predicted_model text,
    occupancy numeric,
    shrinkage numeric)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
SET jit = off  -- millisecond calls: compiling costs more than it saves (PG15: 30 ms a call), and benchmarks run without JIT
AS $$
#variable_conflict use_column
DECLARE
    v_zone      text;
    v_target    numeric;
    v_threshold integer;
    v_patience  numeric;
    v_tolerance numeric;
    v_first     timestamptz;
BEGIN
    IF p_service_id IS NULL OR p_start_time IS NULL OR p_end_time IS NULL OR p_interval_minutes IS NULL THEN
        RAISE EXCEPTION 'api_get_plan_vs_actual: p_service_id, p_start_time, p_end_time and p_interval_minutes must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF p_interval_minutes <> ALL (ARRAY[15, 30, 60, 120, 240, 1440]) THEN
        RAISE EXCEPTION 'api_get_plan_vs_actual: p_interval_minutes = % is not a supported bucket', p_interval_minutes
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use 15, 30, 60, 120, 240 or 1440 (the local day).';
    END IF;
    IF p_end_time <= p_start_time THEN
        RAISE EXCEPTION 'api_get_plan_vs_actual: p_end_time (%) must be after p_start_time (%)', p_end_time, p_start_time
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_end_time - p_start_time > interval '100 days' THEN
        RAISE EXCEPTION 'api_get_plan_vs_actual: range % .. % is longer than 100 days', p_start_time, p_end_time
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Query at most 100 days per call.';
    END IF;
    SELECT s.time_zone, s.service_level_target, s.sl_threshold_seconds, s.patience_seconds, s.understaffing_tolerance
    INTO v_zone, v_target, v_threshold, v_patience, v_tolerance
    FROM wfm.services s WHERE s.service_id = p_service_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown service_id %', p_service_id
            USING ERRCODE = 'invalid_parameter_value', HINT = 'See wfm.services (wfm services list).';
    END IF;
    -- the first 15-minute interval starting in the range
    v_first := pg_catalog.date_bin('15 minutes', p_start_time, timestamptz '2000-01-01 00:00+00');
    IF v_first < p_start_time THEN
        v_first := v_first + interval '15 minutes';
    END IF;

    RETURN QUERY
    WITH ivs AS MATERIALIZED (
        SELECT g.iv,
               CASE WHEN p_interval_minutes = 1440
                    THEN pg_catalog.date_trunc('day', g.iv AT TIME ZONE v_zone) AT TIME ZONE v_zone
                    ELSE pg_catalog.date_bin(pg_catalog.make_interval(mins => p_interval_minutes), g.iv,
                                             timestamptz '2000-01-01 00:00+00') END AS bucket
        FROM pg_catalog.generate_series(v_first, p_end_time - interval '1 microsecond', interval '15 minutes') AS g(iv)
    ), actual AS MATERIALIZED (
        -- (one interval more on either side: the neighbours of the rate estimate)
        SELECT si.interval_start_time AS iv, si.non_unique_incoming, si.handled_calls,
               si.talk_time_total + si.post_processing_time_total AS handling_seconds,
               si.sl_offered_calls, si.answered_within_sl
        FROM wfm.service_interval_stats si
        WHERE si.service_id = p_service_id AND si.interval_start_time >= v_first - interval '15 minutes'
          AND si.interval_start_time < p_end_time + interval '15 minutes'
    ), rates AS (
        -- the centred 45 minutes of every interval of the range: calls per interval and AHT
        SELECT g.iv,
               pg_catalog.sum(coalesce(a.non_unique_incoming, 0)) OVER w / 3.0 AS calls_rate,
               pg_catalog.sum(a.handling_seconds) OVER w / NULLIF(pg_catalog.sum(a.handled_calls) OVER w, 0) AS aht_rate
        FROM pg_catalog.generate_series(v_first - interval '15 minutes', p_end_time + interval '15 minutes' - interval '1 microsecond',
                                        interval '15 minutes') AS g(iv)
        LEFT JOIN actual a ON a.iv = g.iv
        WINDOW w AS (ORDER BY g.iv ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING)
    ), agents AS MATERIALIZED (
        SELECT a.interval_start_time AS iv, a.logged_in_seconds, a.not_ready_seconds, a.ready_seconds,
               a.handling_seconds_with_states
        FROM wfm.agent_interval_stats a
        WHERE a.service_id = p_service_id AND a.interval_start_time >= v_first AND a.interval_start_time < p_end_time
    ), runs AS MATERIALIZED (
        SELECT r.forecast_run_id, r.created_at
        FROM wfm.forecast_runs r
        WHERE r.service_id = p_service_id AND r.group_id IS NULL AND r.created_at < p_end_time
          AND r.horizon_end > v_first
    ), joined AS (
        SELECT i.iv, i.bucket, f.calls AS f_calls, f.aht AS f_aht, f.required_agents AS f_required,
               f.scheduled_agents AS f_scheduled, rt.calls_rate, rt.aht_rate,
               ac.non_unique_incoming, ac.handled_calls, ac.handling_seconds, ac.sl_offered_calls,
               ac.answered_within_sl,
               ag.logged_in_seconds, ag.not_ready_seconds, ag.ready_seconds, ag.handling_seconds_with_states,
               (ag.logged_in_seconds - ag.not_ready_seconds) / 900.0 AS available
        FROM ivs i
        LEFT JOIN actual ac ON ac.iv = i.iv
        LEFT JOIN rates rt ON rt.iv = i.iv
        LEFT JOIN agents ag ON ag.iv = i.iv
        LEFT JOIN LATERAL (
            -- the latest run made before the bucket began that forecasts this interval
            SELECT fc.calls, fc.aht, fc.required_agents, fc.scheduled_agents
            FROM runs r
            JOIN wfm.forecasts fc ON fc.forecast_run_id = r.forecast_run_id AND fc.interval_start_time = i.iv
            WHERE r.created_at <= i.bucket
            ORDER BY r.created_at DESC, r.forecast_run_id DESC
            LIMIT 1) f ON true
    ), predicted AS (
        SELECT j.*,
               CASE WHEN j.non_unique_incoming > 0 THEN
                   wfm.predicted_service_level(j.available::double precision, j.calls_rate::double precision,
                                               j.aht_rate::double precision, 900.0, v_threshold::double precision,
                                               v_patience::double precision) END AS p_sl
        FROM joined j
    )
    SELECT p.bucket,
           CASE WHEN p_interval_minutes = 1440
                THEN ((p.bucket AT TIME ZONE v_zone) + interval '1 day') AT TIME ZONE v_zone
                ELSE p.bucket + pg_catalog.make_interval(mins => p_interval_minutes) END,
           p.bucket AT TIME ZONE v_zone,
           pg_catalog.round(pg_catalog.sum(p.f_calls), 2),
           pg_catalog.sum(p.non_unique_incoming)::bigint,
           pg_catalog.round(pg_catalog.sum(p.f_calls * p.f_aht) / NULLIF(pg_catalog.sum(p.f_calls) FILTER (WHERE p.f_aht IS NOT NULL), 0), 1),
           pg_catalog.round(pg_catalog.sum(p.handling_seconds)::numeric / NULLIF(pg_catalog.sum(p.handled_calls), 0), 1),
           pg_catalog.round(pg_catalog.sum(p.f_required)::numeric / count(*), 2)
               * CASE WHEN count(p.f_required) > 0 THEN 1 END,
           pg_catalog.round(pg_catalog.sum(p.f_scheduled)::numeric / count(*), 2)
               * CASE WHEN count(p.f_scheduled) > 0 THEN 1 END,
           pg_catalog.round(coalesce(pg_catalog.sum(p.logged_in_seconds), 0) / (900.0 * count(*)), 2),
           pg_catalog.round(coalesce(pg_catalog.sum(p.logged_in_seconds - p.not_ready_seconds), 0) / (900.0 * count(*)), 2),
           pg_catalog.round(coalesce(pg_catalog.sum(p.logged_in_seconds - p.not_ready_seconds), 0) / (900.0 * count(*))
                            - pg_catalog.sum(p.f_required)::numeric / count(*), 2),
           (count(*) FILTER (WHERE p.f_required > 0
                              AND coalesce(p.available, 0) < p.f_required * (1 - v_tolerance)))::integer,
           v_target,
           pg_catalog.round(pg_catalog.sum(p.answered_within_sl)::numeric / NULLIF(pg_catalog.sum(p.sl_offered_calls), 0), 4),
           pg_catalog.round((pg_catalog.sum(p.p_sl * p.non_unique_incoming)
                             / NULLIF(pg_catalog.sum(p.non_unique_incoming) FILTER (WHERE p.p_sl IS NOT NULL), 0))::numeric, 4),
           CASE WHEN v_patience IS NULL THEN 'erlang_c' ELSE 'erlang_a' END,
           pg_catalog.round(pg_catalog.sum(p.handling_seconds_with_states)::numeric
                            / NULLIF(pg_catalog.sum(p.handling_seconds_with_states + p.ready_seconds), 0), 4),
           pg_catalog.round(pg_catalog.sum(p.not_ready_seconds)::numeric / NULLIF(pg_catalog.sum(p.logged_in_seconds), 0), 4)
    FROM predicted p
    GROUP BY p.bucket
    ORDER BY p.bucket;
END
$$;
COMMENT ON FUNCTION wfm.api_get_plan_vs_actual(integer, timestamptz, timestamptz, integer) IS
    'Plan versus actual for one service, per bucket (15/30/60/120/240 minutes UTC-aligned, 1440 = local day) of [p_start_time, p_end_time) (at most 100 days): forecast calls, AHT, required and scheduled agents (the latest run made before the bucket) against actual calls, AHT, staffed and available agents; staffing gap (available - required), 15-minute intervals understaffed beyond the service''s tolerance; target, actual and predicted service level (Erlang C, or A with the service''s patience, for the agents actually available with the actual arrival rate and AHT of the centred 45 minutes; call-weighted over a bucket''s intervals); occupancy and shrinkage observed.';
REVOKE ALL ON FUNCTION wfm.api_get_plan_vs_actual(integer, timestamptz, timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.api_get_plan_vs_actual(integer, timestamptz, timestamptz, integer) TO wfm_api;
