-- Internal: the one place that creates monthly partitions. Creates the months of p_months
-- that have no partition yet, with ONE drop/rebuild of the table's guards (creating months one
-- call at a time rebuilt every guard per month: 150 scattered months exhausted
-- max_locks_per_transaction). Callers hold the table's partition advisory lock
-- (pg_advisory_xact_lock(hashtext('wfm.partitions'), table oid)) and bound the count.
CREATE OR REPLACE FUNCTION wfm.create_monthly_partitions(p_table regclass, p_months date[])
RETURNS SETOF text
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_schema  text;
    v_rel     text;
    v_missing date[];
    v_month   date;
    v_name    text;
BEGIN
    SELECT n.nspname, c.relname INTO v_schema, v_rel
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = p_table;
    IF v_schema IS DISTINCT FROM 'wfm' THEN
        RAISE EXCEPTION '% is not a table of schema wfm', p_table USING ERRCODE = 'invalid_parameter_value';
    END IF;

    v_missing := ARRAY(
        SELECT DISTINCT pg_catalog.date_trunc('month', m)::date
        FROM pg_catalog.unnest(p_months) AS m
        WHERE m IS NOT NULL
          AND pg_catalog.to_regclass(pg_catalog.format('%I.%I', v_schema,
                  wfm.partition_name(p_table, pg_catalog.date_trunc('month', m)::date))) IS NULL
        ORDER BY 1);
    IF pg_catalog.cardinality(v_missing) = 0 THEN
        RETURN;
    END IF;

    -- Guards overlap the months to create: drop them, create, then cover the gaps again.
    PERFORM wfm.drop_partition_guards(p_table);
    FOREACH v_month IN ARRAY v_missing LOOP
        v_name := wfm.partition_name(p_table, v_month);
        EXECUTE pg_catalog.format('CREATE TABLE %I.%I PARTITION OF %I.%I FOR VALUES FROM (%L) TO (%L)',
                                  v_schema, v_name, v_schema, v_rel,
                                  (v_month::timestamp AT TIME ZONE 'UTC'),
                                  ((v_month + interval '1 month')::timestamp AT TIME ZONE 'UTC'));
        EXECUTE pg_catalog.format('COMMENT ON TABLE %I.%I IS %L', v_schema, v_name,
                                  pg_catalog.format('Monthly partition of %I.%I for %s (UTC).', v_schema, v_rel,
                                                    pg_catalog.to_char(v_month, 'YYYY-MM')));
        RETURN NEXT v_name;
    END LOOP;
    PERFORM wfm.rebuild_partition_guards(p_table);
END
$$;
COMMENT ON FUNCTION wfm.create_monthly_partitions(regclass, date[]) IS
    'Internal: creates the missing monthly (UTC) partitions of a wfm table for the given months with one guard rebuild; returns the names created. The caller holds the table''s partition advisory lock and bounds the count.';
REVOKE ALL ON FUNCTION wfm.create_monthly_partitions(regclass, date[]) FROM PUBLIC;
