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

-- View freshness comes from wfm.view_refresh_history (sql/051), written by every refresh.
--
-- The helper functions (health_row, health_grade, ...) and the checks live in
-- sql/functions/health/ since release 0.2.
