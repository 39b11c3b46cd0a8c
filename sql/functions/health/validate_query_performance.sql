-- wfm.validate_query_performance (first defined in sql/074_validate_query_performance.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it.
--
-- validate_query_performance(): times real calls of the read API against the stored data and
-- compares each query class's p95 with the guide's SLAs (point < 10 ms, range < 100 ms,
-- aggregation < 500 ms); checks that time-filtered reads scan only the partitions of their
-- range. The query classes are those of `wfm bench queries` (wfm_pipeline/warehouse/bench_queries.py).
--
-- Method: every class is called at least p_runs times, and up to 200 times while it stays
-- within p_budget_ms (after one untimed warm-up call that plans it),
-- alternating the most recent and the oldest stored day and rotating over services that have
-- data on that day; each call is timed with clock_timestamp() around SELECT count(*) FROM
-- f(...), so the whole result is produced. Grades: FAIL when p95 exceeds the SLA, WARN when it
-- uses more than half of it (less than 2x headroom), else PASS. One session, no concurrency:
-- concurrency is what `wfm bench queries` measures with pgbench.

CREATE OR REPLACE FUNCTION wfm.validate_query_performance(
    p_runs integer DEFAULT 20,
    p_point_sla_ms numeric DEFAULT 10,
    p_range_sla_ms numeric DEFAULT 100,
    p_aggregation_sla_ms numeric DEFAULT 500,
    p_services integer DEFAULT 6,
    p_budget_ms numeric DEFAULT 1000
) RETURNS SETOF wfm.check_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_rows       wfm.check_result[] := '{}';
    v_first      timestamptz;
    v_last       timestamptz;
    v_recent     timestamptz;
    v_old        timestamptz;
    v_recent_svc integer[];
    v_old_svc    integer[];
    v_class      record;
    v_day        timestamptz;
    v_svc        integer[];
    v_s          integer[];
    v_n          integer;
    v_i          integer;
    v_q          integer;
    v_t0         timestamptz;
    v_count      bigint;
    v_returned   bigint;
    v_samples    numeric[];
    v_error      text;
    v_sla        numeric;
    v_p95        numeric;
    v_before     jsonb;
    v_after      jsonb;
    v_scanned    text[];
    v_needed     integer;
    v_started    timestamptz;
BEGIN
    IF p_runs IS NULL OR p_runs < 1 OR p_runs > 1000 THEN
        RAISE EXCEPTION 'validate_query_performance: p_runs must be 1..1000, not %', p_runs
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- Everything runs in a subtransaction rolled back at the end: the read locks (AccessShare
    -- on partitions and views) are released when we return, even inside a caller's transaction.
    BEGIN
        -- Per service (probes of the key index, which leads with service_id since sql/270):
        -- not a scan of every row.
        SELECT min(x.lo), max(x.hi) INTO v_first, v_last
        FROM wfm.services s
        CROSS JOIN LATERAL (SELECT min(cs.interval_start_time) AS lo, max(cs.interval_start_time) AS hi
                            FROM wfm.contact_statistics cs WHERE cs.service_id = s.service_id) x;

        IF v_last IS NULL THEN
            v_rows := v_rows || wfm.health_row('query.data', 'WARN', 0, NULL, 'rows',
                jsonb_build_object('reason', 'contact_statistics is empty: there is nothing to time the read API against',
                                   'hint', 'Load data (or run `wfm bench queries`, which builds the benchmark data set) and validate again.'));
        ELSE
            -- The most recent complete UTC day and the oldest one (the same day when only one exists).
            v_recent := greatest(date_trunc('day', v_last AT TIME ZONE 'UTC') - interval '1 day',
                                 date_trunc('day', v_first AT TIME ZONE 'UTC')) AT TIME ZONE 'UTC';
            v_old := least((date_trunc('day', v_first AT TIME ZONE 'UTC') + interval '1 day') AT TIME ZONE 'UTC', v_recent);
            SELECT array_agg(service_id) INTO v_recent_svc FROM (
                SELECT DISTINCT service_id FROM wfm.contact_statistics
                WHERE interval_start_time >= v_recent AND interval_start_time < v_recent + interval '1 day'
                ORDER BY service_id LIMIT p_services) s;
            SELECT array_agg(service_id) INTO v_old_svc FROM (
                SELECT DISTINCT service_id FROM wfm.contact_statistics
                WHERE interval_start_time >= v_old AND interval_start_time < v_old + interval '1 day'
                ORDER BY service_id LIMIT p_services) s;
            v_recent_svc := coalesce(v_recent_svc, ARRAY(SELECT service_id FROM wfm.services ORDER BY 1 LIMIT p_services));
            v_old_svc := coalesce(v_old_svc, v_recent_svc);
            v_rows := v_rows || wfm.health_row('query.data', 'PASS', NULL, NULL, 'rows',
                jsonb_build_object('first_interval', v_first, 'last_interval', v_last,
                                   'recent_day', v_recent, 'old_day', v_old,
                                   'recent_services', v_recent_svc, 'old_services', v_old_svc, 'runs', p_runs));

            FOR v_class IN
                SELECT * FROM (VALUES
                    (1, 'point', 'calls_by_interval', 'api_get_calls_by_interval: one service, one 15-minute interval'),
                    (2, 'point', 'realtime_stats', 'api_get_realtime_stats: 3 services, last 60 minutes'),
                    (3, 'range', 'day_3_services', 'api_get_calls_by_interval: one day, 15-minute buckets, 3 services'),
                    (4, 'aggregation', 'week_hourly_all', 'api_get_calls_by_interval: 7 days, 60-minute buckets, all services (aggregates ~150k rows, as wfm bench queries classes it)'),
                    (5, 'aggregation', 'service_day_summary', 'api_get_service_summary: one service, one local day (view)'),
                    (6, 'aggregation', 'month_daily', 'api_get_calls_by_interval: one service, one month, 1440-minute buckets')
                ) AS c(ord, category, name, description)
                ORDER BY ord
            LOOP
                v_sla := CASE v_class.category WHEN 'point' THEN p_point_sla_ms
                                               WHEN 'range' THEN p_range_sla_ms ELSE p_aggregation_sla_ms END;
                v_samples := '{}';
                v_returned := 0;
                v_error := NULL;
                BEGIN
                    -- Run 0 is the untimed warm-up; then at least p_runs timed calls, and more
                    -- (up to 200) while the class stays within p_budget_ms: cheap classes get
                    -- enough samples for a stable p95, expensive ones cost p_runs calls.
                    v_i := 0;
                    v_started := clock_timestamp();
                    WHILE v_i <= p_runs OR (v_i <= 200 AND clock_timestamp() - v_started < make_interval(secs => p_budget_ms / 1000)) LOOP
                        IF v_i % 2 = 0 THEN v_day := v_recent; v_svc := v_recent_svc;
                        ELSE v_day := v_old; v_svc := v_old_svc; END IF;
                        v_n := cardinality(v_svc);
                        v_s := ARRAY[v_svc[(v_i / 2) % v_n + 1], v_svc[(v_i / 2 + 1) % v_n + 1], v_svc[(v_i / 2 + 2) % v_n + 1]];
                        v_q := (v_i * 37) % 96;
                        v_t0 := clock_timestamp();
                        CASE v_class.name
                        WHEN 'calls_by_interval' THEN
                            SELECT count(*) INTO v_count FROM wfm.api_get_calls_by_interval(
                                v_day + v_q * interval '15 minutes', v_day + (v_q + 1) * interval '15 minutes', 15, v_s[1:1]);
                        WHEN 'realtime_stats' THEN
                            SELECT count(*) INTO v_count FROM wfm.api_get_realtime_stats(v_s, 60);
                        WHEN 'day_3_services' THEN
                            SELECT count(*) INTO v_count FROM wfm.api_get_calls_by_interval(
                                v_day, v_day + interval '1 day', 15, v_s);
                        WHEN 'week_hourly_all' THEN
                            SELECT count(*) INTO v_count FROM wfm.api_get_calls_by_interval(
                                CASE WHEN v_i % 2 = 0 THEN v_day - interval '6 days' ELSE v_day END,
                                CASE WHEN v_i % 2 = 0 THEN v_day + interval '1 day' ELSE v_day + interval '7 days' END,
                                60, NULL);
                        WHEN 'service_day_summary' THEN
                            SELECT count(*) INTO v_count FROM wfm.api_get_service_summary(v_s[1], (v_day AT TIME ZONE 'UTC')::date);
                        WHEN 'month_daily' THEN
                            SELECT count(*) INTO v_count FROM wfm.api_get_calls_by_interval(
                                date_trunc('month', v_day AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
                                (date_trunc('month', v_day AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC',
                                1440, v_s[1:1]);
                        END CASE;
                        IF v_i > 0 THEN
                            v_samples := v_samples || (extract(epoch FROM clock_timestamp() - v_t0) * 1000)::numeric;
                            v_returned := v_returned + v_count;
                        END IF;
                        v_i := v_i + 1;
                    END LOOP;
                EXCEPTION WHEN OTHERS THEN
                    v_error := SQLSTATE || ': ' || SQLERRM;
                END;
                IF v_error IS NOT NULL THEN
                    v_rows := v_rows || wfm.health_row('query.' || v_class.category || '.' || v_class.name, 'FAIL',
                        NULL, v_sla, 'ms p95',
                        jsonb_build_object('error', v_error, 'description', v_class.description,
                                           'hint', CASE WHEN v_error LIKE '%has not been populated%'
                                                        THEN 'SELECT * FROM wfm.api_refresh_all_views();' END));
                ELSE
                    v_p95 := wfm.health_p95(v_samples);
                    v_rows := v_rows || wfm.health_row('query.' || v_class.category || '.' || v_class.name,
                        wfm.health_grade(v_p95, v_sla / 2, v_sla), v_p95, v_sla, 'ms p95',
                        wfm.health_sample_stats(v_samples) || jsonb_build_object(
                            'description', v_class.description, 'category', v_class.category,
                            'rows_returned', v_returned, 'sla_ms', v_sla,
                            'rule', 'p95 of the timed calls; FAIL above the guide''s SLA (point 10 / range 100 / aggregation 500 ms), WARN above half of it'));
                END IF;
            END LOOP;

            -- Partition pruning of the real API: the partitions one call of a one-hour range read.
            -- Not hour-aligned (6:15-7:15), so the call reads raw rows: whole aggregated hours are
            -- answered from wfm.agg_quarter_stats (sql/291) without touching a partition.
            SELECT coalesce(jsonb_object_agg(partition::text, scans), '{}'::jsonb) INTO v_before
            FROM wfm.health_partitions_scanned('wfm.contact_statistics');
            PERFORM count(*) FROM wfm.api_get_calls_by_interval(v_recent + interval '6 hours 15 minutes', v_recent + interval '7 hours 15 minutes', 15, v_recent_svc[1:1]);
            SELECT coalesce(jsonb_object_agg(partition::text, scans), '{}'::jsonb) INTO v_after
            FROM wfm.health_partitions_scanned('wfm.contact_statistics');
            SELECT array_agg(key ORDER BY key) INTO v_scanned
            FROM jsonb_each(v_after) a
            WHERE (a.value)::bigint > coalesce((v_before ->> a.key)::bigint, 0);
            v_rows := v_rows || wfm.health_row('query.partition_pruning.api_call',
                CASE WHEN coalesce(cardinality(v_scanned), 0) > 1 THEN 'FAIL' ELSE 'PASS' END,
                coalesce(cardinality(v_scanned), 0), 1, 'partitions',
                jsonb_build_object('call', format('api_get_calls_by_interval(%L, %L, 15, %s)',
                                                  v_recent + interval '6 hours 15 minutes', v_recent + interval '7 hours 15 minutes', v_recent_svc[1:1]),
                                   'partitions_scanned', to_jsonb(coalesce(v_scanned, '{}')),
                                   'rule', 'a one-hour range inside one month must read at most that month''s partition (pg_catalog.pg_stat_xact_user_tables scan counts around the call)'));
        END IF;

        -- The guide's query shape, planned: time filter first prunes to the range's partitions
        -- (plan-time pruning with constants). Works on an empty database too.
        v_day := coalesce(v_recent, date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC');
        v_needed := CASE WHEN date_trunc('month', v_day AT TIME ZONE 'UTC')
                              = date_trunc('month', (v_day + interval '1 day' - interval '1 microsecond') AT TIME ZONE 'UTC')
                         THEN 1 ELSE 2 END;
        v_scanned := wfm.health_explain_partitions(format(
            'SELECT * FROM wfm.service_interval_stats WHERE interval_start_time >= %L AND interval_start_time < %L AND service_id = ANY (%L::integer[])',
            v_day, v_day + interval '1 day', coalesce(v_recent_svc, ARRAY[1])), 'wfm.contact_statistics');
        v_rows := v_rows || wfm.health_row('query.partition_pruning.explain',
            CASE WHEN cardinality(v_scanned) > v_needed THEN 'FAIL' ELSE 'PASS' END,
            cardinality(v_scanned), v_needed, 'partitions',
            jsonb_build_object('query', 'service_interval_stats filtered on one day and services (the view the read API reads)',
                               'day', v_day, 'partitions_in_plan', to_jsonb(v_scanned),
                               'partitions_total', (SELECT count(*) FROM wfm.partitions WHERE parent_table = 'wfm.contact_statistics'::regclass),
                               'rule', 'EXPLAIN (FORMAT JSON): a one-day range plans at most the partitions of its month(s)'));

        RAISE EXCEPTION USING ERRCODE = 'WFRB0';
    EXCEPTION WHEN SQLSTATE 'WFRB0' THEN
        NULL;  -- rolled back on purpose: read locks released
    END;
    RETURN QUERY SELECT * FROM unnest(v_rows);
END
$$;
COMMENT ON FUNCTION wfm.validate_query_performance(integer, numeric, numeric, numeric, integer, numeric) IS
    'Times at least p_runs real calls per read-API class (more, up to 200, while a class stays within p_budget_ms = 1 s) (point: calls_by_interval 15 min, realtime_stats; range: one day x 3 services, 7 days hourly all services; aggregation: service day summary, one month daily) over the most recent and the oldest stored day and several services; p95 vs the guide''s SLAs 10 / 100 / 500 ms (FAIL above, WARN above half). Also checks partition pruning of a real API call (pg_stat_xact_user_tables) and of the planned query (EXPLAIN). Leaves nothing behind, holds no locks after returning.';
REVOKE ALL ON FUNCTION wfm.validate_query_performance(integer, numeric, numeric, numeric, integer, numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.validate_query_performance(integer, numeric, numeric, numeric, integer, numeric) TO wfm_readonly;
