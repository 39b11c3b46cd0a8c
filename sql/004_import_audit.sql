-- Audit trail shared by every write path: one import_batches row per import (file, JSON call,
-- API batch) and one import_errors row per rejected input row and column.

CREATE TABLE wfm.error_codes (
    error_code   text PRIMARY KEY,
    scope        text NOT NULL CHECK (scope IN ('row', 'file')),
    description  text NOT NULL
);
COMMENT ON TABLE wfm.error_codes IS 'The closed list of validation error codes used by every validator (files, JSON functions).';
COMMENT ON COLUMN wfm.error_codes.error_code IS 'Stable machine-readable code.';
COMMENT ON COLUMN wfm.error_codes.scope IS 'row: one input row is rejected; file: the whole input is rejected.';
COMMENT ON COLUMN wfm.error_codes.description IS 'What the code means.';

INSERT INTO wfm.error_codes (error_code, scope, description) VALUES
    ('MISSING_VALUE',             'row',  'A required cell is empty.'),
    ('INVALID_DATETIME',          'row',  'Column A is not a DD.MM.YYYY HH:MM:SS date-time (or a date cell).'),
    ('MISALIGNED_INTERVAL',       'row',  'The interval start is not on a 15-minute boundary (:00, :15, :30, :45 and 0 seconds).'),
    ('INVALID_LOCAL_TIME',        'row',  'The local time does not exist in the service time zone (daylight-saving gap).'),
    ('NOT_INTEGER',               'row',  'A count or duration is not a whole number.'),
    ('NEGATIVE_VALUE',            'row',  'A count or duration is negative.'),
    ('OUT_OF_RANGE',              'row',  'A value is beyond its allowed maximum (durations at most 86400 s).'),
    ('UNIQUE_EXCEEDS_NON_UNIQUE', 'row',  'Unique incoming calls (B) exceed non-unique incoming calls (C).'),
    ('DUPLICATE_INTERVAL',        'row',  'The same interval appears more than once with different values; all copies are rejected.'),
    ('DUPLICATE_ROW',             'row',  'An exact copy of an earlier row for the same interval; the first copy is kept.'),
    ('FILE_UNREADABLE',           'file', 'The file could not be opened or parsed as xlsx, xls or csv.'),
    ('TOO_FEW_COLUMNS',           'file', 'The data has fewer than the five Argus columns A-E.'),
    ('NO_DATA_ROWS',              'file', 'No row with a date in column A was found.'),
    ('UNKNOWN_SERVICE',           'file', 'The service named by the import does not exist.'),
    ('UNKNOWN_GROUP',             'file', 'The group named by the import does not exist in that service.');

CREATE TABLE wfm.import_batches (
    import_batch_id  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    source           text NOT NULL CHECK (btrim(source) <> ''),
    file_name        text,
    file_sha256      text CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
    service_id       integer REFERENCES wfm.services (service_id),
    group_id         integer REFERENCES wfm.groups (group_id),
    status           text NOT NULL DEFAULT 'running'
                     CHECK (status IN ('running', 'validated', 'completed', 'completed_with_errors',
                                       'rejected', 'duplicate', 'failed', 'reverted')),
    rows_total       integer NOT NULL DEFAULT 0 CHECK (rows_total >= 0),
    rows_inserted    integer NOT NULL DEFAULT 0 CHECK (rows_inserted >= 0),
    rows_updated     integer NOT NULL DEFAULT 0 CHECK (rows_updated >= 0),
    rows_rejected    integer NOT NULL DEFAULT 0 CHECK (rows_rejected >= 0),
    rows_skipped     integer NOT NULL DEFAULT 0 CHECK (rows_skipped >= 0),
    first_interval   timestamptz,
    last_interval    timestamptz,
    finished_at      timestamptz,
    error_message    text,
    details          jsonb NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT import_batches_interval_order CHECK (first_interval <= last_interval)
);

