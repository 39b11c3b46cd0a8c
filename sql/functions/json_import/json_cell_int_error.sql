-- wfm.json_cell_int_error (first defined in sql/040_json_import_validation.sql).
-- Internal cell helper of wfm.stage_import_rows (inlined: no SET clause, single expression).
CREATE OR REPLACE FUNCTION wfm.json_cell_int_error(t text, p_required boolean, p_max integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT CASE
    WHEN length(t) <= 9 AND wfm.is_digits(t) THEN CASE WHEN t::integer > p_max THEN 'OUT_OF_RANGE' END
    WHEN wfm.json_cell_is_blank(t) THEN CASE WHEN p_required THEN 'MISSING_VALUE' END
    WHEN wfm.json_cell_num(t) IS NULL THEN 'NOT_INTEGER'
    WHEN wfm.json_cell_num(t) <> trunc(wfm.json_cell_num(t)) THEN 'NOT_INTEGER'
    WHEN wfm.json_cell_num(t) < 0 THEN 'NEGATIVE_VALUE'
    WHEN wfm.json_cell_num(t) > p_max THEN 'OUT_OF_RANGE'
END
$$;
COMMENT ON FUNCTION wfm.json_cell_int_error(text, boolean, integer) IS
    'Internal (inlined): error code of an integer cell (MISSING_VALUE if required and blank, NOT_INTEGER, NEGATIVE_VALUE, OUT_OF_RANGE above p_max) or NULL when valid.';
REVOKE ALL ON FUNCTION wfm.json_cell_int_error(text, boolean, integer) FROM PUBLIC;
