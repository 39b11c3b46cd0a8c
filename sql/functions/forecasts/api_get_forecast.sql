-- wfm.api_get_forecast (first defined in sql/063_api_get_forecast.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it.

CREATE OR REPLACE FUNCTION wfm.api_get_forecast(
    p_service_id  integer,
    p_start_time  timestamptz,
    p_end_time    timestamptz,
    p_group_id    integer DEFAULT NULL
) RETURNS TABLE (
    interval_start_time  timestamptz,
    service_id           integer,
    group_id             integer,
    calls                numeric,
    unique_calls         numeric,
    aht                  numeric,
    workload_erlangs     numeric,
    required_agents      integer,
    scheduled_agents     integer,
    service_level        numeric,
    asa                  numeric,
    occupancy            numeric,
    abandon_rate         numeric,
    forecast_run_id      bigint,
    run_created_at       timestamptz,
    as_of                timestamptz,
    model                text,
    staffing_model       text
)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_run wfm.forecast_runs%ROWTYPE;
BEGIN
    IF p_service_id IS NULL OR p_start_time IS NULL OR p_end_time IS NULL THEN
        RAISE EXCEPTION 'api_get_forecast: p_service_id, p_start_time and p_end_time are required'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF p_end_time <= p_start_time THEN
        RAISE EXCEPTION 'api_get_forecast: p_end_time (%) must be after p_start_time (%)', p_end_time, p_start_time
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_end_time - p_start_time > interval '400 days' THEN
        RAISE EXCEPTION 'api_get_forecast: range of % is too long (at most 400 days)', p_end_time - p_start_time
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM wfm.services s WHERE s.service_id = p_service_id) THEN
        RAISE EXCEPTION 'api_get_forecast: unknown service_id %', p_service_id
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_group_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM wfm.groups g WHERE g.group_id = p_group_id AND g.service_id = p_service_id) THEN
        RAISE EXCEPTION 'api_get_forecast: group_id % does not belong to service_id %', p_group_id, p_service_id
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- The newest run of this service/group whose horizon overlaps the requested range. Two
    -- branches so both walk forecast_runs_latest_idx (IS NOT DISTINCT FROM is not indexable).
    IF p_group_id IS NULL THEN
        SELECT r.* INTO v_run
        FROM wfm.forecast_runs r
        WHERE r.service_id = p_service_id AND r.group_id IS NULL
          AND r.horizon_start < p_end_time AND r.horizon_end > p_start_time
        ORDER BY r.created_at DESC, r.forecast_run_id DESC
        LIMIT 1;
    ELSE
        SELECT r.* INTO v_run
        FROM wfm.forecast_runs r
        WHERE r.service_id = p_service_id AND r.group_id = p_group_id
          AND r.horizon_start < p_end_time AND r.horizon_end > p_start_time
        ORDER BY r.created_at DESC, r.forecast_run_id DESC
        LIMIT 1;
    END IF;
    IF NOT FOUND THEN
        RETURN;   -- no forecast covers the range: an empty result, not an error
    END IF;

    RETURN QUERY
    SELECT f.interval_start_time, f.service_id, f.group_id, f.calls, f.unique_calls, f.aht,
           f.workload_erlangs, f.required_agents, f.scheduled_agents, f.service_level, f.asa,
           f.occupancy, f.abandon_rate, v_run.forecast_run_id, v_run.created_at, v_run.as_of,
           v_run.model, v_run.staffing_model
    FROM wfm.forecasts f
    WHERE f.forecast_run_id = v_run.forecast_run_id
      AND f.interval_start_time >= p_start_time
      AND f.interval_start_time < p_end_time
    ORDER BY f.interval_start_time;
END
$$;
COMMENT ON FUNCTION wfm.api_get_forecast(integer, timestamptz, timestamptz, integer) IS
    'Forecast calls, AHT and staffing per 15-minute interval in [p_start_time, p_end_time) from the '
    'newest run of the service (p_group_id NULL) or group whose horizon overlaps the range; '
    'empty when none does.';
REVOKE ALL ON FUNCTION wfm.api_get_forecast(integer, timestamp with time zone, timestamp with time zone, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.api_get_forecast(integer, timestamp with time zone, timestamp with time zone, integer) TO wfm_api;
