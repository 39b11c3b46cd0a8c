-- Explicit creation of a range of months (moved from sql/005): administrators, tests, the
-- benchmark data sets. Imports use wfm.ensure_import_partitions instead (bounded by the
-- on-demand window of wfm.partition_config).
CREATE OR REPLACE FUNCTION wfm.ensure_monthly_partitions(p_table regclass, p_from timestamptz, p_to timestamptz)
RETURNS SETOF text
LANGUAGE plpgsql
SECURITY DEFINER  -- callers (ETL) need not own the tables to add partitions
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_first_month  date;
    v_last_month   date;
    v_months       date[];
    v_old_timeout  text := pg_catalog.current_setting('lock_timeout');
BEGIN
    IF p_table IS NULL OR p_from IS NULL OR p_to IS NULL THEN
        RAISE EXCEPTION 'ensure_monthly_partitions: p_table, p_from and p_to must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF p_to < p_from THEN
        RAISE EXCEPTION 'ensure_monthly_partitions: p_to (%) is before p_from (%)', p_to, p_from
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM wfm.partition_config c WHERE c.table_name = p_table) THEN
        RAISE EXCEPTION '% is not a monthly-partitioned WFM table', p_table
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Tables are registered in wfm.partition_config.';
    END IF;

    v_first_month := pg_catalog.date_trunc('month', p_from AT TIME ZONE 'UTC')::date;
    v_last_month  := pg_catalog.date_trunc('month', p_to AT TIME ZONE 'UTC')::date;
    IF v_last_month - v_first_month > 3660 THEN
        RAISE EXCEPTION 'ensure_monthly_partitions: range % .. % spans more than ten years', p_from, p_to
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Create long ranges in steps of at most ten years.';
    END IF;
    v_months := ARRAY(SELECT m::date FROM pg_catalog.generate_series(v_first_month::timestamp, v_last_month::timestamp,
                                                                      interval '1 month') AS m);

    -- Fast path without locks: everything already exists (the common case).
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(v_months) AS m
                   WHERE pg_catalog.to_regclass(pg_catalog.format('wfm.%I', wfm.partition_name(p_table, m))) IS NULL) THEN
        RETURN;
    END IF;

    -- Serialize creators of this table's partitions (create_monthly_partitions looks again
    -- under the lock). A short lock_timeout (unless the caller set one) keeps a busy table
    -- from queueing readers behind our ACCESS EXCLUSIVE request for long.
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('wfm.partitions'), p_table::oid::integer);
    IF v_old_timeout IN ('0', '0ms') THEN
        PERFORM pg_catalog.set_config('lock_timeout', '5s', true);
    END IF;
    RETURN QUERY SELECT * FROM wfm.create_monthly_partitions(p_table, v_months);
    PERFORM pg_catalog.set_config('lock_timeout', v_old_timeout, true);
END
$$;
COMMENT ON FUNCTION wfm.ensure_monthly_partitions(regclass, timestamptz, timestamptz) IS
    'Idempotently creates the monthly (UTC) partitions of a registered table covering p_from..p_to inclusive (at most ten years); returns the names created. Serialized by an advisory lock, with a short lock_timeout. Not bounded by the on-demand window: imports use wfm.ensure_import_partitions.';
REVOKE ALL ON FUNCTION wfm.ensure_monthly_partitions(regclass, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.ensure_monthly_partitions(regclass, timestamptz, timestamptz) TO wfm_etl;
