-- wfm.database_health_check (first defined in sql/072_database_health_check.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it.
--
-- database_health_check(): the quick status an operator (and the daily Dagster schedule) asks
-- for. Cheap: catalog and statistics views plus a count of the (always empty) guard
-- partitions. Thresholds:
--   long-running queries     60 s (the guide; pghero long_running_query_sec = 60); FAIL at 5x
--   blocked sessions         any WARN; blocked longer than the long-query limit FAIL
--   wraparound               age(datfrozenxid) WARN >= 1.3 billion, FAIL >= 1.4 billion
--                            (check_postgres txn_wraparound defaults; hard stop near 2^31)
--   connections              check_postgres backends: WARN 90 %, FAIL 95 %
--   premade partitions       any missing month (current + premake_months ahead) FAIL
--   rows in guard partitions any FAIL (a guard's trigger was bypassed)
--   view freshness           data imported after the last refresh of the aggregates and
--                            older than the refresh schedule (hourly + 5 min grace) WARN;
--                            older than a day (the guide's daily refresh) FAIL; never built
--                            FAIL (reads stay current, but aggregate raw rows: slow)
--   imports                  failed or rejected in the last day WARN; running > 1 h WARN

CREATE OR REPLACE FUNCTION wfm.database_health_check(
    p_long_query_seconds numeric DEFAULT 60,
    p_long_query_fail_seconds numeric DEFAULT 300,
    p_wraparound_warn bigint DEFAULT 1300000000,
    p_wraparound_fail bigint DEFAULT 1400000000,
    p_view_max_lag interval DEFAULT interval '65 minutes',
    p_view_fail_lag interval DEFAULT interval '1 day',
    p_connections_warn numeric DEFAULT 0.90,
    p_connections_fail numeric DEFAULT 0.95
) RETURNS SETOF wfm.check_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_rows        wfm.check_result[] := '{}';
    v_rec         record;
    v_count       bigint;
    v_max         numeric;
    v_details     jsonb;
    v_status      text;
    v_n           bigint;
    v_total       bigint;
    v_freeze_max  bigint := current_setting('autovacuum_freeze_max_age')::bigint;
    v_last        timestamptz;
    v_stale_since timestamptz;
    v_lag_min     numeric;
BEGIN
    v_rows := v_rows || wfm.health_connections('health.connections', p_connections_warn, p_connections_fail);

    -- Long-running statements of this database (other backends only).
    SELECT count(*), max(extract(epoch FROM now() - query_start)),
           coalesce(jsonb_agg(jsonb_build_object('pid', pid, 'user', usename, 'seconds',
                                                 round(extract(epoch FROM now() - query_start)::numeric, 1),
                                                 'query', left(query, 300))
                              ORDER BY query_start), '[]'::jsonb)
    INTO v_count, v_max, v_details
    FROM pg_catalog.pg_stat_activity
    WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()
      AND state = 'active' AND now() - query_start > make_interval(secs => p_long_query_seconds);
    v_rows := v_rows || wfm.health_row('health.long_running_queries',
        CASE WHEN v_max > p_long_query_fail_seconds THEN 'FAIL' WHEN v_count > 0 THEN 'WARN' ELSE 'PASS' END,
        coalesce(v_max, 0), p_long_query_seconds, 'seconds',
        jsonb_build_object('queries', v_details, 'count', v_count, 'fail_after_seconds', p_long_query_fail_seconds,
                           'rule', 'active statements running longer than the limit (guide: 60 s; pghero long_running_query_sec)'));

    -- Long-open transactions (also idle in transaction): they hold locks and hold back vacuum.
    SELECT count(*), max(extract(epoch FROM now() - xact_start)),
           coalesce(jsonb_agg(jsonb_build_object('pid', pid, 'user', usename, 'state', state, 'seconds',
                                                 round(extract(epoch FROM now() - xact_start)::numeric, 1),
                                                 'last_query', left(query, 300))
                              ORDER BY xact_start), '[]'::jsonb)
    INTO v_count, v_max, v_details
    FROM pg_catalog.pg_stat_activity
    WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()
      AND xact_start IS NOT NULL AND now() - xact_start > make_interval(secs => p_long_query_seconds);
    v_rows := v_rows || wfm.health_row('health.long_transactions',
        CASE WHEN v_max > p_long_query_fail_seconds THEN 'FAIL' WHEN v_count > 0 THEN 'WARN' ELSE 'PASS' END,
        coalesce(v_max, 0), p_long_query_seconds, 'seconds',
        jsonb_build_object('transactions', v_details, 'count', v_count, 'fail_after_seconds', p_long_query_fail_seconds,
                           'rule', 'transactions open longer than the limit, idle in transaction included: they hold locks and keep vacuum from cleaning up'));

    -- Sessions waiting for a lock held by another session.
    SELECT count(*), max(extract(epoch FROM now() - coalesce(state_change, query_start))),
           coalesce(jsonb_agg(jsonb_build_object('pid', pid, 'blocked_by', pg_blocking_pids(pid),
                                                 'waiting_seconds', round(extract(epoch FROM now() - coalesce(state_change, query_start))::numeric, 1),
                                                 'wait_event', wait_event, 'query', left(query, 300))
                              ORDER BY query_start), '[]'::jsonb)
    INTO v_count, v_max, v_details
    FROM pg_catalog.pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
      AND cardinality(pg_blocking_pids(pid)) > 0;
    v_rows := v_rows || wfm.health_row('health.blocked_queries',
        CASE WHEN v_max > p_long_query_seconds THEN 'FAIL' WHEN v_count > 0 THEN 'WARN' ELSE 'PASS' END,
        v_count, 0, 'sessions',
        jsonb_build_object('blocked', v_details, 'fail_after_seconds', p_long_query_seconds,
                           'rule', 'sessions with pg_blocking_pids() not empty; FAIL when one waits longer than the long-query limit'));

    -- Transaction ID wraparound headroom of every database of the cluster (one shared XID space).
    SELECT max(age(datfrozenxid)),
           jsonb_agg(jsonb_build_object('database', datname, 'xid_age', age(datfrozenxid),
                                        'share_of_2_31', round(age(datfrozenxid) / 2147483648.0, 4))
                     ORDER BY age(datfrozenxid) DESC)
    INTO v_n, v_details
    FROM pg_catalog.pg_database WHERE datallowconn;
    v_rows := v_rows || wfm.health_row('health.wraparound',
        CASE WHEN v_n >= p_wraparound_fail THEN 'FAIL' WHEN v_n >= p_wraparound_warn THEN 'WARN' ELSE 'PASS' END,
        v_n, p_wraparound_warn, 'xids',
        jsonb_build_object('databases', v_details, 'autovacuum_freeze_max_age', v_freeze_max,
                           'autovacuum_behind', v_n > v_freeze_max,
                           'headroom_xids', 2147483648 - v_n, 'fail_at', p_wraparound_fail,
                           'rule', 'max age(datfrozenxid); WARN >= 1.3e9, FAIL >= 1.4e9 (check_postgres txn_wraparound); PostgreSQL stops assigning XIDs near 2^31'));

    -- Premade partitions: the current month plus premake_months ahead for every table.
    SELECT count(*), coalesce(jsonb_agg(jsonb_build_object('table', mp.table_name::text, 'month', to_char(mp.month, 'YYYY-MM'),
                                                           'partition', 'wfm.' || wfm.partition_name(mp.table_name, mp.month))
                                        ORDER BY mp.table_name::text, mp.month), '[]'::jsonb)
    INTO v_count, v_details
    FROM wfm.missing_premade_partitions mp;
    v_rows := v_rows || wfm.health_row('health.partitions_premade',
        CASE WHEN v_count > 0 THEN 'FAIL' ELSE 'PASS' END, v_count, 0, 'missing partitions',
        jsonb_build_object('missing', v_details,
                           'premade', (SELECT jsonb_agg(jsonb_build_object(
                                                'table', c.table_name::text,
                                                'through', to_char(date_trunc('month', now() AT TIME ZONE 'UTC')
                                                                   + make_interval(months => c.premake_months), 'YYYY-MM'))
                                            ORDER BY c.table_name::text)
                                       FROM wfm.partition_config c),
                           'rule', 'every table of wfm.partition_config has the current UTC month and premake_months ahead',
                           'hint', 'SELECT wfm.premake_partitions();  (or run partition_premake_job in Dagster)'));

    -- Rows stuck outside partitions: the guards are empty unless their trigger was bypassed.
    -- Counting takes AccessShareLock on each guard; the subtransaction releases it at once.
    v_total := 0;
    v_details := '[]'::jsonb;
    BEGIN
        FOR v_rec IN SELECT partition, parent_table FROM wfm.partitions WHERE is_guard ORDER BY partition_name LOOP
            EXECUTE format('SELECT count(*) FROM %s', v_rec.partition) INTO v_n;
            IF v_n > 0 THEN
                v_total := v_total + v_n;
                v_details := v_details || jsonb_build_object('guard', v_rec.partition::text,
                                                             'table', v_rec.parent_table::text, 'rows', v_n);
            END IF;
        END LOOP;
        RAISE EXCEPTION USING ERRCODE = 'WFRB0';
    EXCEPTION WHEN SQLSTATE 'WFRB0' THEN
        NULL;
    END;
    v_rows := v_rows || wfm.health_row('health.rows_outside_partitions',
        CASE WHEN v_total > 0 THEN 'FAIL' ELSE 'PASS' END, v_total, 0, 'rows',
        jsonb_build_object('guards_with_rows', v_details,
                           'rule', 'guard partitions cover months without a partition and must stay empty',
                           'hint', 'Create the months (wfm.ensure_monthly_partitions), then move the rows: INSERT INTO the parent from the guard and DELETE them from the guard, in one transaction.'));

    -- Aggregates (sql/200): built, and refreshed after the last data change within the schedule.
    -- Readers stay current either way; what is not refreshed is read raw (slower reads).
    FOR v_rec IN
        SELECT a.view_name, split_part(a.view_name, '.', 2) AS matviewname,
               a.materialized_until IS NOT NULL AS ispopulated
        FROM wfm.aggregates a ORDER BY 2
    LOOP
        SELECT max(started_at) INTO v_last FROM wfm.view_refresh_history
        WHERE view_name = v_rec.view_name;
        -- Earliest data change (a finished import) the view has not seen yet.
        SELECT min(coalesce(finished_at, created_at)) INTO v_stale_since
        FROM wfm.import_batches
        WHERE status IN ('completed', 'completed_with_errors', 'reverted')
          AND coalesce(finished_at, created_at) > coalesce(v_last, '-infinity'::timestamptz);
        v_lag_min := CASE WHEN v_stale_since IS NULL THEN 0
                          ELSE round((extract(epoch FROM now() - v_stale_since) / 60)::numeric, 1) END;
        v_status := CASE
            WHEN NOT v_rec.ispopulated THEN 'FAIL'
            WHEN v_stale_since IS NULL THEN 'PASS'
            WHEN now() - v_stale_since > p_view_fail_lag THEN 'FAIL'
            WHEN now() - v_stale_since > p_view_max_lag THEN 'WARN'
            ELSE 'PASS' END;
        v_rows := v_rows || wfm.health_row('health.view_freshness.' || v_rec.matviewname, v_status,
            v_lag_min, round((extract(epoch FROM p_view_max_lag) / 60)::numeric, 1), 'minutes',
            jsonb_build_object('populated', v_rec.ispopulated, 'last_refresh', v_last,
                               'unseen_changes_since', v_stale_since,
                               'fail_after_minutes', round((extract(epoch FROM p_view_fail_lag) / 60)::numeric, 1),
                               'rule', 'minutes since the first import the view has not seen (finished after the start of its last refresh in wfm.view_refresh_history); WARN beyond the hourly schedule + grace, FAIL beyond a day',
                               'hint', 'SELECT * FROM wfm.api_refresh_all_views();'));
    END LOOP;

    -- Imports of the last day that failed or were rejected as a whole, and imports stuck running.
    SELECT count(*), coalesce(jsonb_agg(jsonb_build_object('import_batch_id', import_batch_id, 'status', status,
                                                           'source', source, 'file_name', file_name,
                                                           'created_at', created_at, 'error', left(error_message, 300))
                                        ORDER BY created_at DESC), '[]'::jsonb)
    INTO v_count, v_details
    FROM wfm.import_batches
    WHERE created_at > now() - interval '1 day' AND status IN ('failed', 'rejected');
    v_rows := v_rows || wfm.health_row('health.failed_imports',
        CASE WHEN v_count > 0 THEN 'WARN' ELSE 'PASS' END, v_count, 0, 'imports',
        jsonb_build_object('imports', v_details,
                           'rule', 'import_batches with status failed or rejected created in the last 24 h',
                           'hint', 'SELECT * FROM wfm.import_errors WHERE import_batch_id = ''<id>'';'));

    SELECT count(*), coalesce(jsonb_agg(jsonb_build_object('import_batch_id', import_batch_id, 'source', source,
                                                           'file_name', file_name, 'created_at', created_at)
                                        ORDER BY created_at), '[]'::jsonb)
    INTO v_count, v_details
    FROM wfm.import_batches
    WHERE status = 'running'
      AND (created_at < now() - interval '1 hour'
           -- its session is gone (killed hard): wfm.sweep_interrupted_imports() will mark it failed
           OR (backend_pid IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a
                               WHERE a.pid = import_batches.backend_pid AND a.backend_start = import_batches.backend_start)));
    v_rows := v_rows || wfm.health_row('health.stuck_imports',
        CASE WHEN v_count > 0 THEN 'WARN' ELSE 'PASS' END, v_count, 0, 'imports',
        jsonb_build_object('imports', v_details,
                           'rule', 'import_batches still running an hour after they started, or whose importing session is gone (the process died before recording failed)',
                           'hint', 'SELECT * FROM wfm.sweep_interrupted_imports(); marks those whose session is gone as failed'));

    RETURN QUERY SELECT * FROM unnest(v_rows);
END
$$;
COMMENT ON FUNCTION wfm.database_health_check(numeric, numeric, bigint, bigint, interval, interval, numeric, numeric) IS
    'Quick health status: connections (check_postgres WARN 90 % / FAIL 95 %), statements and transactions older than 60 s (guide, pghero; FAIL at 300 s), blocked sessions (pg_blocking_pids), wraparound age (check_postgres WARN 1.3e9 / FAIL 1.4e9), missing premade partitions, rows in guard partitions, materialized views not refreshed within 65 min of a data change (WARN; a day FAIL), failed/rejected imports in the last day, imports stuck running (over an hour, or their session gone). Thresholds are parameters; holds no locks after returning.';
REVOKE ALL ON FUNCTION wfm.database_health_check(numeric, numeric, bigint, bigint, interval, interval, numeric, numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.database_health_check(numeric, numeric, bigint, bigint, interval, interval, numeric, numeric) TO wfm_readonly;
