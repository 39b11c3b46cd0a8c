-- requires: functions/read_api/realtime_service_totals.sql
-- requires: functions/read_api/rounded_ratio.sql
-- wfm.api_get_realtime_stats (first defined in sql/052_read_api.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it. Issue 13: averages are per
-- handled call (service_interval_stats.handled_calls: answered where known, else offered).
--
-- Issue 15 (realtime at 50 clients closed loop, p95 18 ms against 10 ms): the CPU per call had to
-- halve. Backend CPU per call (3 services, 60 minutes, 120 rows, benchmark data): 196 us before,
-- 103 us now. Where it went and what replaced it:
--   * the view's GROUP BY (service, interval) under a generic plan: a hash table sized for the
--     planner's default estimate (15,000 groups, 545 kB) was built, zeroed and scanned on every
--     call, and 25 aggregates ran per row. Now one flat aggregation per service over its rows
--     (an ordered scan of the (service_id, interval_start_time) index, 13 aggregates per row).
--     Flat sums equal the per-interval rule of wfm.service_interval_stats whenever the window
--     holds only group rows or only service-level rows (the common shapes); a window mixing
--     both takes the exact per-interval path, wfm.realtime_service_totals (not inlined: its
--     plan costs nothing unless called).
--   * intervals = count(DISTINCT interval_start_time) reads the rows in index order
--     (enable_sort = off: the generic plan would otherwise sort the rows of each service).
--   * wfm.check_service_ids ran first (a second function call with its own search_path): a
--     well-formed id array now goes straight into the query (a join with wfm.services, which
--     drops unknown ids and duplicates), and check_service_ids runs only when the rows returned
--     are fewer than the ids given (it then raises for unknown ids, as before).
--   * ratios through wfm.rounded_ratio (integer arithmetic, the same values).

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
SET jit = off  -- millisecond calls: compiling costs more than it saves (PG15: 30 ms a call), and benchmarks run without JIT
SET enable_sort = off                     -- rows per service in index order (see above)
AS $$
#variable_conflict use_column
DECLARE
    v_ids   integer[];
    v_end   timestamptz := now();
    v_start timestamptz;
    v_rows  bigint;
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
    IF p_service_ids IS NULL OR cardinality(p_service_ids) = 0 OR array_position(p_service_ids, NULL) IS NOT NULL THEN
        v_ids := wfm.check_service_ids(p_service_ids);   -- all services, or raises
    ELSE
        v_ids := p_service_ids;   -- unknown ids and duplicates: checked after the query
    END IF;
    v_start := v_end - make_interval(mins => p_lookback_minutes);

    RETURN QUERY
    SELECT s.service_id,
           v_start,
           v_end,
           x.intervals::integer,
           x.last_start,
           coalesce(x.unique_incoming, 0),
           coalesce(x.non_unique_incoming, 0),
           wfm.rounded_ratio(x.talk_time_total + x.post_processing_time_total, x.handled_calls),
           wfm.rounded_ratio(x.talk_time_total, x.handled_calls),
           wfm.rounded_ratio(x.post_processing_time_total, x.handled_calls),
           x.answered_calls,
           x.abandoned_calls,
           wfm.rounded_ratio(x.answered_within_sl, x.sl_offered_calls, 100),
           wfm.rounded_ratio(x.abandoned_calls, x.abandon_offered_calls, 100),
           x.last_loaded_at
    FROM wfm.services s
    CROSS JOIN LATERAL (   -- one flat pass over the service's rows in the window
        SELECT count(DISTINCT cs.interval_start_time) AS intervals,
               count(*) AS source_rows,
               count(*) FILTER (WHERE cs.group_id IS NULL) AS service_rows,
               max(cs.interval_start_time) AS last_start,
               sum(cs.unique_incoming) AS unique_incoming,
               sum(cs.non_unique_incoming) AS non_unique_incoming,
               -- the stored columns of sql/121: avg x handled calls, and answered else offered
               sum(cs.talk_time_total)::bigint AS talk_time_total,
               sum(cs.post_processing_time_total)::bigint AS post_processing_time_total,
               sum(cs.handled_calls) AS handled_calls,
               sum(cs.answered_calls) AS answered_calls,
               sum(cs.answered_within_sl) AS answered_within_sl,
               sum(cs.non_unique_incoming) FILTER (WHERE cs.answered_within_sl IS NOT NULL) AS sl_offered_calls,
               sum(cs.abandoned_calls) AS abandoned_calls,
               sum(cs.non_unique_incoming) FILTER (WHERE cs.abandoned_calls IS NOT NULL) AS abandon_offered_calls,
               max(cs.loaded_at) AS last_loaded_at
        FROM wfm.contact_statistics cs
        WHERE cs.service_id = s.service_id
          AND cs.interval_start_time >= v_start
          AND cs.interval_start_time <= v_end
    ) f
    CROSS JOIN LATERAL (
        -- only group rows or only service-level rows: the flat sums are the per-interval rule's
        SELECT f.intervals, f.last_start, f.unique_incoming, f.non_unique_incoming, f.talk_time_total,
               f.post_processing_time_total, f.handled_calls, f.answered_calls, f.answered_within_sl,
               f.sl_offered_calls, f.abandoned_calls, f.abandon_offered_calls, f.last_loaded_at
        WHERE f.service_rows = 0 OR f.service_rows = f.source_rows
        UNION ALL
        -- both kinds: the exact per-interval path (a function scan, run only here)
        SELECT t.intervals, t.last_interval_start, t.unique_incoming, t.non_unique_incoming, t.talk_time_total,
               t.post_processing_time_total, t.handled_calls, t.answered_calls, t.answered_within_sl,
               t.sl_offered_calls, t.abandoned_calls, t.abandon_offered_calls, t.last_loaded_at
        FROM wfm.realtime_service_totals(s.service_id, v_start, v_end) t
        WHERE f.service_rows > 0 AND f.service_rows < f.source_rows
    ) x(intervals, last_start, unique_incoming, non_unique_incoming, talk_time_total, post_processing_time_total,
        handled_calls, answered_calls, answered_within_sl, sl_offered_calls, abandoned_calls, abandon_offered_calls,
        last_loaded_at)
    WHERE s.service_id = ANY (v_ids)
    ORDER BY s.service_id;
    -- Fewer rows than ids: unknown ids (check_service_ids raises, and nothing is returned) or
    -- duplicates (it returns; each service has had its one row).
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    IF v_rows <> cardinality(v_ids) THEN
        PERFORM wfm.check_service_ids(p_service_ids);
    END IF;
END
$$;
COMMENT ON FUNCTION wfm.api_get_realtime_stats(integer[], integer) IS
    'Per requested service (NULL = all), totals and averages per handled call (answered where known, else offered) of the intervals that started in the last p_lookback_minutes (15..1440); services without data get a row with 0 calls.';
REVOKE ALL ON FUNCTION wfm.api_get_realtime_stats(integer[], integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.api_get_realtime_stats(integer[], integer) TO wfm_api;
