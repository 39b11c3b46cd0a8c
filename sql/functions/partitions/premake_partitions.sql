-- Premake (moved from sql/005): keeps the whole window ready, from the retention window back
-- (retention_months - 1 months before the current UTC month, the first month retention keeps)
-- through premake_months ahead, so that paths which never create partitions (the JSON API)
-- find their months. Tables in name order: the lock order of wfm.ensure_import_partitions.
CREATE OR REPLACE FUNCTION wfm.premake_partitions(p_months_ahead integer DEFAULT NULL) RETURNS SETOF text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_cfg         record;
    v_now         timestamp := pg_catalog.date_trunc('month', pg_catalog.now() AT TIME ZONE 'UTC');
    v_months      date[];
    v_old_timeout text := pg_catalog.current_setting('lock_timeout');
BEGIN
    IF p_months_ahead IS NOT NULL AND p_months_ahead NOT BETWEEN 0 AND 600 THEN
        RAISE EXCEPTION 'premake_partitions: p_months_ahead must be between 0 and 600, not %', p_months_ahead
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR v_cfg IN SELECT c.table_name, c.premake_months, c.retention_months
                 FROM wfm.partition_config c ORDER BY c.table_name::text LOOP
        v_months := ARRAY(
            SELECT m::date FROM pg_catalog.generate_series(
                v_now - pg_catalog.make_interval(months => v_cfg.retention_months - 1),
                v_now + pg_catalog.make_interval(months => coalesce(p_months_ahead, v_cfg.premake_months)),
                interval '1 month') AS m
            WHERE pg_catalog.to_regclass(pg_catalog.format('wfm.%I', wfm.partition_name(v_cfg.table_name, m::date))) IS NULL);
        CONTINUE WHEN pg_catalog.cardinality(v_months) = 0;
        PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('wfm.partitions'), v_cfg.table_name::oid::integer);
        IF v_old_timeout IN ('0', '0ms') THEN
            PERFORM pg_catalog.set_config('lock_timeout', '5s', true);
        END IF;
        RETURN QUERY SELECT * FROM wfm.create_monthly_partitions(v_cfg.table_name, v_months);
    END LOOP;
    PERFORM pg_catalog.set_config('lock_timeout', v_old_timeout, true);
END
$$;
COMMENT ON FUNCTION wfm.premake_partitions(integer) IS
    'Creates the missing months of every partitioned table from the retention window back (retention_months - 1 before the current UTC month) through premake_months ahead (or p_months_ahead); returns the partitions created.';
REVOKE ALL ON FUNCTION wfm.premake_partitions(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.premake_partitions(integer) TO wfm_etl;
