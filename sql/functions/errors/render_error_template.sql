-- The one renderer of error messages in SQL: a template of wfm.error_codes (source:
-- sql/functions/errors/error_codes.sql) filled from a jsonb object of parameters. The file
-- validator renders the same templates by the same rules (wfm_pipeline/argus/errors.py, render);
-- wfm_pipeline_tests/test_error_messages.py proves both give identical text.
--
-- The rules: every {placeholder} but {value} is replaced by its parameter with braces turned
-- into parentheses, so no inserted text holds a placeholder and the order of the replacements
-- does not matter; {value} (the raw user input) comes last, clipped to 200 characters and
-- quoted ('...', quotes doubled), so it is never read again. A parameter that is absent or null
-- leaves its placeholder. The message is clipped to 1000 characters. A new placeholder in
-- error_codes.sql needs its line here (the test renders every template with all parameters).
--
-- Inlined (one expression, no SET clause): wfm.stage_import_rows renders every row error with
-- it. Pass p_params as a column (e.g. of a LATERAL (... OFFSET 0) subquery), not as an
-- expression: the inlined body reads it once per placeholder.
CREATE OR REPLACE FUNCTION wfm.render_error_template(p_template text, p_params jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT wfm.clip_text(pg_catalog.replace(
  pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
  pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
  pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
  pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
  pg_catalog.replace(pg_catalog.replace(  -- one per placeholder below
      p_template,
      '{column}', coalesce(pg_catalog.translate(p_params ->> 'column', '{}', '()'), '{column}')),
      '{other_column}', coalesce(pg_catalog.translate(p_params ->> 'other_column', '{}', '()'), '{other_column}')),
      '{other_count}', coalesce(pg_catalog.translate(p_params ->> 'other_count', '{}', '()'), '{other_count}')),
      '{first_row}', coalesce(pg_catalog.translate(p_params ->> 'first_row', '{}', '()'), '{first_row}')),
      '{rows}', coalesce(pg_catalog.translate(p_params ->> 'rows', '{}', '()'), '{rows}')),
      '{limit}', coalesce(pg_catalog.translate(p_params ->> 'limit', '{}', '()'), '{limit}')),
      '{time_zone}', coalesce(pg_catalog.translate(p_params ->> 'time_zone', '{}', '()'), '{time_zone}')),
      '{service}', coalesce(pg_catalog.translate(p_params ->> 'service', '{}', '()'), '{service}')),
      '{month}', coalesce(pg_catalog.translate(p_params ->> 'month', '{}', '()'), '{month}')),
      '{file}', coalesce(pg_catalog.translate(p_params ->> 'file', '{}', '()'), '{file}')),
      '{reason}', coalesce(pg_catalog.translate(p_params ->> 'reason', '{}', '()'), '{reason}')),
      '{columns}', coalesce(pg_catalog.translate(p_params ->> 'columns', '{}', '()'), '{columns}')),
      '{where}', coalesce(pg_catalog.translate(p_params ->> 'where', '{}', '()'), '{where}')),
      '{last_row}', coalesce(pg_catalog.translate(p_params ->> 'last_row', '{}', '()'), '{last_row}')),
      '{last_column}', coalesce(pg_catalog.translate(p_params ->> 'last_column', '{}', '()'), '{last_column}')),
      '{cells}', coalesce(pg_catalog.translate(p_params ->> 'cells', '{}', '()'), '{cells}')),
      '{max_rows}', coalesce(pg_catalog.translate(p_params ->> 'max_rows', '{}', '()'), '{max_rows}')),
      '{max_columns}', coalesce(pg_catalog.translate(p_params ->> 'max_columns', '{}', '()'), '{max_columns}')),
      '{max_cells}', coalesce(pg_catalog.translate(p_params ->> 'max_cells', '{}', '()'), '{max_cells}')),
      '{rejected}', coalesce(pg_catalog.translate(p_params ->> 'rejected', '{}', '()'), '{rejected}')),
      '{total}', coalesce(pg_catalog.translate(p_params ->> 'total', '{}', '()'), '{total}')),
      '{valid}', coalesce(pg_catalog.translate(p_params ->> 'valid', '{}', '()'), '{valid}')),
      '{interval}', coalesce(pg_catalog.translate(p_params ->> 'interval', '{}', '()'), '{interval}')),
      '{first}', coalesce(pg_catalog.translate(p_params ->> 'first', '{}', '()'), '{first}')),
      '{last}', coalesce(pg_catalog.translate(p_params ->> 'last', '{}', '()'), '{last}')),
      '{count}', coalesce(pg_catalog.translate(p_params ->> 'count', '{}', '()'), '{count}')),
  -- last: the raw value, clipped and quoted (quotes doubled); nothing reads it again
  '{value}', coalesce('''' || pg_catalog.replace(wfm.clip_text(p_params ->> 'value'), '''', '''''') || '''', '{value}')),
  1000)
$$;
COMMENT ON FUNCTION wfm.render_error_template(text, jsonb) IS
    'Internal (inlined): an error message from a wfm.error_codes template and its parameters: {value} clipped to 200 characters and quoted, every other placeholder verbatim with braces as parentheses, missing ones kept; clipped to 1000 characters. The file validator renders identically (wfm_pipeline/argus/errors.py).';
REVOKE ALL ON FUNCTION wfm.render_error_template(text, jsonb) FROM PUBLIC;
