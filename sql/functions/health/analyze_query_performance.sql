-- wfm.analyze_query_performance (first defined in sql/073_analyze_query_performance.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it.
--
-- analyze_query_performance(): the statements that cost the database most, from
-- pg_stat_statements when it is installed; otherwise one WARN row that says how to enable it.
-- A statement is "slow" as pghero defines it: mean time >= 20 ms over >= 100 calls
-- (pghero slow_query_ms = 20, slow_query_calls = 100).

CREATE OR REPLACE FUNCTION wfm.analyze_query_performance(
    p_limit integer DEFAULT 10,
    p_slow_mean_ms numeric DEFAULT 20,
    p_slow_min_calls bigint DEFAULT 100
) RETURNS SETOF wfm.check_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_schema     text;
    v_available  boolean;
    v_preloaded  boolean;
    v_rec        record;
    v_rank       integer := 0;
    v_slow       bigint := 0;
    v_slow_list  jsonb := '[]'::jsonb;
    v_rows       wfm.check_result[] := '{}';
    v_how        text;
BEGIN
    SELECT n.nspname INTO v_schema
    FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_stat_statements';
    v_available := EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = 'pg_stat_statements');
    v_preloaded := 'pg_stat_statements' = ANY (string_to_array(
        replace(current_setting('shared_preload_libraries'), ' ', ''), ','));

    IF v_schema IS NULL OR NOT v_preloaded THEN
        v_how := CASE
            WHEN NOT v_available THEN
                'pg_stat_statements is not installed on this server (the embedded PostgreSQL ships no contrib modules). '
                'Use a PostgreSQL with contrib (e.g. Debian/Ubuntu postgresql-15, or WFM_DATABASE_URL to such a server), then: '
                'set shared_preload_libraries = ''pg_stat_statements'' in postgresql.conf, restart the server, and run '
                'CREATE EXTENSION pg_stat_statements; in the WFM database.'
            WHEN NOT v_preloaded THEN
                'pg_stat_statements is available but not loaded: add it to shared_preload_libraries in postgresql.conf '
                '(ALTER SYSTEM SET shared_preload_libraries = ''pg_stat_statements''), restart the server'
                || CASE WHEN v_schema IS NULL THEN ', then run CREATE EXTENSION pg_stat_statements; in the WFM database.' ELSE '.' END
            ELSE
                'pg_stat_statements is loaded but not created in this database: run CREATE EXTENSION pg_stat_statements;'
        END;
        RETURN NEXT wfm.health_row('query_stats.pg_stat_statements', 'WARN', NULL, NULL, 'statements',
            jsonb_build_object('installed', v_schema IS NOT NULL, 'available', v_available,
                               'preloaded', v_preloaded, 'how_to_enable', v_how));
        RETURN;
    END IF;

    BEGIN
        FOR v_rec IN EXECUTE format(
            'SELECT queryid, query, calls, total_exec_time, mean_exec_time, rows,
                    shared_blks_hit, shared_blks_read
             FROM %I.pg_stat_statements
             WHERE dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
             ORDER BY total_exec_time DESC', v_schema)
        LOOP
            IF v_rec.mean_exec_time >= p_slow_mean_ms AND v_rec.calls >= p_slow_min_calls THEN
                v_slow := v_slow + 1;
                IF v_slow <= p_limit THEN
                    v_slow_list := v_slow_list || jsonb_build_object(
                        'queryid', v_rec.queryid, 'query', left(v_rec.query, 300),
                        'calls', v_rec.calls, 'mean_ms', round(v_rec.mean_exec_time::numeric, 3));
                END IF;
            END IF;
            v_rank := v_rank + 1;
            IF v_rank <= p_limit THEN
                v_rows := v_rows || wfm.health_row(
                    'query_stats.top.' || lpad(v_rank::text, 2, '0'),
                    CASE WHEN v_rec.mean_exec_time >= p_slow_mean_ms AND v_rec.calls >= p_slow_min_calls
                         THEN 'WARN' ELSE 'PASS' END,
                    round(v_rec.total_exec_time::numeric, 3), NULL, 'ms total',
                    jsonb_build_object('queryid', v_rec.queryid, 'query', left(v_rec.query, 500),
                                       'calls', v_rec.calls,
                                       'mean_ms', round(v_rec.mean_exec_time::numeric, 3),
                                       'rows', v_rec.rows,
                                       'cache_hit_ratio', round(v_rec.shared_blks_hit::numeric
                                           / nullif(v_rec.shared_blks_hit + v_rec.shared_blks_read, 0), 5)));
            END IF;
        END LOOP;
    EXCEPTION WHEN object_not_in_prerequisite_state THEN
        RETURN NEXT wfm.health_row('query_stats.pg_stat_statements', 'WARN', NULL, NULL, 'statements',
            jsonb_build_object('error', SQLERRM,
                               'how_to_enable', 'add pg_stat_statements to shared_preload_libraries and restart the server'));
        RETURN;
    END;

    RETURN NEXT wfm.health_row('query_stats.pg_stat_statements', 'PASS', v_rank, NULL, 'statements',
        jsonb_build_object('installed', true, 'schema', v_schema, 'statements_tracked', v_rank));
    RETURN NEXT wfm.health_row('query_stats.slow_statements',
        CASE WHEN v_slow > 0 THEN 'WARN' ELSE 'PASS' END, v_slow, 0, 'statements',
        jsonb_build_object('slow', v_slow_list, 'slow_mean_ms', p_slow_mean_ms, 'min_calls', p_slow_min_calls,
                           'rule', 'mean_exec_time >= 20 ms over >= 100 calls (pghero slow_query_ms / slow_query_calls)'));
    RETURN QUERY SELECT * FROM unnest(v_rows);
END
$$;
COMMENT ON FUNCTION wfm.analyze_query_performance(integer, numeric, bigint) IS
    'Top statements of this database by total execution time from pg_stat_statements, flagging slow ones (pghero: mean >= 20 ms over >= 100 calls); without the extension one WARN row saying how to enable it (shared_preload_libraries + CREATE EXTENSION).';
REVOKE ALL ON FUNCTION wfm.analyze_query_performance(integer, numeric, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.analyze_query_performance(integer, numeric, bigint) TO wfm_readonly;
