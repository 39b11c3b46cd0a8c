-- Name of the monthly partition of a table (moved from sql/005; pg_temp last, catalog qualified:
-- a caller's temp table named pg_class must not choose the name of a partition a definer creates).
CREATE OR REPLACE FUNCTION wfm.partition_name(p_table regclass, p_month date) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = wfm, pg_catalog, pg_temp
AS $$
    SELECT (SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = p_table)
           || '_' || pg_catalog.to_char(p_month, 'YYYY_MM')
$$;
COMMENT ON FUNCTION wfm.partition_name(regclass, date) IS
    'Name of the monthly partition of a table, e.g. contact_statistics_2024_01.';
REVOKE ALL ON FUNCTION wfm.partition_name(regclass, date) FROM PUBLIC;
