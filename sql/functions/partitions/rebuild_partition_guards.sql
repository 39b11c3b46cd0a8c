-- requires: functions/partitions/drop_partition_guards.sql
-- requires: functions/partitions/reject_unpartitioned_row.sql
-- requires: functions/partitions/partitions.sql
-- Guards: empty partitions covering every range without a monthly partition (moved from sql/005).
CREATE OR REPLACE FUNCTION wfm.rebuild_partition_guards(p_table regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_schema  text;
    v_rel     text;
    v_key     text;
    v_guard   record;
    v_prev    timestamptz := NULL;
    v_first   boolean := true;
    v_n       integer := 0;
    v_part    record;
    v_has_any boolean := false;
BEGIN
    SELECT n.nspname, c.relname INTO v_schema, v_rel
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = p_table;
    IF v_schema IS DISTINCT FROM 'wfm' THEN
        RAISE EXCEPTION '% is not a table of schema wfm', p_table USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT a.attname INTO v_key
    FROM pg_catalog.pg_partitioned_table pt
    JOIN pg_catalog.pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
    WHERE pt.partrelid = p_table;

    PERFORM wfm.drop_partition_guards(p_table);

    FOR v_part IN
        SELECT p.range_start, p.range_end FROM wfm.partitions p
        WHERE p.parent_table = p_table AND NOT p.is_guard ORDER BY p.range_start
    LOOP
        v_has_any := true;
        IF v_first AND v_part.range_start IS NOT NULL THEN
            v_n := v_n + 1;
            EXECUTE pg_catalog.format('CREATE TABLE %I.%I PARTITION OF %I.%I FOR VALUES FROM (MINVALUE) TO (%L)',
                                      v_schema, v_rel || '_nopart_' || v_n, v_schema, v_rel, v_part.range_start);
        ELSIF NOT v_first AND v_prev < v_part.range_start THEN
            v_n := v_n + 1;
            EXECUTE pg_catalog.format('CREATE TABLE %I.%I PARTITION OF %I.%I FOR VALUES FROM (%L) TO (%L)',
                                      v_schema, v_rel || '_nopart_' || v_n, v_schema, v_rel, v_prev, v_part.range_start);
        END IF;
        v_first := false;
        v_prev := v_part.range_end;
    END LOOP;

    IF NOT v_has_any THEN
        v_n := v_n + 1;
        EXECUTE pg_catalog.format('CREATE TABLE %I.%I PARTITION OF %I.%I FOR VALUES FROM (MINVALUE) TO (MAXVALUE)',
                                  v_schema, v_rel || '_nopart_' || v_n, v_schema, v_rel);
    ELSIF v_prev IS NOT NULL THEN
        v_n := v_n + 1;
        EXECUTE pg_catalog.format('CREATE TABLE %I.%I PARTITION OF %I.%I FOR VALUES FROM (%L) TO (MAXVALUE)',
                                  v_schema, v_rel || '_nopart_' || v_n, v_schema, v_rel, v_prev);
    END IF;

    FOR v_guard IN
        SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) AS qualified
        FROM wfm.partitions p
        JOIN pg_catalog.pg_class c ON c.oid = p.partition
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE p.parent_table = p_table AND p.is_guard
    LOOP
        EXECUTE pg_catalog.format('CREATE TRIGGER reject_unpartitioned_row BEFORE INSERT ON %s FOR EACH ROW '
                                  'EXECUTE FUNCTION wfm.reject_unpartitioned_row(%L, %L)',
                                  v_guard.qualified, pg_catalog.format('%I.%I', v_schema, v_rel), v_key);
        EXECUTE pg_catalog.format('COMMENT ON TABLE %s IS %L', v_guard.qualified,
                                  'Guard: always empty; covers a range without a monthly partition so inserts there fail clearly.');
    END LOOP;
END
$$;
COMMENT ON FUNCTION wfm.rebuild_partition_guards(regclass) IS
    'Replaces the empty guard partitions of a table so that they cover exactly the ranges without a monthly partition.';
REVOKE ALL ON FUNCTION wfm.rebuild_partition_guards(regclass) FROM PUBLIC;
