-- wfm.health_partitions_scanned (first defined in sql/074_validate_query_performance.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it.

-- Partitions of a partitioned table scanned so far in this transaction (pg_stat_xact_*
-- counts this transaction's scans, even those of rolled-back subtransactions).
CREATE OR REPLACE FUNCTION wfm.health_partitions_scanned(p_parent regclass)
RETURNS TABLE (partition regclass, scans bigint)
LANGUAGE sql STABLE
SET search_path = wfm, pg_catalog, pg_temp
AS $$
    SELECT s.relid::regclass, s.seq_scan + coalesce(s.idx_scan, 0)
    FROM pg_catalog.pg_stat_xact_user_tables s
    JOIN pg_catalog.pg_inherits i ON i.inhrelid = s.relid AND i.inhparent = p_parent
$$;
COMMENT ON FUNCTION wfm.health_partitions_scanned(regclass) IS
    'Scan count per partition of p_parent in the current transaction (pg_stat_xact_user_tables); diff two calls to see which partitions a statement read.';
REVOKE ALL ON FUNCTION wfm.health_partitions_scanned(regclass) FROM PUBLIC;
