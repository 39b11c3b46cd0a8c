-- wfm.analyze_partitioned_tables (first defined in sql/053_maintenance.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it.

CREATE OR REPLACE FUNCTION wfm.analyze_partitioned_tables()
RETURNS TABLE (table_name text, duration_ms numeric)
LANGUAGE plpgsql
SECURITY DEFINER  -- ANALYZE needs the table owner
SET search_path = wfm, pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_table   regclass;
    v_started timestamptz;
BEGIN
    -- Autovacuum analyzes the partitions but never the partitioned parents, whose statistics
    -- the planner uses for queries spanning partitions (joins, GROUP BY estimates).
    FOR v_table IN SELECT c.table_name FROM wfm.partition_config c ORDER BY c.table_name::text LOOP
        v_started := clock_timestamp();
        EXECUTE format('ANALYZE %s', v_table);
        table_name := v_table::text;
        duration_ms := round(extract(epoch FROM clock_timestamp() - v_started)::numeric * 1000, 1);
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION wfm.analyze_partitioned_tables() IS
    'ANALYZE of every partitioned parent in wfm.partition_config (autovacuum never analyzes parents); returns each table with its duration.';
REVOKE ALL ON FUNCTION wfm.analyze_partitioned_tables() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.analyze_partitioned_tables() TO wfm_etl;
