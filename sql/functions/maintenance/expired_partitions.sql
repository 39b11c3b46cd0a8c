-- wfm.expired_partitions (first defined in sql/053_maintenance.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it.

CREATE OR REPLACE FUNCTION wfm.expired_partitions(p_now timestamptz DEFAULT now())
RETURNS TABLE (parent_table regclass, partition regclass, partition_name text,
               range_start timestamptz, range_end timestamptz, estimated_rows bigint)
LANGUAGE sql STABLE
SET search_path = wfm, pg_catalog, pg_temp
AS $$
    -- Keep retention_months months: the current UTC month and the (retention_months - 1)
    -- before it. A partition is expired when it ends at or before the first kept month.
    SELECT p.parent_table, p.partition, p.partition_name, p.range_start, p.range_end, p.estimated_rows
    FROM wfm.partition_config c
    JOIN wfm.partitions p ON p.parent_table = c.table_name AND NOT p.is_guard
    WHERE c.retention_enabled
      AND p.range_end <= (date_trunc('month', p_now AT TIME ZONE 'UTC')
                          - make_interval(months => c.retention_months - 1)) AT TIME ZONE 'UTC'
    ORDER BY p.parent_table::text, p.range_start
$$;
COMMENT ON FUNCTION wfm.expired_partitions(timestamptz) IS
    'Partitions older than their table''s retention horizon (only tables with retention_enabled): what detach_expired_partitions would detach.';
REVOKE ALL ON FUNCTION wfm.expired_partitions(timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.expired_partitions(timestamp with time zone) TO wfm_etl;
