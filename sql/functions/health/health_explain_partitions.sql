-- wfm.health_explain_partitions (first defined in sql/074_validate_query_performance.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it.

-- Partitions named in the EXPLAIN (FORMAT JSON) plan of a query.
CREATE OR REPLACE FUNCTION wfm.health_explain_partitions(p_query text, p_parent regclass)
RETURNS text[]
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_plan jsonb;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) ' || p_query INTO v_plan;
    RETURN ARRAY(
        SELECT DISTINCT r #>> '{}'
        FROM jsonb_path_query(v_plan, '$.**."Relation Name"') r
        WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
                      WHERE i.inhparent = p_parent AND c.relname = r #>> '{}')
        ORDER BY 1);
END
$$;
COMMENT ON FUNCTION wfm.health_explain_partitions(text, regclass) IS
    'Partitions of p_parent that appear in the EXPLAIN (FORMAT JSON) plan of p_query (the query is planned, not run).';
REVOKE ALL ON FUNCTION wfm.health_explain_partitions(text, regclass) FROM PUBLIC;
