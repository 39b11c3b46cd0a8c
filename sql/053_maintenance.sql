-- Maintenance run by the Dagster schedules (and by hand): statistics of the partitioned
-- parents and retention. Retention DETACHES old partitions into schema wfm_archive (never
-- drops them); an operator drops or dumps them deliberately.

CREATE SCHEMA IF NOT EXISTS wfm_archive;
COMMENT ON SCHEMA wfm_archive IS
    'Partitions detached by retention (wfm.detach_expired_partitions): kept intact, no longer read by the API; drop or dump them deliberately.';
REVOKE ALL ON SCHEMA wfm_archive FROM PUBLIC;

CREATE TABLE wfm.detached_partitions (
    detached_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parent_table    text NOT NULL,
    partition_name  text NOT NULL,
    archived_as     text NOT NULL,
    range_start     timestamptz NOT NULL,
    range_end       timestamptz NOT NULL,
    estimated_rows  bigint,
    detached_at     timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE wfm.detached_partitions IS 'Audit of retention: every partition detached from a wfm table and where it was moved.';
COMMENT ON COLUMN wfm.detached_partitions.detached_id IS 'Surrogate key.';
COMMENT ON COLUMN wfm.detached_partitions.parent_table IS 'Partitioned table it belonged to.';
COMMENT ON COLUMN wfm.detached_partitions.partition_name IS 'Its name while attached.';
COMMENT ON COLUMN wfm.detached_partitions.archived_as IS 'Schema-qualified name of the detached table now (in wfm_archive).';
COMMENT ON COLUMN wfm.detached_partitions.range_start IS 'Start of its range (inclusive).';
COMMENT ON COLUMN wfm.detached_partitions.range_end IS 'End of its range (exclusive).';
COMMENT ON COLUMN wfm.detached_partitions.estimated_rows IS 'pg_class.reltuples when detached.';
COMMENT ON COLUMN wfm.detached_partitions.detached_at IS 'When it was detached.';

CREATE FUNCTION wfm.analyze_partitioned_tables()
RETURNS TABLE (table_name text, duration_ms numeric)
LANGUAGE plpgsql
SECURITY DEFINER  -- ANALYZE needs the table owner
SET search_path = wfm, pg_catalog
AS $$
#variable_conflict use_column
DECLARE
    v_table   regclass;
    v_started timestamptz;
BEGIN
    -- Autovacuum analyzes the partitions but never the partitioned parents, whose statistics
    -- the planner uses for queries spanning partitions (joins, GROUP BY estimates).
    FOR v_table IN SELECT c.table_name FROM wfm.partition_config c ORDER BY c.table_name::text LOOP
        v_started := clock_timestamp();
        EXECUTE format('ANALYZE %s', v_table);
        table_name := v_table::text;
        duration_ms := round(extract(epoch FROM clock_timestamp() - v_started)::numeric * 1000, 1);
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION wfm.analyze_partitioned_tables() IS
    'ANALYZE of every partitioned parent in wfm.partition_config (autovacuum never analyzes parents); returns each table with its duration.';

CREATE FUNCTION wfm.expired_partitions(p_now timestamptz DEFAULT now())
RETURNS TABLE (parent_table regclass, partition regclass, partition_name text,
               range_start timestamptz, range_end timestamptz, estimated_rows bigint)
LANGUAGE sql STABLE
SET search_path = wfm, pg_catalog
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

CREATE FUNCTION wfm.detach_expired_partitions(p_dry_run boolean DEFAULT false, p_now timestamptz DEFAULT now())
RETURNS TABLE (parent_table text, partition_name text, range_start timestamptz, range_end timestamptz,
               archived_as text, detached boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog
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
            IF v_target <> v_part.partition_name THEN
                -- Rename (table and its indexes, which move along) before the move, so nothing
                -- collides with the earlier copy in wfm_archive.
                FOR v_index IN SELECT i.indexrelid::regclass AS idx, c.relname
                               FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
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

REVOKE EXECUTE ON FUNCTION wfm.analyze_partitioned_tables(), wfm.expired_partitions(timestamptz),
                           wfm.detach_expired_partitions(boolean, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.analyze_partitioned_tables(), wfm.expired_partitions(timestamptz) TO wfm_etl;
