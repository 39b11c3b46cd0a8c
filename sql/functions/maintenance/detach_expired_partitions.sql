-- wfm.detach_expired_partitions (first defined in sql/053_maintenance.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it. Issue 15: a detached month
-- of contact_statistics is logged in wfm.aggregate_changes (wfm.log_changed_ranges).

CREATE OR REPLACE FUNCTION wfm.detach_expired_partitions(p_dry_run boolean DEFAULT false, p_now timestamptz DEFAULT now())
RETURNS TABLE (parent_table text, partition_name text, range_start timestamptz, range_end timestamptz,
               archived_as text, detached boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_part     record;
    v_touched  regclass[] := '{}';
    v_parent   regclass;
    v_target   text;
    v_index    record;
    v_old_timeout text := current_setting('lock_timeout');
BEGIN
    FOR v_part IN SELECT * FROM wfm.expired_partitions(p_now) LOOP
        v_target := v_part.partition_name;
        -- A month detached before and re-imported since: keep both copies, suffix the newer.
        IF to_regclass(format('wfm_archive.%I', v_target)) IS NOT NULL THEN
            v_target := v_target || '_' || to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYYMMDD_HH24MISS');
        END IF;
        parent_table := v_part.parent_table::text;
        partition_name := v_part.partition_name;
        range_start := v_part.range_start;
        range_end := v_part.range_end;
        archived_as := 'wfm_archive.' || quote_ident(v_target);
        detached := NOT p_dry_run;
        IF NOT p_dry_run THEN
            IF NOT v_part.parent_table = ANY (v_touched) THEN
                -- Same serialization as ensure_monthly_partitions; short lock_timeout so a busy
                -- table makes this fail (and retry on the next run) instead of queueing readers.
                PERFORM pg_advisory_xact_lock(hashtext('wfm.partitions'), v_part.parent_table::oid::integer);
                PERFORM set_config('lock_timeout', '5s', true);
                v_touched := v_touched || v_part.parent_table;
            END IF;
            EXECUTE format('ALTER TABLE %s DETACH PARTITION %s', v_part.parent_table, v_part.partition);
            -- DETACH fires no row trigger: tell the aggregates their days in the range are gone.
            IF v_part.parent_table = 'wfm.contact_statistics'::regclass THEN
                PERFORM wfm.log_changed_ranges(NULL, v_part.range_start, v_part.range_end, 'retention');
            END IF;
            IF v_target <> v_part.partition_name THEN
                -- Rename (table and its indexes, which move along) before the move, so nothing
                -- collides with the earlier copy in wfm_archive.
                FOR v_index IN SELECT i.indexrelid::regclass AS idx, c.relname
                               FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
                               WHERE i.indrelid = v_part.partition LOOP
                    EXECUTE format('ALTER INDEX %s RENAME TO %I', v_index.idx,
                                   left(v_index.relname, 40) || substr(v_target, length(v_part.partition_name) + 1));
                END LOOP;
                EXECUTE format('ALTER TABLE %s RENAME TO %I', v_part.partition, v_target);
            END IF;
            EXECUTE format('ALTER TABLE wfm.%I SET SCHEMA wfm_archive', v_target);
            EXECUTE format('COMMENT ON TABLE wfm_archive.%I IS %L', v_target,
                           format('Detached from %s by retention on %s; range %s .. %s.', v_part.parent_table,
                                  to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD'), v_part.range_start, v_part.range_end));
            INSERT INTO wfm.detached_partitions (parent_table, partition_name, archived_as, range_start, range_end, estimated_rows)
            VALUES (parent_table, partition_name, archived_as, range_start, range_end, v_part.estimated_rows);
        END IF;
        RETURN NEXT;
    END LOOP;
    -- The detached ranges are now gaps: cover them with guards again (sql/005), so a late row
    -- for such a month fails with a clear error instead of "no partition found".
    FOREACH v_parent IN ARRAY v_touched LOOP
        PERFORM wfm.rebuild_partition_guards(v_parent);
    END LOOP;
    PERFORM set_config('lock_timeout', v_old_timeout, true);
END
$$;
COMMENT ON FUNCTION wfm.detach_expired_partitions(boolean, timestamptz) IS
    'Retention: detaches partitions older than retention_months (tables with retention_enabled only) into schema wfm_archive - never drops - records them in wfm.detached_partitions and rebuilds the guard partitions. p_dry_run lists without detaching.';
REVOKE ALL ON FUNCTION wfm.detach_expired_partitions(boolean, timestamp with time zone) FROM PUBLIC;
