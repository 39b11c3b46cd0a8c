-- Set-based validation of JSON input for the SQL write API (sql/041, sql/042): the row types
-- of wfm.stage_import_rows.
--
-- Release 0.2 moved the function bodies of this migration (the staging function, its rules
-- and its inlined cell helpers) to sql/functions/json_import/ (one file per function, applied
-- again whenever it changes). This file keeps the types and its place in the history.

CREATE TYPE wfm.import_row_error AS (
    column_name    text,
    error_code     text,
    error_message  text,
    raw_value      text
);
COMMENT ON TYPE wfm.import_row_error IS 'One problem of one input row: column (letter or field name, NULL = whole row), code of wfm.error_codes, message, raw value.';

CREATE TYPE wfm.staged_import_row AS (
    row_number                integer,
    service_id                integer,
    group_id                  integer,
    interval_start_time       timestamptz,
    unique_incoming           integer,
    non_unique_incoming       integer,
    avg_talk_time             integer,
    avg_post_processing_time  integer,
    answered_calls            integer,
    answered_within_sl        integer,
    abandoned_calls           integer,
    sl_threshold_seconds      integer,
    errors                    wfm.import_row_error[]
);
COMMENT ON TYPE wfm.staged_import_row IS
    'One parsed and validated input row of a JSON import: values, UTC interval start and its problems (empty = accepted; only DUPLICATE_ROW = skipped copy).';
