-- wfm.monitor_resource_usage (first defined in sql/071_monitor_resource_usage.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it.
--
-- monitor_resource_usage(): sizes per partition, unused indexes, cache hit ratios, dead
-- tuples, statistics age of the partitioned parents and connections against max_connections.
-- Thresholds come from trusted tools (cited per check below and in the COMMENT):
--   pghero        unused indexes (idx_scan = 0, not unique), cache hit rate threshold 99 %
--   check_postgres backends: warning 90 %, critical 95 % of max_connections minus reserved
--   PostgreSQL    autovacuum vacuum threshold = autovacuum_vacuum_threshold
--                 + autovacuum_vacuum_scale_factor * reltuples (docs, "Routine Vacuuming")

CREATE OR REPLACE FUNCTION wfm.monitor_resource_usage(
    p_unused_index_min_bytes bigint DEFAULT 1048576,
    p_cache_hit_warn numeric DEFAULT 0.99,
    p_cache_min_blocks bigint DEFAULT 10000,
    p_dead_tuple_factor numeric DEFAULT 2,
    p_dead_tuple_min bigint DEFAULT 10000,
    p_analyze_max_age interval DEFAULT interval '8 days',
    p_connections_warn numeric DEFAULT 0.90,
    p_connections_fail numeric DEFAULT 0.95
) RETURNS SETOF wfm.check_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_rows      wfm.check_result[] := '{}';
    v_rec       record;
    v_details   jsonb;
    v_count     bigint;
    v_hit       numeric;
    v_read      numeric;
    v_ratio     numeric;
    v_reset     timestamptz;
    v_status    text;
    v_age_days  numeric;
    v_has_rows  boolean;
    v_vac_base  numeric := current_setting('autovacuum_vacuum_threshold')::numeric;
    v_vac_scale numeric := current_setting('autovacuum_vacuum_scale_factor')::numeric;
BEGIN
    -- pg_relation_size() and friends take AccessShareLock on every partition; doing the work
    -- in a subtransaction that is rolled back releases those locks before we return, so a
    -- caller's long transaction never holds up partition DDL of an import.
    BEGIN
        -- Sizes: one row per partitioned table with every partition in details.
        FOR v_rec IN
            SELECT p.parent_table,
                   sum(pg_table_size(p.partition))                        AS table_bytes,
                   sum(pg_indexes_size(p.partition))                      AS index_bytes,
                   sum(greatest(c.reltuples, 0))::bigint                  AS est_rows,
                   jsonb_agg(jsonb_build_object(
                       'partition', p.partition_name,
                       'range_start', p.range_start, 'range_end', p.range_end,
                       'is_guard', p.is_guard,
                       'estimated_rows', greatest(c.reltuples, 0)::bigint,
                       'table_bytes', pg_table_size(p.partition),
                       'index_bytes', pg_indexes_size(p.partition))
                       ORDER BY p.range_start NULLS FIRST)                AS partitions
            FROM wfm.partitions p
            JOIN pg_catalog.pg_class c ON c.oid = p.partition
            GROUP BY p.parent_table
            ORDER BY p.parent_table::text
        LOOP
            v_rows := v_rows || wfm.health_row(
                'resources.table_size.' || v_rec.parent_table::text, 'PASS',
                v_rec.table_bytes + v_rec.index_bytes, NULL, 'bytes',
                jsonb_build_object('table_bytes', v_rec.table_bytes, 'index_bytes', v_rec.index_bytes,
                                   'estimated_rows', v_rec.est_rows,
                                   'total_pretty', pg_size_pretty(v_rec.table_bytes + v_rec.index_bytes),
                                   'partitions', v_rec.partitions));
        END LOOP;

        v_rows := v_rows || wfm.health_row('resources.database_size', 'PASS',
            pg_database_size(current_database()), NULL, 'bytes',
            jsonb_build_object('database', current_database(),
                               'pretty', pg_size_pretty(pg_database_size(current_database()))));

        -- Unused indexes as pghero defines them: never scanned (idx_scan = 0) and not unique
        -- (unique and primary-key indexes enforce constraints). The index partitions of a
        -- partitioned index count together: an index used on recent months is not unused
        -- because nobody reads an old month. Small indexes (below the floor) are noise.
        SELECT stats_reset INTO v_reset FROM pg_catalog.pg_stat_database WHERE datname = current_database();
        WITH leaf AS (
            SELECT coalesce(pg_partition_root(ui.indexrelid), ui.indexrelid)::regclass AS index_name,
                   coalesce(pg_partition_root(ui.relid), ui.relid)::regclass           AS table_name,
                   ui.idx_scan, pg_relation_size(ui.indexrelid) AS bytes, i.indisunique,
                   EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.conindid = ui.indexrelid) AS backs_constraint
            FROM pg_catalog.pg_stat_user_indexes ui
            JOIN pg_catalog.pg_index i ON i.indexrelid = ui.indexrelid
            WHERE ui.schemaname = 'wfm'
        ), agg AS (
            SELECT index_name, table_name, sum(idx_scan) AS scans, sum(bytes) AS bytes,
                   bool_or(indisunique OR backs_constraint) AS is_constraint
            FROM leaf GROUP BY index_name, table_name
        )
        SELECT count(*),
               coalesce(jsonb_agg(jsonb_build_object('index', index_name::text, 'table', table_name::text,
                                                     'size_bytes', bytes, 'scans', scans)
                                  ORDER BY bytes DESC), '[]'::jsonb)
        INTO v_count, v_details
        FROM agg
        WHERE scans = 0 AND NOT is_constraint AND bytes >= p_unused_index_min_bytes;
        v_rows := v_rows || wfm.health_row('resources.unused_indexes',
            CASE WHEN v_count > 0 THEN 'WARN' ELSE 'PASS' END, v_count, 0, 'indexes',
            jsonb_build_object('unused', v_details, 'min_bytes', p_unused_index_min_bytes,
                               'stats_since', v_reset,
                               'rule', 'idx_scan = 0 summed over index partitions, not unique/PK, size >= min_bytes (pghero unused_indexes)',
                               'hint', 'Drop an index only after statistics have covered a full business cycle (see stats_since).'));

        -- Cache hit ratios, table and index blocks, as pghero computes them (threshold 99 %).
        -- With too few block accesses the ratio says nothing, so it is reported but not judged.
        FOR v_rec IN
            SELECT 'tables' AS kind, sum(heap_blks_hit)::numeric AS hit, sum(heap_blks_read)::numeric AS rd
            FROM pg_catalog.pg_statio_user_tables
            UNION ALL
            SELECT 'indexes', sum(idx_blks_hit)::numeric, sum(idx_blks_read)::numeric
            FROM pg_catalog.pg_statio_user_indexes
        LOOP
            v_hit := coalesce(v_rec.hit, 0);
            v_read := coalesce(v_rec.rd, 0);
            v_ratio := CASE WHEN v_hit + v_read > 0 THEN v_hit / (v_hit + v_read) END;
            v_status := CASE WHEN v_hit + v_read < p_cache_min_blocks THEN 'PASS'
                             WHEN v_ratio < p_cache_hit_warn THEN 'WARN' ELSE 'PASS' END;
            v_rows := v_rows || wfm.health_row('resources.cache_hit_ratio.' || v_rec.kind, v_status,
                v_ratio, p_cache_hit_warn, 'ratio',
                jsonb_build_object('blocks_hit', v_hit, 'blocks_read', v_read, 'stats_since', v_reset,
                                   'judged', v_hit + v_read >= p_cache_min_blocks,
                                   'min_blocks', p_cache_min_blocks,
                                   'rule', 'hit / (hit + read) of pg_statio_user_' || v_rec.kind
                                       || '; WARN below 99 % (pghero cache_hit_rate_threshold); not judged below min_blocks accesses',
                                   'hint', 'A low ratio means the working set does not fit shared_buffers: raise shared_buffers or add RAM.'));
        END LOOP;

        -- Dead tuples: autovacuum should vacuum a table once its dead tuples pass
        -- autovacuum_vacuum_threshold + autovacuum_vacuum_scale_factor * live tuples; a table
        -- at p_dead_tuple_factor times that point means autovacuum is not keeping up. Tables
        -- with fewer than p_dead_tuple_min dead tuples are not judged: they cost nothing and
        -- autovacuum reaches them within a naptime (the rolled-back probes of this suite leave
        -- a few thousand dead tuples themselves).
        SELECT count(*) FILTER (WHERE ratio > p_dead_tuple_factor AND n_dead_tup >= p_dead_tuple_min),
               max(ratio) FILTER (WHERE n_dead_tup >= p_dead_tuple_min),
               coalesce(jsonb_agg(jsonb_build_object('table', relname, 'dead_tuples', n_dead_tup,
                                                     'live_tuples', n_live_tup,
                                                     'autovacuum_trigger', round(trigger_at),
                                                     'last_autovacuum', last_autovacuum,
                                                     'last_vacuum', last_vacuum)
                                  ORDER BY ratio DESC)
                        FILTER (WHERE ratio > p_dead_tuple_factor AND n_dead_tup >= p_dead_tuple_min), '[]'::jsonb)
        INTO v_count, v_ratio, v_details
        FROM (SELECT relname, n_dead_tup, n_live_tup, last_autovacuum, last_vacuum,
                     v_vac_base + v_vac_scale * n_live_tup AS trigger_at,
                     n_dead_tup / (v_vac_base + v_vac_scale * n_live_tup) AS ratio
              FROM pg_catalog.pg_stat_user_tables WHERE schemaname = 'wfm') t;
        v_rows := v_rows || wfm.health_row('resources.dead_tuples',
            CASE WHEN v_count > 0 THEN 'WARN' ELSE 'PASS' END, round(coalesce(v_ratio, 0), 3), p_dead_tuple_factor,
            'x autovacuum trigger',
            jsonb_build_object('tables_behind', v_details,
                               'autovacuum_vacuum_threshold', v_vac_base,
                               'autovacuum_vacuum_scale_factor', v_vac_scale, 'min_dead_tuples', p_dead_tuple_min,
                               'rule', 'n_dead_tup / (autovacuum_vacuum_threshold + scale_factor * n_live_tup) > factor with at least min_dead_tuples: autovacuum is behind (PostgreSQL docs, Routine Vacuuming)'));

        -- Statistics of the partitioned parents: autovacuum analyzes partitions but never
        -- their parents, so planner estimates over a whole table go stale unless ANALYZE runs
        -- (weekly schedule; 8 days = a week plus a day of grace).
        FOR v_rec IN
            SELECT c.oid::regclass AS parent, c.relname,
                   greatest(s.last_analyze, s.last_autoanalyze) AS analyzed_at
            FROM pg_catalog.pg_partitioned_table pt
            JOIN pg_catalog.pg_class c ON c.oid = pt.partrelid
            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'wfm'
            LEFT JOIN pg_catalog.pg_stat_user_tables s ON s.relid = c.oid
            ORDER BY c.relname
        LOOP
            -- Not reltuples: partitions freshly loaded and not yet analyzed report -1.
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', v_rec.parent) INTO v_has_rows;
            v_age_days := round((extract(epoch FROM now() - v_rec.analyzed_at) / 86400)::numeric, 3);
            v_status := CASE WHEN NOT v_has_rows THEN 'PASS'
                             WHEN v_rec.analyzed_at IS NULL THEN 'WARN'
                             WHEN now() - v_rec.analyzed_at > p_analyze_max_age THEN 'WARN'
                             ELSE 'PASS' END;
            v_rows := v_rows || wfm.health_row('resources.last_analyze.' || v_rec.relname, v_status,
                v_age_days, round((extract(epoch FROM p_analyze_max_age) / 86400)::numeric, 3), 'days',
                jsonb_build_object('last_analyze', v_rec.analyzed_at, 'has_rows', v_has_rows,
                                   'measured_text', CASE WHEN v_rec.analyzed_at IS NULL THEN 'never' END,
                                   'rule', 'partitioned parents are never auto-analyzed; WARN when a non-empty parent was never analyzed or longer ago than the limit',
                                   'hint', format('ANALYZE wfm.%I;', v_rec.relname)));
        END LOOP;

        v_rows := v_rows || wfm.health_connections('resources.connections', p_connections_warn, p_connections_fail);

        RAISE EXCEPTION USING ERRCODE = 'WFRB0';
    EXCEPTION WHEN SQLSTATE 'WFRB0' THEN
        NULL;  -- rolled back on purpose: locks released, nothing written
    END;
    RETURN QUERY SELECT * FROM unnest(v_rows);
END
$$;
COMMENT ON FUNCTION wfm.monitor_resource_usage(bigint, numeric, bigint, numeric, bigint, interval, numeric, numeric) IS
    'Resource report: size per partition (details), database size, unused indexes (pghero: idx_scan = 0, not unique, >= 1 MB), cache hit ratio of tables and indexes (WARN < 99 %, pghero; not judged under 10,000 block accesses), dead tuples beyond 2x the autovacuum trigger and 10,000 (PostgreSQL docs), parents not analyzed within 8 days, connections (check_postgres: WARN 90 %, FAIL 95 %). Holds no locks after returning.';
REVOKE ALL ON FUNCTION wfm.monitor_resource_usage(bigint, numeric, bigint, numeric, bigint, interval, numeric, numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.monitor_resource_usage(bigint, numeric, bigint, numeric, bigint, interval, numeric, numeric) TO wfm_readonly;
