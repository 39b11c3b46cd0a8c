-- wfm.health_p95 (first defined in sql/070_health_support.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it.

CREATE OR REPLACE FUNCTION wfm.health_p95(p_samples numeric[]) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = wfm, pg_catalog, pg_temp
AS $$
    SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY s)::numeric FROM unnest(p_samples) s
$$;
COMMENT ON FUNCTION wfm.health_p95(numeric[]) IS '95th percentile (interpolated) of timing samples.';
REVOKE ALL ON FUNCTION wfm.health_p95(numeric[]) FROM PUBLIC;
