-- requires: functions/partitions/partitions.sql
-- Drops the guard partitions of a table (moved from sql/005). Internal: called by the
-- partition functions, which hold the table's partition advisory lock.
CREATE OR REPLACE FUNCTION wfm.drop_partition_guards(p_table regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_guard record;
    v_probe integer;
BEGIN
    FOR v_guard IN
        SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) AS qualified
        FROM wfm.partitions p
        JOIN pg_catalog.pg_class c ON c.oid = p.partition
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE p.parent_table = p_table AND p.is_guard
    LOOP
        EXECUTE pg_catalog.format('SELECT 1 FROM %s LIMIT 1', v_guard.qualified) INTO v_probe;
        IF v_probe IS NOT NULL THEN
            RAISE EXCEPTION 'guard partition % holds rows (its trigger was bypassed); refusing to drop it', v_guard.qualified
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'See the health.rows_outside_partitions check of wfm.database_health_check().';
        END IF;
        EXECUTE pg_catalog.format('DROP TABLE %s', v_guard.qualified);
    END LOOP;
END
$$;
COMMENT ON FUNCTION wfm.drop_partition_guards(regclass) IS
    'Drops the (always empty) guard partitions of a table before partitions are created or detached.';
REVOKE ALL ON FUNCTION wfm.drop_partition_guards(regclass) FROM PUBLIC;
