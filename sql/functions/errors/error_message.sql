-- The one renderer of error messages in SQL: the template of a code (wfm.error_codes, whose
-- source is sql/functions/errors/error_codes.sql) filled from a jsonb object of parameters. The
-- file validator renders the same templates with the same steps (wfm_pipeline/argus/errors.py,
-- render); wfm_pipeline_tests/test_error_messages.py proves both give identical text.
CREATE OR REPLACE FUNCTION wfm.error_message(p_code text, p_params jsonb DEFAULT '{}'::jsonb) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = wfm, pg_catalog, pg_temp
AS $$
-- One pass over the template: a template holds no braces but those of its {placeholders} (a test
-- checks), so splitting it at braces alternates text (odd positions) and placeholder names (even).
-- A value is therefore never read as a placeholder. {value} and {other_value} (raw user input)
-- are clipped to 200 characters and quoted, quotes doubled; the other parameters are inserted as
-- they are; an absent or null parameter leaves its placeholder. The result is clipped to 1000.
DECLARE
    v_template text;
    v_parts    text[];
    v_out      text := '';
    v_param    text;
BEGIN
    SELECT ec.message_template INTO v_template FROM wfm.error_codes ec WHERE ec.error_code = p_code;
    IF v_template IS NULL THEN
        RAISE EXCEPTION 'error code % has no message template', pg_catalog.quote_nullable(p_code)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Codes and their templates: wfm.error_codes (source: sql/functions/errors/error_codes.sql).';
    END IF;
    v_parts := pg_catalog.regexp_split_to_array(v_template, '[{}]');
    FOR i IN 1 .. pg_catalog.cardinality(v_parts) LOOP
        IF i % 2 = 1 THEN
            v_out := v_out || v_parts[i];
            CONTINUE;
        END IF;
        v_param := p_params ->> v_parts[i];
        v_out := v_out || CASE WHEN v_param IS NULL THEN '{' || v_parts[i] || '}'
                               WHEN v_parts[i] IN ('value', 'other_value')
                               THEN '''' || pg_catalog.replace(wfm.clip_text(v_param), '''', '''''') || ''''
                               ELSE v_param END;
    END LOOP;
    RETURN wfm.clip_text(v_out, 1000);
END
$$;
COMMENT ON FUNCTION wfm.error_message(text, jsonb) IS
    'The message of an error: the template of p_code in wfm.error_codes with its {placeholders} filled from p_params ({value} and {other_value} clipped to 200 characters and quoted; others verbatim; a missing one stays), clipped to 1000 characters. Raises 22023 for a code without template. The file validator renders identically.';
REVOKE ALL ON FUNCTION wfm.error_message(text, jsonb) FROM PUBLIC;
