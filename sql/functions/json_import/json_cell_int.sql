-- wfm.json_cell_int (first defined in sql/040_json_import_validation.sql).
-- Internal cell helper of wfm.stage_import_rows (inlined: no SET clause, single expression).
CREATE OR REPLACE FUNCTION wfm.json_cell_int(t text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT CASE
    WHEN length(t) <= 9 AND wfm.is_digits(t) THEN t::integer        -- the common case, no numeric
    WHEN wfm.json_cell_num(t) IS NOT NULL THEN
        CASE WHEN wfm.json_cell_num(t) = trunc(wfm.json_cell_num(t)) AND wfm.json_cell_num(t) BETWEEN 0 AND 2147483647
             THEN wfm.json_cell_num(t)::integer END
END
$$;
COMMENT ON FUNCTION wfm.json_cell_int(text) IS
    'Internal (inlined): the cell as a non-negative integer (12, "12", 12.0 and "12.0" all give 12), NULL if it is not one.';
REVOKE ALL ON FUNCTION wfm.json_cell_int(text) FROM PUBLIC;
