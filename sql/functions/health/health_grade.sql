-- wfm.health_grade (first defined in sql/070_health_support.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it.

CREATE OR REPLACE FUNCTION wfm.health_grade(p_measured numeric, p_warn numeric, p_fail numeric,
                                 p_higher_is_worse boolean DEFAULT true)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = wfm, pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN p_measured IS NULL THEN 'WARN'
        WHEN p_higher_is_worse AND p_fail IS NOT NULL AND p_measured > p_fail THEN 'FAIL'
        WHEN p_higher_is_worse AND p_warn IS NOT NULL AND p_measured > p_warn THEN 'WARN'
        WHEN NOT p_higher_is_worse AND p_fail IS NOT NULL AND p_measured < p_fail THEN 'FAIL'
        WHEN NOT p_higher_is_worse AND p_warn IS NOT NULL AND p_measured < p_warn THEN 'WARN'
        ELSE 'PASS'
    END
$$;
COMMENT ON FUNCTION wfm.health_grade(numeric, numeric, numeric, boolean) IS
    'PASS/WARN/FAIL of a measurement against a warn and a fail level (either may be NULL); nothing measured = WARN.';
REVOKE ALL ON FUNCTION wfm.health_grade(numeric, numeric, numeric, boolean) FROM PUBLIC;
