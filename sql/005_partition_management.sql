-- Monthly range partitions (UTC months) for the time-series tables, created ahead of time
-- (premake, as pg_partman does) and on demand by every import path. No DEFAULT partition:
-- instead every range without a partition is covered by an empty "guard" partition whose
-- trigger rejects a row with an error that names the missing month.

CREATE TABLE wfm.partition_config (
    table_name         regclass PRIMARY KEY,
    premake_months     integer NOT NULL DEFAULT 3 CHECK (premake_months BETWEEN 1 AND 60),
    retention_months   integer NOT NULL DEFAULT 13 CHECK (retention_months >= 1),
    retention_enabled  boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE wfm.partition_config IS 'The monthly-partitioned tables and their premake and retention settings.';
COMMENT ON COLUMN wfm.partition_config.table_name IS 'Partitioned parent table.';
COMMENT ON COLUMN wfm.partition_config.premake_months IS 'Months ahead of the current one that must always exist.';
COMMENT ON COLUMN wfm.partition_config.retention_months IS 'Months kept when retention is enabled; older partitions are detached, never dropped.';
COMMENT ON COLUMN wfm.partition_config.retention_enabled IS 'Retention is off unless switched on here.';

CREATE FUNCTION wfm.partition_name(p_table regclass, p_month date) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog
AS $$ SELECT (SELECT relname FROM pg_class WHERE oid = p_table) || '_' || to_char(p_month, 'YYYY_MM') $$;
COMMENT ON FUNCTION wfm.partition_name(regclass, date) IS 'Name of the monthly partition of a table, e.g. contact_statistics_2024_01.';

-- Real partitions and guards of each partitioned table, with their bounds.
CREATE VIEW wfm.partitions AS
SELECT parent.oid::regclass                                    AS parent_table,
       child.oid::regclass                                     AS partition,
       child.relname                                           AS partition_name,
       child.relname ~ '_nopart_[0-9]+$'                       AS is_guard,
       CASE WHEN bound.lo = 'MINVALUE' THEN NULL ELSE bound.lo::timestamptz END AS range_start,
       CASE WHEN bound.hi = 'MAXVALUE' THEN NULL ELSE bound.hi::timestamptz END AS range_end,
       child.reltuples::bigint                                 AS estimated_rows
FROM pg_partitioned_table pt
JOIN pg_class parent ON parent.oid = pt.partrelid
JOIN pg_namespace ns ON ns.oid = parent.relnamespace AND ns.nspname = 'wfm'
JOIN pg_inherits inh ON inh.inhparent = parent.oid
JOIN pg_class child ON child.oid = inh.inhrelid
CROSS JOIN LATERAL (
    SELECT (regexp_match(pg_get_expr(child.relpartbound, child.oid),
                         'FROM \(''?([^'')]+)''?\) TO \(''?([^'')]+)''?\)'))[1] AS lo,
           (regexp_match(pg_get_expr(child.relpartbound, child.oid),
                         'FROM \(''?([^'')]+)''?\) TO \(''?([^'')]+)''?\)'))[2] AS hi
) bound;
COMMENT ON VIEW wfm.partitions IS 'Partitions of the wfm partitioned tables with their ranges; is_guard marks the empty guards covering months without a partition.';

CREATE FUNCTION wfm.reject_unpartitioned_row() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
DECLARE
    v_ts    timestamptz := (to_jsonb(NEW) ->> TG_ARGV[1])::timestamptz;
    v_month text := to_char(v_ts AT TIME ZONE 'UTC', 'YYYY-MM');
BEGIN
    RAISE EXCEPTION 'no partition of % for month % (row with % = %)', TG_ARGV[0], v_month, TG_ARGV[1], v_ts
        USING ERRCODE = 'check_violation',
              HINT = format('Create it first: SELECT wfm.ensure_monthly_partitions(%L, %L, %L);',
                            TG_ARGV[0], v_month || '-01', v_month || '-01');
END
$$;
COMMENT ON FUNCTION wfm.reject_unpartitioned_row() IS
    'Trigger on guard partitions: a row for a month without a partition fails with an error naming the month.';

CREATE FUNCTION wfm.drop_partition_guards(p_table regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog
AS $$
DECLARE
    v_guard record;
    v_probe integer;
BEGIN
    FOR v_guard IN SELECT partition FROM wfm.partitions WHERE parent_table = p_table AND is_guard LOOP
        EXECUTE format('SELECT 1 FROM %s LIMIT 1', v_guard.partition) INTO v_probe;
        IF v_probe IS NOT NULL THEN
            RAISE EXCEPTION 'guard partition % holds rows (its trigger was bypassed); refusing to drop it', v_guard.partition
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        EXECUTE format('DROP TABLE %s', v_guard.partition);
    END LOOP;
END
$$;
COMMENT ON FUNCTION wfm.drop_partition_guards(regclass) IS
    'Drops the (always empty) guard partitions of a table before partitions are created or detached.';

CREATE FUNCTION wfm.rebuild_partition_guards(p_table regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog
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
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = p_table;
    SELECT a.attname INTO v_key
    FROM pg_partitioned_table pt
    JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
    WHERE pt.partrelid = p_table;

    PERFORM wfm.drop_partition_guards(p_table);

    FOR v_part IN
        SELECT range_start, range_end FROM wfm.partitions
        WHERE parent_table = p_table AND NOT is_guard ORDER BY range_start
    LOOP
        v_has_any := true;
        IF v_first AND v_part.range_start IS NOT NULL THEN
            v_n := v_n + 1;
            EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES FROM (MINVALUE) TO (%L)',
                           v_schema, v_rel || '_nopart_' || v_n, p_table, v_part.range_start);
        ELSIF NOT v_first AND v_prev < v_part.range_start THEN
            v_n := v_n + 1;
            EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                           v_schema, v_rel || '_nopart_' || v_n, p_table, v_prev, v_part.range_start);
        END IF;
        v_first := false;
        v_prev := v_part.range_end;
    END LOOP;

    IF NOT v_has_any THEN
        v_n := v_n + 1;
        EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES FROM (MINVALUE) TO (MAXVALUE)',
                       v_schema, v_rel || '_nopart_' || v_n, p_table);
    ELSIF v_prev IS NOT NULL THEN
        v_n := v_n + 1;
        EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES FROM (%L) TO (MAXVALUE)',
                       v_schema, v_rel || '_nopart_' || v_n, p_table, v_prev);
    END IF;

    FOR v_guard IN SELECT partition FROM wfm.partitions WHERE parent_table = p_table AND is_guard LOOP
        EXECUTE format('CREATE TRIGGER reject_unpartitioned_row BEFORE INSERT ON %s FOR EACH ROW '
                       'EXECUTE FUNCTION wfm.reject_unpartitioned_row(%L, %L)',
                       v_guard.partition, format('%I.%I', v_schema, v_rel), v_key);
        EXECUTE format('COMMENT ON TABLE %s IS %L', v_guard.partition,
                       'Guard: always empty; covers a range without a monthly partition so inserts there fail clearly.');
    END LOOP;
