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

-- Freshness of materialized views: PostgreSQL records no refresh time, so refreshes log it.
CREATE TABLE wfm.view_refresh_log (
    view_refresh_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    view_name        regclass NOT NULL,
    refreshed_at     timestamptz NOT NULL,
    finished_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    duration_ms      numeric GENERATED ALWAYS AS
                         (round((extract(epoch FROM finished_at - refreshed_at) * 1000)::numeric, 3)) STORED,
    was_concurrent   boolean NOT NULL DEFAULT true,
    CONSTRAINT view_refresh_log_order CHECK (finished_at >= refreshed_at)
);
COMMENT ON TABLE wfm.view_refresh_log IS
    'One row per materialized-view refresh (written by wfm.record_view_refresh); the freshness health check reads the latest per view.';
COMMENT ON COLUMN wfm.view_refresh_log.view_refresh_id IS 'Surrogate key.';
COMMENT ON COLUMN wfm.view_refresh_log.view_name IS 'The materialized view refreshed.';
COMMENT ON COLUMN wfm.view_refresh_log.refreshed_at IS 'When the refresh started: the view reflects data committed before this instant.';
COMMENT ON COLUMN wfm.view_refresh_log.finished_at IS 'When the refresh finished.';
COMMENT ON COLUMN wfm.view_refresh_log.duration_ms IS 'Refresh duration in milliseconds.';
COMMENT ON COLUMN wfm.view_refresh_log.was_concurrent IS 'true for REFRESH ... CONCURRENTLY (readers not blocked).';

CREATE INDEX view_refresh_log_latest_idx ON wfm.view_refresh_log (view_name, refreshed_at DESC);
COMMENT ON INDEX wfm.view_refresh_log_latest_idx IS 'Serves "latest refresh of each view" (freshness check).';

CREATE FUNCTION wfm.record_view_refresh(p_view regclass, p_started timestamptz, p_concurrently boolean DEFAULT true)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = p_view AND relkind = 'm') THEN
        RAISE EXCEPTION '% is not a materialized view', p_view USING ERRCODE = 'wrong_object_type';
    END IF;
    INSERT INTO wfm.view_refresh_log (view_name, refreshed_at, finished_at, was_concurrent)
    VALUES (p_view, p_started, greatest(clock_timestamp(), p_started), p_concurrently);
    -- Keep the log small: 90 days is plenty for trends.
    DELETE FROM wfm.view_refresh_log WHERE view_name = p_view AND refreshed_at < now() - interval '90 days';
END
$$;
COMMENT ON FUNCTION wfm.record_view_refresh(regclass, timestamptz, boolean) IS
    'Records that a materialized view was refreshed (started at p_started, finished now); call it right after REFRESH MATERIALIZED VIEW.';
REVOKE EXECUTE ON FUNCTION wfm.record_view_refresh(regclass, timestamptz, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.record_view_refresh(regclass, timestamptz, boolean) TO wfm_etl;
