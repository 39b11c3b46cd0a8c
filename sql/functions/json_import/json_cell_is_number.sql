-- wfm.json_cell_is_number (first defined in sql/040_json_import_validation.sql).
-- Internal cell helper of wfm.stage_import_rows (inlined: no SET clause, single expression).
CREATE OR REPLACE FUNCTION wfm.json_cell_is_number(t text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT t ~ '^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?\s*$' $$;
COMMENT ON FUNCTION wfm.json_cell_is_number(text) IS
    'Internal (inlined): the text of a JSON number or a string holding a decimal number (safe to cast to numeric).';
REVOKE ALL ON FUNCTION wfm.json_cell_is_number(text) FROM PUBLIC;
