-- The months an import may create on demand for a table (wfm.partition_config).
CREATE OR REPLACE FUNCTION wfm.partition_window(p_table regclass, p_now timestamptz DEFAULT pg_catalog.now())
RETURNS TABLE (first_month date, last_month date, max_new_months integer)
LANGUAGE sql STABLE
SET search_path = wfm, pg_catalog, pg_temp
AS $$
    SELECT (x.m - pg_catalog.make_interval(months => CASE WHEN c.retention_enabled
                                                      THEN LEAST(c.ondemand_months_back, c.retention_months - 1)
                                                      ELSE c.ondemand_months_back END))::date,
           (x.m + pg_catalog.make_interval(months => c.ondemand_months_ahead))::date,
           c.ondemand_max_new_months
    FROM wfm.partition_config c
    CROSS JOIN LATERAL (SELECT pg_catalog.date_trunc('month', p_now AT TIME ZONE 'UTC') AS m) x
    WHERE c.table_name = p_table
$$;
COMMENT ON FUNCTION wfm.partition_window(regclass, timestamptz) IS
    'On-demand partition window of a table: first and last UTC month an import may create (ondemand_months_back/ahead of wfm.partition_config around the current month; never before the retention horizon when retention is enabled) and how many months one import may create.';
REVOKE ALL ON FUNCTION wfm.partition_window(regclass, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.partition_window(regclass, timestamptz) TO wfm_etl, wfm_readonly;
