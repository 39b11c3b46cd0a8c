-- One message per error code (issue 10): every code of wfm.error_codes gets the template of its
-- message, which both validators render (the SQL functions with wfm.render_error_template, the
-- file path with wfm_pipeline/argus/errors.py). The templates themselves are data of the
-- repeatable file sql/functions/errors/error_codes.sql, the one source of codes, scopes,
-- descriptions and templates (it runs after the numbered files and fills this column); the
-- Python package reads that same file, so a file can be validated without a database.

ALTER TABLE wfm.error_codes ADD COLUMN message_template text
    CONSTRAINT error_codes_message_template_not_blank CHECK (btrim(message_template) <> '');
COMMENT ON COLUMN wfm.error_codes.message_template IS
    'The message of every error with this code: text with {placeholders} (column, value, row, limit, ...) that '
    'wfm.render_error_template fills; {value} and {other_value} are quoted and clipped. Source: '
    'sql/functions/errors/error_codes.sql (also read by the file validator).';

-- The per-code CASE of sql/040 is replaced by the templates (wfm.stage_import_rows renders them).
DROP FUNCTION IF EXISTS wfm.import_error_message(text, text, text);
