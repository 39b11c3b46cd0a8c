-- wfm.test_integration_performance (first defined in sql/076_test_integration_performance.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it.
--
-- test_integration_performance(): one end-to-end round trip, import -> query -> view, timed per
-- step and checked for the same numbers at every step, inside a subtransaction that is rolled
-- back on purpose (the probe service, its batch and rows disappear; their locks are released).
--
--   import  one local day (96 intervals) in Argus format through import_argus_format_data
--           for a throw-away service and group;
--           threshold 960 ms = 96 rows at the guide's 100 rows/s
--   query   api_get_calls_by_interval for that day in hourly buckets: 24 buckets and the
--           imported call total; threshold = the range SLA, 100 ms
--   view    the real-time aggregates (wfm.hourly_stats / wfm.daily_stats, what
--           mv_hourly_stats and mv_daily_service_stats show) for the probe service: the probe's
--           day is pending in the change log, so it is read raw; the same call total;
--           threshold = the aggregation SLA, 500 ms
--
-- p_full_refresh => true first runs the real incremental refresh (wfm.refresh_aggregates(),
-- which also absorbs whatever else is pending; rolled back with the probe), so the step then
-- reads the materialized rows. The last recorded refresh durations are reported from
-- wfm.view_refresh_history either way. Imports are never blocked: the probe only inserts new
-- keys into an existing partition and reads; a refresh takes no lock a load waits for.

CREATE OR REPLACE FUNCTION wfm.test_integration_performance(
    p_import_ms numeric DEFAULT 960,
    p_query_ms numeric DEFAULT 100,
    p_view_ms numeric DEFAULT 500,
    p_full_refresh boolean DEFAULT false
) RETURNS SETOF wfm.check_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_rows        wfm.check_result[] := '{}';
    v_tag         text := 'zzhealth' || substr(md5(clock_timestamp()::text || random()::text), 1, 8);
    v_tz          constant text := 'Europe/Berlin';   -- a DST zone: local file times are converted
    v_month       timestamptz;
    v_day         date;
    v_service     integer;
    v_group       integer;
    v_data        jsonb;
    v_expected    bigint;
    v_path        text;
    v_result      jsonb;
    v_t0          timestamptz;
    v_import_ms   numeric;
    v_query_ms    numeric;
    v_view_ms     numeric;
    v_buckets     bigint;
    v_got         bigint;
    v_hourly      bigint;
    v_daily       bigint;
    v_error       text;
    v_step        text := 'setup';
    v_refreshes   jsonb;
BEGIN
    SELECT range_start INTO v_month
    FROM wfm.partitions
    WHERE parent_table = 'wfm.contact_statistics'::regclass AND NOT is_guard
    ORDER BY (range_start <= now() AND range_end > now()) DESC, range_start DESC
    LIMIT 1;
    -- A local day well inside the month, so its UTC span stays in the same partition.
    v_day := (v_month AT TIME ZONE 'UTC')::date + 10;
    v_path := 'import_argus_format_data';  -- the Argus JSON path (sql/042), as an uploading UI uses it

    SELECT coalesce(jsonb_object_agg(view_name::text, duration_ms), '{}'::jsonb) INTO v_refreshes
    FROM (SELECT DISTINCT ON (view_name) view_name, duration_ms FROM wfm.view_refresh_history
          ORDER BY view_name, started_at DESC) l;

    IF v_month IS NULL THEN
        v_rows := v_rows || wfm.health_row('integration.round_trip', 'FAIL', NULL, p_import_ms + p_query_ms + p_view_ms, 'ms',
            jsonb_build_object('error', 'contact_statistics has no partition'));
        RETURN QUERY SELECT * FROM unnest(v_rows);
        RETURN;
    END IF;

    BEGIN
        INSERT INTO wfm.services (code, name, time_zone)
        VALUES (v_tag, 'health check round-trip probe (rolled back)', v_tz) RETURNING service_id INTO v_service;
        INSERT INTO wfm.groups (service_id, code, name)
        VALUES (v_service, 'G1', 'probe group') RETURNING group_id INTO v_group;

        -- 96 local intervals of the day (a DST day has 92 or 100; v_day is mid-month, never one).
        SELECT jsonb_agg(jsonb_build_array(
                   to_char(v_day + q * interval '15 minutes', 'DD.MM.YYYY HH24:MI:SS'),
                   6 + q % 11 - q % 3, 6 + q % 11, 100 + q, 15 + q % 9) ORDER BY q),
               sum(6 + q % 11)
        INTO v_data, v_expected
        FROM generate_series(0, 95) q;

        v_step := 'import';
        v_t0 := clock_timestamp();
        SELECT to_jsonb(r) INTO v_result FROM wfm.import_argus_format_data(p_data => v_data, p_service_id => v_service,
                                                                        p_group_id => v_group) r LIMIT 1;
        v_import_ms := extract(epoch FROM clock_timestamp() - v_t0)::numeric * 1000;

        v_step := 'query';
        v_t0 := clock_timestamp();
        SELECT count(*), sum(non_unique_incoming) INTO v_buckets, v_got
        FROM wfm.api_get_calls_by_interval(v_day::timestamp AT TIME ZONE v_tz, (v_day + 1)::timestamp AT TIME ZONE v_tz,
                                           60, ARRAY[v_service]);
        v_query_ms := extract(epoch FROM clock_timestamp() - v_t0)::numeric * 1000;

        v_step := 'view';
        v_t0 := clock_timestamp();
        IF p_full_refresh THEN
            PERFORM * FROM wfm.refresh_aggregates();
        END IF;
        SELECT sum(h.non_unique_incoming) INTO v_hourly
        FROM wfm.hourly_stats(ARRAY[v_service], '-infinity', 'infinity') h;
        SELECT sum(d.non_unique_incoming) INTO v_daily
        FROM wfm.daily_stats(ARRAY[v_service], '-infinity', 'infinity') d WHERE d.group_id IS NULL;
        v_view_ms := extract(epoch FROM clock_timestamp() - v_t0)::numeric * 1000;

        RAISE EXCEPTION USING ERRCODE = 'WFRB0';
    EXCEPTION
        WHEN SQLSTATE 'WFRB0' THEN
            NULL;  -- rolled back on purpose
        WHEN OTHERS THEN
            v_error := SQLSTATE || ': ' || SQLERRM;
    END;

    IF v_error IS NOT NULL THEN
        v_rows := v_rows || wfm.health_row('integration.round_trip', 'FAIL', NULL, p_import_ms + p_query_ms + p_view_ms, 'ms',
            jsonb_build_object('failed_step', v_step, 'error', v_error, 'import_path', v_path, 'result', v_result));
    ELSE
        v_rows := v_rows || wfm.health_row('integration.import',
            CASE WHEN coalesce((v_result ->> 'rows_inserted')::bigint, 96) <> 96 THEN 'FAIL'
                 ELSE wfm.health_grade(v_import_ms, NULL, p_import_ms) END,
            v_import_ms, p_import_ms, 'ms',
            jsonb_build_object('path', v_path, 'rows', 96, 'day', v_day, 'time_zone', v_tz, 'result', v_result,
                               'rule', 'one local day (96 rows) imported; FAIL above 960 ms (the guide''s 100 rows/s) or when not all rows were inserted'));
        v_rows := v_rows || wfm.health_row('integration.query',
            CASE WHEN v_buckets <> 24 OR v_got IS DISTINCT FROM v_expected THEN 'FAIL'
                 ELSE wfm.health_grade(v_query_ms, NULL, p_query_ms) END,
            v_query_ms, p_query_ms, 'ms',
            jsonb_build_object('buckets', v_buckets, 'expected_buckets', 24, 'calls', v_got, 'expected_calls', v_expected,
                               'rule', 'api_get_calls_by_interval over the imported day in 60-minute buckets returns 24 buckets and the imported total; FAIL above the range SLA (100 ms)'));
        v_rows := v_rows || wfm.health_row('integration.view',
            CASE WHEN v_hourly IS DISTINCT FROM v_expected OR v_daily IS DISTINCT FROM v_expected THEN 'FAIL'
                 ELSE wfm.health_grade(v_view_ms, NULL, p_view_ms) END,
            v_view_ms, p_view_ms, 'ms',
            jsonb_build_object('mode', CASE WHEN p_full_refresh THEN 'incremental refresh (wfm.refresh_aggregates, rolled back), then the aggregates'
                                            ELSE 'real-time aggregates (the probe''s pending day read raw; no refresh)' END,
                               'hourly_calls', v_hourly, 'daily_calls', v_daily, 'expected_calls', v_expected,
                               'last_refresh_ms', v_refreshes,
                               'rule', 'both views'' content for the probe equals the imported total; FAIL above the aggregation SLA (500 ms)'));
        v_rows := v_rows || wfm.health_row('integration.round_trip',
            CASE WHEN v_import_ms + v_query_ms + v_view_ms > p_import_ms + p_query_ms + p_view_ms THEN 'FAIL' ELSE 'PASS' END,
            v_import_ms + v_query_ms + v_view_ms, p_import_ms + p_query_ms + p_view_ms, 'ms',
            jsonb_build_object('import_ms', round(v_import_ms, 3), 'query_ms', round(v_query_ms, 3),
                               'view_ms', round(v_view_ms, 3), 'rolled_back', true,
                               'rule', 'sum of the three steps vs the sum of their thresholds'));
    END IF;
    RETURN QUERY SELECT * FROM unnest(v_rows);
END
$$;
COMMENT ON FUNCTION wfm.test_integration_performance(numeric, numeric, numeric, boolean) IS
    'End-to-end probe in a rolled-back subtransaction: imports one Argus day (96 rows) for a throw-away service (<= 960 ms = the guide''s 100 rows/s), reads it back with api_get_calls_by_interval (<= 100 ms, 24 buckets, same total), and reads it from both real-time aggregates (hourly and daily, <= 500 ms, same total); p_full_refresh first runs the real incremental refresh (wfm.refresh_aggregates). Leaves nothing behind.';
REVOKE ALL ON FUNCTION wfm.test_integration_performance(numeric, numeric, numeric, boolean) FROM PUBLIC;
