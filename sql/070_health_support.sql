-- Shared pieces of the validation and health suite (sql/070-079): the result row every check
-- function returns, helpers to build and grade it, and the log of materialized-view refreshes
-- that the freshness check reads.
--
-- Every check function returns SETOF wfm.check_result:
--   (check_name, status PASS|WARN|FAIL, measured, threshold, unit, details jsonb)
-- and must neither leave data behind nor keep locks that block imports: work that touches
-- tables runs in a subtransaction that is rolled back on purpose (wfm.rollback_marker), which
-- also releases its locks at once (PostgreSQL releases locks taken after a savepoint when it
-- is rolled back).

CREATE TYPE wfm.check_result AS (
    check_name  text,
    status      text,
    measured    numeric,
    threshold   numeric,
    unit        text,
    details     jsonb
);
COMMENT ON TYPE wfm.check_result IS
    'One result row of a validation/health check: run_all_validations() and friends return SETOF this.';
COMMENT ON COLUMN wfm.check_result.check_name IS 'Stable dotted name: <area>.<check>[.<subject>], e.g. health.connections.';
COMMENT ON COLUMN wfm.check_result.status IS 'PASS, WARN (needs attention) or FAIL (broken or SLA missed).';
COMMENT ON COLUMN wfm.check_result.measured IS 'The measured value (NULL when nothing could be measured, e.g. no data).';
COMMENT ON COLUMN wfm.check_result.threshold IS 'The threshold the measured value is compared with (see details for warn/fail levels).';
COMMENT ON COLUMN wfm.check_result.unit IS 'Unit of measured and threshold: ms, rows/s, ratio, count, bytes, seconds, xids, months, calls.';
COMMENT ON COLUMN wfm.check_result.details IS 'Evidence: offending objects, samples, the rule applied and where its threshold comes from.';

CREATE FUNCTION wfm.health_row(
    p_check_name text, p_status text, p_measured numeric, p_threshold numeric, p_unit text,
    p_details jsonb DEFAULT '{}'::jsonb
) RETURNS wfm.check_result
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = wfm, pg_catalog
AS $$
BEGIN
    IF p_status IS NULL OR p_status NOT IN ('PASS', 'WARN', 'FAIL') THEN
        RAISE EXCEPTION 'health_row(%): status must be PASS, WARN or FAIL, not %', p_check_name, p_status
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN ROW(p_check_name, p_status, trim_scale(round(p_measured, 6)), p_threshold, p_unit,
               coalesce(p_details, '{}'::jsonb))::wfm.check_result;
END
$$;
COMMENT ON FUNCTION wfm.health_row(text, text, numeric, numeric, text, jsonb) IS
    'Builds one wfm.check_result row (status validated, measured rounded to 6 decimals).';

CREATE FUNCTION wfm.health_grade(p_measured numeric, p_warn numeric, p_fail numeric,
                                 p_higher_is_worse boolean DEFAULT true)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = wfm, pg_catalog
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

CREATE FUNCTION wfm.health_p95(p_samples numeric[]) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = wfm, pg_catalog
AS $$
    SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY s)::numeric FROM unnest(p_samples) s
$$;
COMMENT ON FUNCTION wfm.health_p95(numeric[]) IS '95th percentile (interpolated) of timing samples.';

CREATE FUNCTION wfm.health_sample_stats(p_samples numeric[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = wfm, pg_catalog
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

-- A rolled-back subtransaction needs an error to roll it back; this SQLSTATE marks ours so a
-- real error is never swallowed by mistake.
CREATE FUNCTION wfm.rollback_marker() RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog
AS $$ SELECT 'WFRB0'::text $$;
COMMENT ON FUNCTION wfm.rollback_marker() IS
    'SQLSTATE raised on purpose to roll back a check''s subtransaction (undoes its writes and releases its locks).';

-- View freshness comes from wfm.view_refresh_history (sql/051), written by every refresh.