END
$$;
COMMENT ON FUNCTION wfm.rebuild_partition_guards(regclass) IS
    'Replaces the empty guard partitions of a table so that they cover exactly the ranges without a monthly partition.';

CREATE FUNCTION wfm.ensure_monthly_partitions(p_table regclass, p_from timestamptz, p_to timestamptz)
RETURNS SETOF text
LANGUAGE plpgsql
SECURITY DEFINER  -- callers (ETL, API functions) need not own the tables to add partitions
SET search_path = wfm, pg_catalog
AS $$
DECLARE
    v_schema       text;
    v_first_month  date;
    v_last_month   date;
    v_month        date;
    v_missing      date[] := '{}';
    v_name         text;
    v_old_timeout  text := current_setting('lock_timeout');
BEGIN
    IF p_from IS NULL OR p_to IS NULL THEN
        RAISE EXCEPTION 'ensure_monthly_partitions: p_from and p_to must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF p_to < p_from THEN
        RAISE EXCEPTION 'ensure_monthly_partitions: p_to (%) is before p_from (%)', p_to, p_from
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM wfm.partition_config WHERE table_name = p_table) THEN
        RAISE EXCEPTION '% is not a monthly-partitioned WFM table', p_table
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Tables are registered in wfm.partition_config.';
    END IF;

    v_first_month := date_trunc('month', p_from AT TIME ZONE 'UTC')::date;
    v_last_month  := date_trunc('month', p_to AT TIME ZONE 'UTC')::date;
    IF v_last_month - v_first_month > 3660 THEN
        RAISE EXCEPTION 'ensure_monthly_partitions: range % .. % spans more than ten years', p_from, p_to
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT n.nspname INTO v_schema FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = p_table;

    -- Fast path without locks: everything already exists (the common case on every import).
    v_month := v_first_month;
    WHILE v_month <= v_last_month LOOP
        IF to_regclass(format('%I.%I', v_schema, wfm.partition_name(p_table, v_month))) IS NULL THEN
            v_missing := v_missing || v_month;
        END IF;
        v_month := (v_month + interval '1 month')::date;
    END LOOP;
    IF cardinality(v_missing) = 0 THEN
        RETURN;
    END IF;

    -- Serialize creators of this table's partitions, then look again: another session may
    -- have created them while we waited. A short lock_timeout keeps a busy table from
    -- queueing readers behind us for long.
    PERFORM pg_advisory_xact_lock(hashtext('wfm.partitions'), p_table::oid::integer);
    PERFORM set_config('lock_timeout', '5s', true);

    v_missing := '{}';
    v_month := v_first_month;
    WHILE v_month <= v_last_month LOOP
        IF to_regclass(format('%I.%I', v_schema, wfm.partition_name(p_table, v_month))) IS NULL THEN
            v_missing := v_missing || v_month;
        END IF;
        v_month := (v_month + interval '1 month')::date;
    END LOOP;

    IF cardinality(v_missing) > 0 THEN
        -- Guards overlap the months to create; drop them, create, then cover the gaps again.
        PERFORM wfm.drop_partition_guards(p_table);
        FOREACH v_month IN ARRAY v_missing LOOP
            v_name := wfm.partition_name(p_table, v_month);
            EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                           v_schema, v_name, p_table,
                           (v_month::timestamp AT TIME ZONE 'UTC'),
                           ((v_month + interval '1 month')::timestamp AT TIME ZONE 'UTC'));
            EXECUTE format('COMMENT ON TABLE %I.%I IS %L', v_schema, v_name,
                           format('Monthly partition of %s for %s (UTC).', p_table, to_char(v_month, 'YYYY-MM')));
            RETURN NEXT v_name;
        END LOOP;
        PERFORM wfm.rebuild_partition_guards(p_table);
    END IF;

    PERFORM set_config('lock_timeout', v_old_timeout, true);
END
$$;
COMMENT ON FUNCTION wfm.ensure_monthly_partitions(regclass, timestamptz, timestamptz) IS
    'Idempotently creates the monthly (UTC) partitions of a registered table covering p_from..p_to inclusive; returns the names created. Serialized by an advisory lock, with a short lock_timeout.';

CREATE FUNCTION wfm.premake_partitions(p_months_ahead integer DEFAULT NULL) RETURNS SETOF text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog
AS $$
DECLARE
    v_cfg record;
    v_now timestamptz := now();
BEGIN
    FOR v_cfg IN SELECT table_name, premake_months FROM wfm.partition_config ORDER BY table_name::text LOOP
        RETURN QUERY SELECT wfm.ensure_monthly_partitions(
            v_cfg.table_name,
            date_trunc('month', v_now AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
            (date_trunc('month', v_now AT TIME ZONE 'UTC')
                + make_interval(months => coalesce(p_months_ahead, v_cfg.premake_months))) AT TIME ZONE 'UTC');
    END LOOP;
END
$$;
COMMENT ON FUNCTION wfm.premake_partitions(integer) IS
    'Creates the current month plus premake_months ahead (or p_months_ahead) for every partitioned table; returns the partitions created.';
