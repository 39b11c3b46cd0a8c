-- Read side, part 3: the guide's read functions (the public SQL API for UI / API / algorithms).
-- STABLE, PARALLEL SAFE, SECURITY DEFINER with a pinned search_path; callers need EXECUTE only.
-- Raw reads go through wfm.service_interval_stats with the time filter first, so only the
-- partitions of the range are scanned and (service_id, interval_start_time) is used per service.
--
-- Ratios are derived here from additive totals, weighted by calls:
--   avg_talk_time = sum(talk_time_total) / sum(non_unique_incoming), likewise post-processing,
--   aht = (talk + post-processing) / calls, service_level_pct = answered_within_sl / offered calls
--   of the rows that know it, abandonment_rate_pct likewise; NULL when unknown or no calls.
--
-- Bucketing (api_get_calls_by_interval): 15..240-minute buckets are aligned in absolute time
-- (UTC origin: every bucket is exactly N minutes, daylight-saving changes never stretch one);
-- 480, 720 and 1440-minute buckets follow the service's local day (services.time_zone): a 1440
-- bucket is the local calendar day (23 or 25 hours on DST days), 480/720 split it at local
-- 00/08/16 and 00/12 o'clock.
--
-- Argument errors (never a wrong answer): 22004 null_value_not_allowed, 22023
-- invalid_parameter_value (bad bucket, end not after start, range > 400 days, lookback out
-- of 15..1440), P0002 no_data_found (unknown service id).

-- The bucketed query itself, as an inlinable SQL function (STABLE, not SECURITY DEFINER, no
-- SET): the planner expands it into the caller's query, so partition pruning and the index on
-- (service_id, interval_start_time) apply to the caller's arguments. Internal: no grant.
CREATE FUNCTION wfm.calls_by_interval_rows(
    p_start_time timestamptz, p_end_time timestamptz, p_interval_minutes integer, p_service_ids integer[])
RETURNS TABLE (
    service_id integer, interval_start timestamptz, interval_end timestamptz, local_start timestamp,
    intervals integer, unique_incoming bigint, non_unique_incoming bigint, aht numeric, avg_talk_time numeric,
    avg_post_processing_time numeric, answered_calls bigint, abandoned_calls bigint,
    service_level_pct numeric, abandonment_rate_pct numeric)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT si.service_id,
           b.bucket_start,
           b.bucket_end,
           b.local_start,
           count(*)::integer,
           sum(si.unique_incoming)::bigint,
           sum(si.non_unique_incoming)::bigint,
           round((sum(si.talk_time_total) + sum(si.post_processing_time_total))::numeric
                 / nullif(sum(si.non_unique_incoming), 0), 2),
           round(sum(si.talk_time_total)::numeric / nullif(sum(si.non_unique_incoming), 0), 2),
           round(sum(si.post_processing_time_total)::numeric / nullif(sum(si.non_unique_incoming), 0), 2),
           sum(si.answered_calls)::bigint,
           sum(si.abandoned_calls)::bigint,
           round(100 * sum(si.answered_within_sl)::numeric / nullif(sum(si.sl_offered_calls), 0), 2),
           round(100 * sum(si.abandoned_calls)::numeric / nullif(sum(si.abandon_offered_calls), 0), 2)
    FROM wfm.service_interval_stats si
    JOIN wfm.services s ON s.service_id = si.service_id
    CROSS JOIN LATERAL (
        SELECT CASE WHEN p_interval_minutes >= 480
                    THEN date_bin(make_interval(mins => p_interval_minutes),
                                  si.interval_start_time AT TIME ZONE s.time_zone, timestamp '2000-01-01')
                    ELSE date_bin(make_interval(mins => p_interval_minutes),
                                  si.interval_start_time, timestamptz '2000-01-01 00:00:00+00') AT TIME ZONE s.time_zone
               END AS local_start
    ) l
    CROSS JOIN LATERAL (
        SELECT CASE WHEN p_interval_minutes >= 480 THEN l.local_start AT TIME ZONE s.time_zone
                    ELSE date_bin(make_interval(mins => p_interval_minutes),
                                  si.interval_start_time, timestamptz '2000-01-01 00:00:00+00') END AS bucket_start,
               CASE WHEN p_interval_minutes >= 480
                    THEN (l.local_start + make_interval(mins => p_interval_minutes)) AT TIME ZONE s.time_zone
                    ELSE date_bin(make_interval(mins => p_interval_minutes),
                                  si.interval_start_time, timestamptz '2000-01-01 00:00:00+00')
                         + make_interval(mins => p_interval_minutes) END AS bucket_end,
               l.local_start
    ) b
    WHERE si.interval_start_time >= p_start_time
      AND si.interval_start_time < p_end_time
      AND si.service_id = ANY (p_service_ids)
    GROUP BY si.service_id, b.bucket_start, b.bucket_end, b.local_start
    ORDER BY si.service_id, b.bucket_start
