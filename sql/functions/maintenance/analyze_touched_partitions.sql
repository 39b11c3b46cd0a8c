-- wfm.analyze_touched_partitions: planner statistics right after a large import (issue 12).
--
-- The guide: "after large imports: ANALYZE contact_statistics". ANALYZE of the partitioned
-- parent recurses into every partition (before PostgreSQL 18 there is no ONLY), so its cost
-- grows with the history; the months an import wrote are what changed. This function applies
-- autovacuum's own analyze rule (autovacuum_analyze_threshold 50 + 10 % of the partition's rows)
-- to the rows the import just wrote, at once instead of up to a naptime later, so the view
-- refresh and the forecasts that follow an import plan with current statistics:
--   * a month partition is analyzed when it was never analyzed, or the import wrote at least
--     50 + p_min_share x its estimated rows (a small correction of a big month is left to
--     autovacuum);
--   * the parent is analyzed when it never was (a fresh install: the planner and the health
--     check's resources.last_analyze then have statistics from the first import on); on
--     PostgreSQL 18 and later with ANALYZE ONLY (the parent's own sample, no recursion).
-- Returns one row per month (and one for the parent when analyzed, month NULL), names
-- schema-qualified, with the partition's row
-- estimate after the step: the contact_statistics asset reports it as dagster/row_count without
-- counting the month.

CREATE OR REPLACE FUNCTION wfm.analyze_touched_partitions(
    p_table regclass,
    p_months date[],
    p_rows_written bigint[],
    p_min_share numeric DEFAULT 0.1
) RETURNS TABLE (month date, partition_name text, analyzed boolean, estimated_rows bigint, duration_ms numeric)
LANGUAGE plpgsql
SECURITY DEFINER  -- ANALYZE needs the table owner; the ETL role only calls this
SET search_path = wfm, pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_rec       record;
    v_started   timestamptz;
    v_any       boolean := false;
    v_parent_at timestamptz;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM wfm.partition_config c WHERE c.table_name = p_table) THEN
        RAISE EXCEPTION 'analyze_touched_partitions: % is not a partitioned WFM table', p_table
            USING ERRCODE = 'invalid_parameter_value', HINT = 'See wfm.partition_config.';
    END IF;
    IF cardinality(p_months) IS DISTINCT FROM cardinality(p_rows_written) THEN
        RAISE EXCEPTION 'analyze_touched_partitions: % months but % row counts', cardinality(p_months),
            cardinality(p_rows_written) USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_min_share IS NULL OR p_min_share < 0 THEN
        RAISE EXCEPTION 'analyze_touched_partitions: p_min_share must be >= 0, not %', p_min_share
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    FOR v_rec IN
        SELECT u.m AS m, u.n AS n, p.partition AS part, p.partition_name AS pname, c.reltuples AS est
        FROM unnest(p_months, p_rows_written) AS u(m, n)
        JOIN wfm.partitions p ON p.parent_table = p_table AND NOT p.is_guard
                             AND p.range_start = (date_trunc('month', u.m)::timestamp AT TIME ZONE 'UTC')
        JOIN pg_catalog.pg_class c ON c.oid = p.partition
        ORDER BY u.m
    LOOP
        month := v_rec.m;
        partition_name := 'wfm.' || v_rec.pname;
        analyzed := v_rec.est < 0 OR coalesce(v_rec.n, 0) >= 50 + p_min_share * v_rec.est;
        duration_ms := 0;
        IF analyzed THEN
            v_started := clock_timestamp();
            EXECUTE format('ANALYZE %s', v_rec.part);
            duration_ms := round(extract(epoch FROM clock_timestamp() - v_started)::numeric * 1000, 1);
            v_any := true;
        END IF;
        SELECT greatest(c.reltuples, 0)::bigint INTO estimated_rows FROM pg_catalog.pg_class c WHERE c.oid = v_rec.part;
        RETURN NEXT;
    END LOOP;

    SELECT greatest(s.last_analyze, s.last_autoanalyze) INTO v_parent_at
    FROM pg_catalog.pg_stat_user_tables s WHERE s.relid = p_table;
    IF v_any AND v_parent_at IS NULL THEN
        v_started := clock_timestamp();
        IF current_setting('server_version_num')::integer >= 180000 THEN
            EXECUTE format('ANALYZE ONLY %s', p_table);
        ELSE
            EXECUTE format('ANALYZE %s', p_table);
        END IF;
        month := NULL;
        partition_name := (SELECT format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c
                           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = p_table);
        analyzed := true;
        SELECT greatest(c.reltuples, 0)::bigint INTO estimated_rows FROM pg_catalog.pg_class c WHERE c.oid = p_table;
        duration_ms := round(extract(epoch FROM clock_timestamp() - v_started)::numeric * 1000, 1);
        RETURN NEXT;
    END IF;
END
$$;
COMMENT ON FUNCTION wfm.analyze_touched_partitions(regclass, date[], bigint[], numeric) IS
    'After an import: ANALYZE the month partitions of p_table it wrote when never analyzed or when the rows written reach autovacuum''s rule (50 + p_min_share x estimated rows), and the parent when it was never analyzed (ANALYZE ONLY on PostgreSQL 18+). One row per month with the partition''s row estimate after the step.';
REVOKE ALL ON FUNCTION wfm.analyze_touched_partitions(regclass, date[], bigint[], numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.analyze_touched_partitions(regclass, date[], bigint[], numeric) TO wfm_etl;
