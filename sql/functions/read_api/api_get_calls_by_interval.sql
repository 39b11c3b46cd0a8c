-- requires: functions/read_api/calls_by_quarter_rows.sql
-- requires: functions/read_api/calls_by_quarter_agg_rows.sql
-- requires: functions/read_api/calls_by_hour_rows.sql
-- requires: functions/read_api/aggregated_hours.sql
-- wfm.api_get_calls_by_interval (first defined in sql/052_read_api.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it. Issue 15: buckets of 60
-- minutes and more come from the aggregates (wfm.calls_by_bucket_rows), 15 and 30 from raw rows;
-- 15-minute buckets through wfm.calls_by_quarter_rows (an index-only scan, one aggregation).
-- 60-minute buckets over past, hour-aligned ranges through wfm.calls_by_hour_rows (the hourly
-- aggregate's rows in order: no union, no sort). Session 6: 15-minute buckets over such ranges
-- from the stored 15-minute series (wfm.calls_by_quarter_agg_rows, sql/291).

CREATE OR REPLACE FUNCTION wfm.api_get_calls_by_interval(
    p_start_time timestamptz,
    p_end_time timestamptz,
    p_interval_minutes integer DEFAULT 15,
    p_service_ids integer[] DEFAULT NULL)
RETURNS TABLE (
    service_id integer,
    interval_start timestamptz,
    interval_end timestamptz,
    local_start timestamp,
    intervals integer,
    unique_incoming bigint,
    non_unique_incoming bigint,
    aht numeric,
    avg_talk_time numeric,
    avg_post_processing_time numeric,
    answered_calls bigint,
    abandoned_calls bigint,
    service_level_pct numeric,
    abandonment_rate_pct numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
-- Short ranges (the hot path: point and one-day queries) reuse one cached generic plan, pruned
-- at executor start-up: planning a partitioned query every call would cost more than running it.
SET plan_cache_mode = force_generic_plan
SET jit = off  -- millisecond calls: compiling costs more than it saves (PG15: 30 ms a call), and benchmarks run without JIT
AS $$
DECLARE
    v_ids   integer[];
    v_hours tstzmultirange;
BEGIN
    IF p_start_time IS NULL OR p_end_time IS NULL OR p_interval_minutes IS NULL THEN
        RAISE EXCEPTION 'api_get_calls_by_interval: p_start_time, p_end_time and p_interval_minutes must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF p_interval_minutes <> ALL (ARRAY[15, 30, 60, 120, 240, 480, 720, 1440]) THEN
        RAISE EXCEPTION 'api_get_calls_by_interval: p_interval_minutes = % is not a supported bucket', p_interval_minutes
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use 15, 30, 60, 120, 240, 480, 720 or 1440.';
    END IF;
    IF p_end_time <= p_start_time THEN
        RAISE EXCEPTION 'api_get_calls_by_interval: p_end_time (%) must be after p_start_time (%)', p_end_time, p_start_time
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_end_time - p_start_time > interval '400 days' THEN
        RAISE EXCEPTION 'api_get_calls_by_interval: range % .. % is longer than 400 days', p_start_time, p_end_time
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Query at most 400 days per call (or read wfm.mv_daily_service_stats).';
    END IF;
    v_ids := wfm.check_service_ids(p_service_ids);

    IF p_interval_minutes = 60 THEN
        -- Hourly buckets: when every hour of the range is a whole aggregated one (before the
        -- watermark, no pending change: a past, hour-aligned range), the aggregate's rows are
        -- the buckets, read in order; otherwise summed from the aggregates plus raw rows.
        v_hours := wfm.aggregated_hours(p_start_time, p_end_time, v_ids);
        IF v_hours = wfm.tstz_span(p_start_time, p_end_time) THEN
            RETURN QUERY SELECT * FROM wfm.calls_by_hour_rows(v_hours, v_ids);
        ELSE
            RETURN QUERY SELECT * FROM wfm.calls_by_bucket_rows(p_start_time, p_end_time, 60, v_ids);
        END IF;
    ELSIF p_interval_minutes > 60 THEN
        -- Longer buckets: summed from the aggregates (materialized up to their watermark,
        -- without pending changes) plus raw rows for the rest; the same result.
        RETURN QUERY SELECT * FROM wfm.calls_by_bucket_rows(p_start_time, p_end_time, p_interval_minutes, v_ids);
    ELSIF p_interval_minutes = 15 THEN
        -- 15-minute buckets over whole aggregated hours (a past, hour-aligned range, nothing
        -- pending: the one-day reads): the stored 15-minute series (sql/291), read in order.
        -- Shorter ranges (the point reads) do not ask: they cannot hold a whole hour.
        IF p_end_time - p_start_time >= interval '1 hour' THEN
            v_hours := wfm.aggregated_hours(p_start_time, p_end_time, v_ids);
            IF v_hours = wfm.tstz_span(p_start_time, p_end_time) THEN
                RETURN QUERY SELECT * FROM wfm.calls_by_quarter_agg_rows(p_start_time, p_end_time, v_ids);
                RETURN;
            END IF;
        END IF;
        -- Otherwise one aggregation per interval over an index-only scan of the raw rows; the
        -- same result as the raw query below.
        IF p_end_time - p_start_time <= interval '2 days' THEN
            RETURN QUERY SELECT * FROM wfm.calls_by_quarter_rows(p_start_time, p_end_time, v_ids);
        ELSE
            RETURN QUERY EXECUTE 'SELECT * FROM wfm.calls_by_quarter_rows($1, $2, $3)'
                USING p_start_time, p_end_time, v_ids;
        END IF;
    ELSIF p_end_time - p_start_time <= interval '2 days' THEN
        RETURN QUERY SELECT * FROM wfm.calls_by_interval_rows(p_start_time, p_end_time, p_interval_minutes, v_ids);
    ELSE
        -- Longer ranges: plan with the actual values (bitmap scans over whole partitions beat
        -- the generic plan's index scans by 2x at a month; planning is then noise).
        RETURN QUERY EXECUTE 'SELECT * FROM wfm.calls_by_interval_rows($1, $2, $3, $4)'
            USING p_start_time, p_end_time, p_interval_minutes, v_ids;
    END IF;
END
$$;
COMMENT ON FUNCTION wfm.api_get_calls_by_interval(timestamptz, timestamptz, integer, integer[]) IS
    'Calls per service in buckets of 15/30/60/120/240 minutes (UTC-aligned) or 480/720/1440 minutes (service-local day) for intervals starting in [p_start_time, p_end_time) (at most 400 days); NULL p_service_ids = all services. Call-weighted AHT/talk/post-processing, SL and abandonment where known. Buckets without data are omitted. Always current: 60+ minute buckets are summed from the hourly/daily aggregates up to their watermark plus raw rows for the rest.';
REVOKE ALL ON FUNCTION wfm.api_get_calls_by_interval(timestamp with time zone, timestamp with time zone, integer, integer[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.api_get_calls_by_interval(timestamp with time zone, timestamp with time zone, integer, integer[]) TO wfm_api;
