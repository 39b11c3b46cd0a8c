-- wfm.excel_serial_ts (first defined in sql/040_json_import_validation.sql).
-- Internal cell helper of wfm.stage_import_rows (inlined: no SET clause, single expression).
CREATE OR REPLACE FUNCTION wfm.excel_serial_ts(p_serial numeric) RETURNS timestamp
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT CASE WHEN p_serial > 0 AND p_serial < 2958466
            THEN timestamp '1899-12-30' + round(p_serial * 86400)::bigint * interval '1 second' END
$$;
COMMENT ON FUNCTION wfm.excel_serial_ts(numeric) IS
    'Internal (inlined): an Excel serial date (days since 1899-12-30, fraction = time of day) as a wall-clock time rounded to the second (float noise removed).';
REVOKE ALL ON FUNCTION wfm.excel_serial_ts(numeric) FROM PUBLIC;
