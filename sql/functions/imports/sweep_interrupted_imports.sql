-- A file import commits its batch as 'running' (with its backend pid and start time) before
-- any other work, so an import killed hard (SIGKILL, OOM, power loss) leaves a trace. This
-- sweep turns running batches whose session is gone into 'failed' ("interrupted"): called at
-- the start of every file import and by the health check (wfm health), which then reports
-- them among the failed imports.
CREATE OR REPLACE FUNCTION wfm.sweep_interrupted_imports()
RETURNS TABLE (import_batch_id uuid, file_name text, backend_pid integer, created_at timestamptz)
LANGUAGE sql
SECURITY DEFINER  -- pg_stat_activity shows other roles' backend_start only to privileged roles
SET search_path = wfm, pg_catalog, pg_temp
AS $$
    WITH swept AS (
        UPDATE wfm.import_batches b
        SET status = 'failed',
            finished_at = pg_catalog.clock_timestamp(),
            rows_inserted = 0,
            rows_updated = 0,
            rows_rejected = b.rows_total - b.rows_skipped,
            first_interval = NULL,
            last_interval = NULL,
            error_message = pg_catalog.format(
                'interrupted: the importing session (backend pid %s, started %s) ended before the batch finished; '
                'nothing of it was imported', b.backend_pid, b.backend_start),
            details = b.details || pg_catalog.jsonb_build_object('interrupted', true,
                                                                 'swept_at', pg_catalog.clock_timestamp())
        WHERE b.status = 'running'
          AND b.backend_pid IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a
                          WHERE a.pid = b.backend_pid AND a.backend_start = b.backend_start)
        RETURNING b.import_batch_id, b.file_name, b.backend_pid, b.created_at, b.error_message
    ), errors AS (
        INSERT INTO wfm.import_errors (import_batch_id, row_number, column_name, error_code, error_message, raw_value)
        SELECT s.import_batch_id, NULL, NULL, 'IMPORT_FAILED', s.error_message, NULL FROM swept s
    )
    SELECT s.import_batch_id, s.file_name, s.backend_pid, s.created_at FROM swept s ORDER BY s.created_at
$$;
COMMENT ON FUNCTION wfm.sweep_interrupted_imports() IS
    'Marks running import batches whose session (import_batches.backend_pid + backend_start) no longer exists as failed ("interrupted"), with an IMPORT_FAILED error; returns them. Run by every file import and by wfm health.';
REVOKE ALL ON FUNCTION wfm.sweep_interrupted_imports() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.sweep_interrupted_imports() TO wfm_etl;
