-- Issue 9: a caller's temporary schema must never be searched before wfm and pg_catalog.
--
-- PostgreSQL searches pg_temp FIRST for relation and type names unless the search_path lists
-- it, so a function pinned to "wfm, pg_catalog" read the caller's temp table pg_class instead of
-- pg_catalog.pg_class. The functions' files under sql/functions/ now end their search_path with
-- pg_temp; this one-time step does the same for every function of schema wfm that still lacks
-- it when this migration runs (whichever file defines it), so no function stays steerable
-- until its file is next changed. Repeatable files applied afterwards define the final
-- setting; wfm.check_schema_security() reports any function that does not end with pg_temp.
DO $$
DECLARE
    v_fn   record;
BEGIN
    FOR v_fn IN
        SELECT p.oid::regprocedure AS fn, p.prosecdef,
               (SELECT substr(c, length('search_path=') + 1) FROM unnest(p.proconfig) AS c
                WHERE c LIKE 'search_path=%') AS path
        FROM pg_catalog.pg_proc p
        WHERE p.pronamespace = 'wfm'::regnamespace
    LOOP
        IF v_fn.path IS NULL THEN
            IF v_fn.prosecdef THEN
                EXECUTE format('ALTER FUNCTION %s SET search_path = wfm, pg_catalog, pg_temp', v_fn.fn);
            END IF;
        ELSIF lower(btrim((regexp_split_to_array(v_fn.path, ','))[
                  cardinality(regexp_split_to_array(v_fn.path, ','))], ' "')) <> 'pg_temp' THEN
            -- The elements are the catalog's own rendering (identifiers already quoted); a
            -- pg_temp listed earlier moves to the end.
            EXECUTE format('ALTER FUNCTION %s SET search_path = %s', v_fn.fn, array_to_string(
                ARRAY(SELECT e FROM unnest(regexp_split_to_array(btrim(v_fn.path), '\s*,\s*')) WITH ORDINALITY AS x(e, i)
                      WHERE lower(btrim(e, '"')) <> 'pg_temp' ORDER BY i) || 'pg_temp'::text, ', '));
        END IF;
    END LOOP;
END
$$;
