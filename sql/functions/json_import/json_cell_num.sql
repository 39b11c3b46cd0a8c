-- wfm.json_cell_num (first defined in sql/040_json_import_validation.sql).
-- Internal cell helper of wfm.stage_import_rows (inlined: no SET clause, single expression).
CREATE OR REPLACE FUNCTION wfm.json_cell_num(t text) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
-- As the file path: a decimal comma is a decimal point, spaces are dropped ("1 000", "12,0").
SELECT CASE WHEN length(t) <= 9 AND wfm.is_digits(t) THEN t::numeric
            WHEN wfm.json_cell_is_number(replace(replace(t, ',', '.'), ' ', ''))
            THEN replace(replace(t, ',', '.'), ' ', '')::numeric END
$$;
COMMENT ON FUNCTION wfm.json_cell_num(text) IS
    'Internal (inlined): the cell as a number (decimal comma accepted, spaces dropped), NULL if it is not one.';
REVOKE ALL ON FUNCTION wfm.json_cell_num(text) FROM PUBLIC;
