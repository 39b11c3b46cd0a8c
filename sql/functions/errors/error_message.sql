-- The message of one error, by code: the code's template (wfm.error_codes) rendered with
-- wfm.render_error_template. For the functions that report a few file-level errors per call
-- (NO_DATA_ROWS, STRICT_MODE); wfm.stage_import_rows reads the templates once per statement.
CREATE OR REPLACE FUNCTION wfm.error_message(p_code text, p_params jsonb DEFAULT '{}'::jsonb) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_template text;
BEGIN
    SELECT ec.message_template INTO v_template FROM wfm.error_codes ec WHERE ec.error_code = p_code;
    IF v_template IS NULL THEN
        RAISE EXCEPTION 'error code % has no message template', pg_catalog.quote_nullable(p_code)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Codes and their templates: wfm.error_codes (source: sql/functions/errors/error_codes.sql).';
    END IF;
    RETURN wfm.render_error_template(v_template, p_params);
END
$$;
COMMENT ON FUNCTION wfm.error_message(text, jsonb) IS
    'The message of an error: the template of p_code in wfm.error_codes rendered with p_params by wfm.render_error_template ({value} clipped and quoted, other placeholders verbatim, missing ones kept; at most 1000 characters). Raises 22023 for a code without template. The file validator renders identically.';
REVOKE ALL ON FUNCTION wfm.error_message(text, jsonb) FROM PUBLIC;
