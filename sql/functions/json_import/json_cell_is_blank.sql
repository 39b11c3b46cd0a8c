-- wfm.json_cell_is_blank (first defined in sql/040_json_import_validation.sql).
-- Internal cell helper of wfm.stage_import_rows (inlined: no SET clause, single expression).
CREATE OR REPLACE FUNCTION wfm.json_cell_is_blank(t text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT t IS NULL OR t ~ '^\s*$' $$;
COMMENT ON FUNCTION wfm.json_cell_is_blank(text) IS
    'Internal (inlined): a JSON cell that is absent, null or only white space.';
REVOKE ALL ON FUNCTION wfm.json_cell_is_blank(text) FROM PUBLIC;