COMMENT ON TABLE wfm.import_batches IS 'Audit trail: one row per import through any write path (file, JSON function, API batch).';
COMMENT ON COLUMN wfm.import_batches.import_batch_id IS 'Identifier stamped on every row the batch wrote.';
COMMENT ON COLUMN wfm.import_batches.created_at IS 'When the import started.';
COMMENT ON COLUMN wfm.import_batches.source IS 'Write path: file, argus_json, excel_batch, api, ui_upload, ...';
COMMENT ON COLUMN wfm.import_batches.file_name IS 'Original file name for file imports.';
COMMENT ON COLUMN wfm.import_batches.file_sha256 IS 'sha256 of the file content: the same content for the same service/group is a duplicate.';
COMMENT ON COLUMN wfm.import_batches.service_id IS 'Service the batch was imported for (NULL for multi-service API batches).';
COMMENT ON COLUMN wfm.import_batches.group_id IS 'Group the batch was imported for (NULL = service level or mixed).';
COMMENT ON COLUMN wfm.import_batches.status IS 'running, validated (dry run), completed, completed_with_errors, rejected (nothing imported), duplicate, failed, reverted.';
COMMENT ON COLUMN wfm.import_batches.rows_total IS 'Input data rows seen (headers and blank rows excluded).';
COMMENT ON COLUMN wfm.import_batches.rows_inserted IS 'Intervals that did not exist before this batch.';
COMMENT ON COLUMN wfm.import_batches.rows_updated IS 'Intervals that existed and were overwritten by this batch (old values stay in the history).';
COMMENT ON COLUMN wfm.import_batches.rows_rejected IS 'Input rows rejected; each has import_errors rows.';
COMMENT ON COLUMN wfm.import_batches.rows_skipped IS 'Exact duplicate rows within the input (DUPLICATE_ROW) that were skipped.';
COMMENT ON COLUMN wfm.import_batches.first_interval IS 'Earliest interval start among accepted rows.';
COMMENT ON COLUMN wfm.import_batches.last_interval IS 'Latest interval start among accepted rows.';
COMMENT ON COLUMN wfm.import_batches.finished_at IS 'When the import committed or failed.';
COMMENT ON COLUMN wfm.import_batches.error_message IS 'Why a batch failed or was rejected as a whole.';
COMMENT ON COLUMN wfm.import_batches.details IS 'Free-form facts: months touched, timings, reverted_by, ...';

CREATE INDEX import_batches_created_at_idx ON wfm.import_batches (created_at DESC);
COMMENT ON INDEX wfm.import_batches_created_at_idx IS 'Serves "recent imports" (ORDER BY created_at DESC LIMIT n) and the failed-imports health check.';
CREATE INDEX import_batches_sha_idx ON wfm.import_batches (file_sha256, service_id, group_id) WHERE file_sha256 IS NOT NULL;
COMMENT ON INDEX wfm.import_batches_sha_idx IS 'Serves the duplicate-file check by content hash.';

CREATE TABLE wfm.import_errors (
    import_error_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    import_batch_id  uuid NOT NULL REFERENCES wfm.import_batches (import_batch_id) ON DELETE CASCADE,
    row_number       integer CHECK (row_number >= 1),
    column_name      text,
    error_code       text NOT NULL REFERENCES wfm.error_codes (error_code),
    error_message    text NOT NULL,
    raw_value        text
);

COMMENT ON TABLE wfm.import_errors IS 'One row per problem found in an input row (or in the input as a whole, row_number NULL).';
COMMENT ON COLUMN wfm.import_errors.import_error_id IS 'Surrogate key.';
COMMENT ON COLUMN wfm.import_errors.import_batch_id IS 'The batch the problem belongs to.';
COMMENT ON COLUMN wfm.import_errors.row_number IS 'Spreadsheet row (1-based, headers counted) or JSON array position (1-based); NULL for whole-input errors.';
COMMENT ON COLUMN wfm.import_errors.column_name IS 'Column letter (A-E) or field name; NULL when the problem concerns the whole row or input.';
COMMENT ON COLUMN wfm.import_errors.error_code IS 'Code from wfm.error_codes.';
COMMENT ON COLUMN wfm.import_errors.error_message IS 'Readable explanation naming the value and the rule.';
COMMENT ON COLUMN wfm.import_errors.raw_value IS 'The offending value as sent, as text.';

CREATE INDEX import_errors_batch_idx ON wfm.import_errors (import_batch_id, row_number);
COMMENT ON INDEX wfm.import_errors_batch_idx IS 'Serves "errors of a batch in row order" (wfm batches show, the guide''s debug query).';