$$;
COMMENT ON FUNCTION wfm.calls_by_interval_rows(timestamptz, timestamptz, integer, integer[]) IS
    'Internal (no argument checks): the bucketed query of api_get_calls_by_interval, inlined into its caller.';

CREATE FUNCTION wfm.api_get_calls_by_interval(
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
SET search_path = wfm, pg_catalog
-- Short ranges (the hot path: point and one-day queries) reuse one cached generic plan, pruned
-- at executor start-up: planning a partitioned query every call would cost more than running it.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_ids integer[];
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

    IF p_end_time - p_start_time <= interval '2 days' THEN
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
    'Calls per service in buckets of 15/30/60/120/240 minutes (UTC-aligned) or 480/720/1440 minutes (service-local day) for intervals starting in [p_start_time, p_end_time) (at most 400 days); NULL p_service_ids = all services. Call-weighted AHT/talk/post-processing, SL and abandonment where known. Buckets without data are omitted.';

CREATE FUNCTION wfm.api_get_realtime_stats(
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
SET search_path = wfm, pg_catalog
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
                 / nullif(sum(si.non_unique_incoming), 0), 2),
           round(sum(si.talk_time_total)::numeric / nullif(sum(si.non_unique_incoming), 0), 2),
           round(sum(si.post_processing_time_total)::numeric / nullif(sum(si.non_unique_incoming), 0), 2),
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
    'Per requested service (NULL = all), totals and call-weighted averages of the intervals that started in the last p_lookback_minutes (15..1440); services without data get a row with 0 calls.';

CREATE FUNCTION wfm.api_get_service_summary(p_service_id integer, p_date date)
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
SET search_path = wfm, pg_catalog
AS $$
#variable_conflict use_column
DECLARE
    v_refreshed timestamptz;
BEGIN
    IF p_service_id IS NULL OR p_date IS NULL THEN
        RAISE EXCEPTION 'api_get_service_summary: p_service_id and p_date must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM wfm.check_service_ids(ARRAY[p_service_id], 'p_service_id');
    IF NOT (SELECT c.relispopulated FROM pg_class c WHERE c.oid = 'wfm.mv_daily_service_stats'::regclass) THEN
        RAISE EXCEPTION 'api_get_service_summary: wfm.mv_daily_service_stats has not been populated yet'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Run SELECT * FROM wfm.api_refresh_all_views(); (Dagster refreshes it hourly).';
    END IF;
    SELECT max(l.started_at) INTO v_refreshed
    FROM wfm.view_refresh_history l WHERE l.view_name = 'wfm.mv_daily_service_stats';

    RETURN QUERY
    SELECT p_service_id,
           p_date,
           d.group_id,
           g.code,
           coalesce(d.intervals, 0),
           coalesce(d.unique_incoming, 0)::bigint,
           coalesce(d.non_unique_incoming, 0)::bigint,
           round((d.talk_time_total + d.post_processing_time_total)::numeric / nullif(d.non_unique_incoming, 0), 2),
           round(d.talk_time_total::numeric / nullif(d.non_unique_incoming, 0), 2),
           round(d.post_processing_time_total::numeric / nullif(d.non_unique_incoming, 0), 2),
           d.answered_calls,
           d.abandoned_calls,
           round(100 * d.answered_within_sl::numeric / nullif(d.sl_offered_calls, 0), 2),
           round(100 * d.abandoned_calls::numeric / nullif(d.abandon_offered_calls, 0), 2),
           d.peak_interval_start,
           d.peak_non_unique_incoming,
           d.last_loaded_at,
           v_refreshed
    FROM (SELECT 1) AS one
    LEFT JOIN wfm.mv_daily_service_stats d ON d.service_id = p_service_id AND d.stat_date = p_date
    LEFT JOIN wfm.groups g ON g.group_id = d.group_id
    ORDER BY d.group_id NULLS FIRST;
END
$$;
COMMENT ON FUNCTION wfm.api_get_service_summary(integer, date) IS
    'The service''s local calendar day p_date from wfm.mv_daily_service_stats: first row the service total (group_id NULL), then one row per group; totals, call-weighted averages, SL/abandonment where known, peak 15-minute interval, and when the view was refreshed. A day without data gives one service row with 0 calls.';

REVOKE EXECUTE ON FUNCTION wfm.api_get_calls_by_interval(timestamptz, timestamptz, integer, integer[]),
                           wfm.api_get_realtime_stats(integer[], integer),
                           wfm.api_get_service_summary(integer, date),
                           wfm.check_service_ids(integer[], text),
                           wfm.calls_by_interval_rows(timestamptz, timestamptz, integer, integer[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.api_get_calls_by_interval(timestamptz, timestamptz, integer, integer[]),
                          wfm.api_get_realtime_stats(integer[], integer),
                          wfm.api_get_service_summary(integer, date) TO wfm_api;
