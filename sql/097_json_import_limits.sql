-- Hardening of the JSON write API (issue 9): the API role never creates partitions, payloads
-- are bounded, and every batch's counters add up. The functions themselves live in
-- sql/functions/json_import/ (repeatable); this file holds the tables, codes and constraints.

-- A row for a month without a monthly partition is a row error of the JSON functions: they
-- never run DDL in the caller's transaction (it would hold AccessExclusiveLock on the parent
-- tables until the caller commits, and an API client could create partitions without bound).
INSERT INTO wfm.error_codes (error_code, scope, description) VALUES
    ('NO_PARTITION', 'row',
     'The row''s month (UTC) has no partition yet; the JSON functions never create partitions. The operator makes '
     'the month available (premake window in wfm.partition_config, or wfm.ensure_monthly_partitions run by the ETL role).');

-- Per-call payload limits of the JSON functions. A table, not a GUC: a custom GUC can be
-- changed by the caller (SET wfm.x = ...), a table only by its owner.
CREATE TABLE wfm.api_write_limits (
    singleton          boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    max_rows_per_call  integer NOT NULL DEFAULT 50000 CHECK (max_rows_per_call BETWEEN 1 AND 10000000),
    max_bytes_per_call bigint  NOT NULL DEFAULT 20971520 CHECK (max_bytes_per_call BETWEEN 1024 AND 1073741824)
);
COMMENT ON TABLE wfm.api_write_limits IS
    'One row: the per-call limits of the JSON write functions (validate_argus_format, import_argus_format_data, '
    'import_excel_batch, api_batch_insert_calls, preview_import). A call over a limit fails with SQLSTATE 54000 '
    '(program_limit_exceeded) before its rows are expanded. Change with UPDATE wfm.api_write_limits SET ... as the schema owner.';
COMMENT ON COLUMN wfm.api_write_limits.singleton IS 'Always true: the table holds exactly one row.';
COMMENT ON COLUMN wfm.api_write_limits.max_rows_per_call IS 'Most JSON array elements (rows) one call may send; default 50,000.';
COMMENT ON COLUMN wfm.api_write_limits.max_bytes_per_call IS 'Most bytes of the jsonb payload (pg_column_size) one call may send; default 20 MB.';
INSERT INTO wfm.api_write_limits DEFAULT VALUES;
REVOKE ALL ON wfm.api_write_limits FROM PUBLIC;
GRANT SELECT ON wfm.api_write_limits TO wfm_readonly, wfm_etl;

-- The raw column-A value (interval_start) of a staged row: the raw_value of row errors found
-- after staging (NO_PARTITION).
ALTER TYPE wfm.staged_import_row ADD ATTRIBUTE interval_start_raw text;

-- Accounting: every finished batch accounts for each input row exactly once. 'running' has not
-- counted yet; 'failed' file batches are being brought in line by the loader (issue 9) and are
-- exempt until then. NOT VALID: earlier rows (e.g. 'validated' JSON batches, which did not count
-- their accepted rows) are not rechecked; every new or updated row is.
ALTER TABLE wfm.import_batches ADD CONSTRAINT import_batches_rows_add_up
    CHECK (status IN ('running', 'failed')
           OR rows_total = rows_inserted + rows_updated + rows_rejected + rows_skipped) NOT VALID;
COMMENT ON CONSTRAINT import_batches_rows_add_up ON wfm.import_batches IS
    'rows_total = rows_inserted + rows_updated + rows_rejected + rows_skipped for every finished batch (validated: the inserts/updates the import would make; duplicate: all skipped).';
