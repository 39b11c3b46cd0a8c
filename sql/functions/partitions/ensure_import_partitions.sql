-- On-demand partitions for an import, in a short transaction of their own BEFORE the load
-- (never inside the load's transaction: creating a partition takes ACCESS EXCLUSIVE on the
-- parent, and holding that through a load would block every reader).
--
-- LOCK ORDER (the one order of partition creation and loads, so imports cannot deadlock):
--   1. partition advisory locks, tables in order of their name (wfm.agent_activity,
--      wfm.contact_statistics, wfm.contact_statistics_history);
--   2. the parent tables, in the same order: contact_statistics BEFORE its history table
--      (ACCESS EXCLUSIVE; only the first is waited for, the later ones are taken NOWAIT).
-- Loads follow it too: the file loader takes ROW EXCLUSIVE on wfm.contact_statistics before it
-- COPYs into wfm.contact_statistics_history (argus/loader.py), and apply/revert/rebuild touch
-- contact_statistics before reading the history. (A load locking the history first while a
-- creator holds contact_statistics and wants the history is the deadlock of issue 9.)
CREATE OR REPLACE FUNCTION wfm.ensure_import_partitions(p_tables regclass[], p_months date[],
                                                        p_create boolean DEFAULT true)
RETURNS TABLE (table_name regclass, month date, action text)
LANGUAGE plpgsql
SECURITY DEFINER  -- the ETL role does not own the tables it adds partitions to
SET search_path = wfm, pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_tables   regclass[];
    v_months   date[];
    v_table    regclass;
    v_month    date;
    v_first    date;
    v_last     date;
    v_max      integer := NULL;
    v_max_t    integer;
    -- The plan as parallel arrays (no temp table: a definer must not use the caller's pg_temp).
    v_p_table  regclass[] := '{}';
    v_p_month  date[] := '{}';
    v_p_action text[] := '{}';
    v_missing  date[];
    v_created  text[];
    v_new      integer;
    i          integer;
    v_old_timeout text := pg_catalog.current_setting('lock_timeout');
BEGIN
    IF p_tables IS NULL OR pg_catalog.cardinality(p_tables) = 0 OR p_months IS NULL THEN
        RAISE EXCEPTION 'ensure_import_partitions: p_tables and p_months must not be NULL or empty'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT t INTO v_table FROM pg_catalog.unnest(p_tables) AS t
    WHERE t IS NULL OR NOT EXISTS (SELECT 1 FROM wfm.partition_config c WHERE c.table_name = t) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '% is not a monthly-partitioned WFM table', v_table
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Tables are registered in wfm.partition_config.';
    END IF;
    -- The lock order: by table name (a parent sorts before its _history table).
    v_tables := ARRAY(SELECT d.t FROM (SELECT DISTINCT u.t FROM pg_catalog.unnest(p_tables) AS u(t)) d ORDER BY d.t::text);
    v_months := ARRAY(SELECT DISTINCT pg_catalog.date_trunc('month', m)::date
                      FROM pg_catalog.unnest(p_months) AS m WHERE m IS NOT NULL ORDER BY 1);

    -- The plan, without locks: exists / missing (inside the window) / outside_window.
    FOREACH v_table IN ARRAY v_tables LOOP
        SELECT w.first_month, w.last_month, w.max_new_months INTO v_first, v_last, v_max_t
        FROM wfm.partition_window(v_table) AS w;
        v_max := LEAST(coalesce(v_max, v_max_t), v_max_t);
        FOREACH v_month IN ARRAY v_months LOOP
            v_p_table := v_p_table || v_table;
            v_p_month := v_p_month || v_month;
            v_p_action := v_p_action || CASE
                WHEN pg_catalog.to_regclass(pg_catalog.format('wfm.%I', wfm.partition_name(v_table, v_month))) IS NOT NULL
                    THEN 'exists'
                WHEN v_month < v_first OR v_month > v_last THEN 'outside_window'
                ELSE 'missing' END;
        END LOOP;
    END LOOP;
    SELECT count(DISTINCT v_p_month[k])::integer INTO v_new
    FROM pg_catalog.generate_subscripts(v_p_action, 1) AS k WHERE v_p_action[k] = 'missing';

    IF p_create AND v_new > 0 THEN
        IF v_new > v_max THEN
            RAISE EXCEPTION 'the input needs % new monthly partitions; one import may create at most %', v_new, v_max
                USING ERRCODE = 'program_limit_exceeded',
                      HINT = 'Create the months first (SELECT wfm.ensure_monthly_partitions(table, from, to)) or raise wfm.partition_config.ondemand_max_new_months.';
        END IF;
        -- Locks in THE order (see the header), then create what is still missing.
        FOREACH v_table IN ARRAY v_tables LOOP
            PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('wfm.partitions'), v_table::oid::integer);
        END LOOP;
        IF v_old_timeout IN ('0', '0ms') THEN
            PERFORM pg_catalog.set_config('lock_timeout', '5s', true);
        END IF;
        -- Only the first parent is waited for; the later ones (the history) are taken NOWAIT,
        -- so a creator never waits while it holds a parent: even a writer that broke the order
        -- (history first) cannot deadlock with it - the creation fails with lock_not_available
        -- and the caller retries it (argus/loader.py: backoff).
        v_new := 0;
        FOREACH v_table IN ARRAY v_tables LOOP
            v_missing := ARRAY(SELECT v_p_month[k] FROM pg_catalog.generate_subscripts(v_p_action, 1) AS k
                               WHERE v_p_table[k] = v_table AND v_p_action[k] = 'missing');
            IF pg_catalog.cardinality(v_missing) > 0 THEN
                EXECUTE pg_catalog.format('LOCK TABLE ONLY %s IN ACCESS EXCLUSIVE MODE%s', v_table,
                                          CASE WHEN v_new > 0 THEN ' NOWAIT' ELSE '' END);
                v_new := v_new + 1;
            END IF;
        END LOOP;
        FOREACH v_table IN ARRAY v_tables LOOP
            v_missing := ARRAY(SELECT v_p_month[k] FROM pg_catalog.generate_subscripts(v_p_action, 1) AS k
                               WHERE v_p_table[k] = v_table AND v_p_action[k] = 'missing');
            IF pg_catalog.cardinality(v_missing) > 0 THEN
                v_created := ARRAY(SELECT wfm.create_monthly_partitions(v_table, v_missing));
                FOR i IN 1 .. pg_catalog.cardinality(v_p_action) LOOP
                    IF v_p_table[i] = v_table AND v_p_action[i] = 'missing' THEN
                        v_p_action[i] := CASE WHEN wfm.partition_name(v_table, v_p_month[i]) = ANY (v_created)
                                              THEN 'created' ELSE 'exists' END;
                    END IF;
                END LOOP;
            END IF;
        END LOOP;
        PERFORM pg_catalog.set_config('lock_timeout', v_old_timeout, true);
    END IF;

    FOR i IN 1 .. pg_catalog.cardinality(v_p_action) LOOP
        table_name := v_p_table[i];
        month := v_p_month[i];
        action := v_p_action[i];
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION wfm.ensure_import_partitions(regclass[], date[], boolean) IS
    'Import step before the load, in its own transaction: for each table and UTC month, exists / created / outside_window (a missing month outside wfm.partition_window: not created; the rows are OUTSIDE_PARTITION_WINDOW errors). p_create = false only plans (missing instead of created, no locks). More new months than ondemand_max_new_months raises program_limit_exceeded. Locks in the documented order: advisory locks, then parents by name (contact_statistics before its history).';
REVOKE ALL ON FUNCTION wfm.ensure_import_partitions(regclass[], date[], boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.ensure_import_partitions(regclass[], date[], boolean) TO wfm_etl;
