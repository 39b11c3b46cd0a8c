-- wfm.health_sample_stats (first defined in sql/070_health_support.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it.

CREATE OR REPLACE FUNCTION wfm.health_sample_stats(p_samples numeric[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = wfm, pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object(
        'runs', count(s),
        'p50_ms', round(percentile_cont(0.5) WITHIN GROUP (ORDER BY s)::numeric, 3),
        'p95_ms', round(percentile_cont(0.95) WITHIN GROUP (ORDER BY s)::numeric, 3),
        'p99_ms', round(percentile_cont(0.99) WITHIN GROUP (ORDER BY s)::numeric, 3),
        'max_ms', round(max(s), 3),
        'min_ms', round(min(s), 3))
    FROM unnest(p_samples) s
$$;
COMMENT ON FUNCTION wfm.health_sample_stats(numeric[]) IS 'Summary (runs, p50, p95, p99, min, max in ms) of timing samples, for details.';
REVOKE ALL ON FUNCTION wfm.health_sample_stats(numeric[]) FROM PUBLIC;
