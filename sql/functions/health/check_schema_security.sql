-- wfm.check_schema_security(): what a caller's temporary objects could steer, and where the
-- partitions of the wfm tables live (issue 9). Three rows, each FAIL on any finding:
--   security.function_search_path     a function of schema wfm that is SECURITY DEFINER without
--                                     SET search_path, or whose SET search_path does not end with
--                                     pg_temp: PostgreSQL searches the caller's temporary schema
--                                     FIRST for relation and type names unless pg_temp is listed,
--                                     so the caller could plant a temp table pg_class and steer
--                                     the function (which runs with its owner's rights)
--   security.unqualified_catalog_names a function body of schema wfm naming a pg_catalog relation
--                                     without "pg_catalog." (comments ignored; function calls such
--                                     as pg_advisory_xact_lock( never resolve through pg_temp)
--   security.partitions_outside_schema a partition of a partitioned table of schema wfm that lives
--                                     in another schema (what the pg_temp attack created in public)
-- Catalog reads only: no locks on wfm tables (pg_inherits, not pg_partition_tree).

CREATE OR REPLACE FUNCTION wfm.check_schema_security()
RETURNS SETOF wfm.check_result
LANGUAGE plpgsql STABLE
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_rows     wfm.check_result[] := '{}';
    v_checked  bigint;
    v_count    bigint;
    v_details  jsonb;
BEGIN
    -- Functions: SET search_path ending with pg_temp; definer functions must set one.
    WITH f AS (
        SELECT format('%I.%I(%s)', 'wfm', p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)) AS signature,
               p.prosecdef,
               (SELECT substr(c, length('search_path=') + 1) FROM unnest(p.proconfig) AS c
                WHERE c LIKE 'search_path=%') AS path
        FROM pg_catalog.pg_proc p
        WHERE p.pronamespace = 'wfm'::regnamespace
    ), judged AS (
        SELECT signature, prosecdef, path,
               CASE WHEN path IS NULL AND prosecdef THEN 'SECURITY DEFINER without SET search_path'
                    WHEN path IS NOT NULL
                         AND lower(btrim((regexp_split_to_array(path, ','))[
                                 cardinality(regexp_split_to_array(path, ','))], ' "')) <> 'pg_temp'
                    THEN 'search_path does not end with pg_temp'
               END AS problem
        FROM f
        WHERE path IS NOT NULL OR prosecdef
    )
    SELECT count(*), count(problem),
           coalesce(jsonb_agg(jsonb_build_object('function', signature, 'security_definer', prosecdef,
                                                 'search_path', path, 'problem', problem)
                              ORDER BY signature) FILTER (WHERE problem IS NOT NULL), '[]'::jsonb)
    INTO v_checked, v_count, v_details
    FROM judged;
    v_rows := v_rows || wfm.health_row('security.function_search_path',
        CASE WHEN v_count > 0 THEN 'FAIL' ELSE 'PASS' END, v_count, 0, 'functions',
        jsonb_build_object('functions', v_details, 'functions_checked', v_checked,
                           'rule', 'every function of schema wfm that is SECURITY DEFINER or sets search_path sets it ending with pg_temp (otherwise the caller''s temporary schema is searched first)',
                           'hint', 'Define it with SET search_path = wfm, pg_catalog, pg_temp (sql/functions/).'));

    -- Function bodies naming a catalog relation without its schema.
    WITH bodies AS (
        SELECT format('%I.%I(%s)', 'wfm', p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)) AS signature,
               regexp_replace(p.prosrc, '--[^\n]*|/\*([^*]|\*+[^*/])*\*+/', '', 'g') AS src
        FROM pg_catalog.pg_proc p
        JOIN pg_catalog.pg_language l ON l.oid = p.prolang
        WHERE p.pronamespace = 'wfm'::regnamespace AND l.lanname IN ('sql', 'plpgsql')
    ), found AS (
        SELECT b.signature, array_agg(DISTINCT m[1] ORDER BY m[1]) AS names
        FROM bodies b
        CROSS JOIN LATERAL regexp_matches(b.src, '(?<![.\w])(pg_[a-z0-9_]+)\M(?!\s*[.(])', 'g') AS m
        WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                      WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relname = m[1])
        GROUP BY b.signature
    )
    SELECT count(*), coalesce(jsonb_agg(jsonb_build_object('function', signature, 'names', to_jsonb(names))
                                        ORDER BY signature), '[]'::jsonb)
    INTO v_count, v_details
    FROM found;
    v_rows := v_rows || wfm.health_row('security.unqualified_catalog_names',
        CASE WHEN v_count > 0 THEN 'FAIL' ELSE 'PASS' END, v_count, 0, 'functions',
        jsonb_build_object('functions', v_details,
                           'rule', 'function bodies of schema wfm name pg_catalog relations as pg_catalog.<name> (comments ignored)',
                           'hint', 'Write pg_catalog.pg_class, pg_catalog.pg_namespace, ... in the function''s file under sql/functions/.'));

    -- Partitions (at any level) of the partitioned tables of wfm that live outside wfm.
    WITH RECURSIVE tree AS (
        SELECT c.oid AS root, c.oid AS rel
        FROM pg_catalog.pg_class c
        WHERE c.relnamespace = 'wfm'::regnamespace AND c.relkind = 'p' AND NOT c.relispartition
        UNION ALL
        SELECT t.root, i.inhrelid
        FROM tree t JOIN pg_catalog.pg_inherits i ON i.inhparent = t.rel
    )
    SELECT count(*), coalesce(jsonb_agg(jsonb_build_object(
               'partition', format('%I.%I', n.nspname, c.relname), 'parent_table', format('wfm.%I', r.relname))
               ORDER BY n.nspname, c.relname), '[]'::jsonb)
    INTO v_count, v_details
    FROM tree t
    JOIN pg_catalog.pg_class r ON r.oid = t.root
    JOIN pg_catalog.pg_class c ON c.oid = t.rel
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE t.rel <> t.root AND n.nspname <> 'wfm';
    v_rows := v_rows || wfm.health_row('security.partitions_outside_schema',
        CASE WHEN v_count > 0 THEN 'FAIL' ELSE 'PASS' END, v_count, 0, 'partitions',
        jsonb_build_object('partitions', v_details,
                           'rule', 'every partition of a partitioned table of schema wfm is in schema wfm',
                           'hint', 'Find out who created it (it may be the trace of an attack), then ALTER TABLE <parent> DETACH PARTITION <it> and move its rows into a wfm partition.'));

    RETURN QUERY SELECT * FROM unnest(v_rows);
END
$$;
COMMENT ON FUNCTION wfm.check_schema_security() IS
    'Security checks of the schema (FAIL on any finding): functions of wfm that are SECURITY DEFINER without SET search_path or whose search_path does not end with pg_temp; function bodies naming pg_catalog relations unqualified; partitions of wfm tables outside schema wfm.';
REVOKE ALL ON FUNCTION wfm.check_schema_security() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.check_schema_security() TO wfm_readonly;
