-- wfm.health_row (first defined in sql/070_health_support.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it.

CREATE OR REPLACE FUNCTION wfm.health_row(
    p_check_name text, p_status text, p_measured numeric, p_threshold numeric, p_unit text,
    p_details jsonb DEFAULT '{}'::jsonb
) RETURNS wfm.check_result
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = wfm, pg_catalog, pg_temp
AS $$
BEGIN
    IF p_status IS NULL OR p_status NOT IN ('PASS', 'WARN', 'FAIL') THEN
        RAISE EXCEPTION 'health_row(%): status must be PASS, WARN or FAIL, not %', p_check_name, p_status
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN ROW(p_check_name, p_status, trim_scale(round(p_measured, 6)), p_threshold, p_unit,
               coalesce(p_details, '{}'::jsonb))::wfm.check_result;
END
$$;
COMMENT ON FUNCTION wfm.health_row(text, text, numeric, numeric, text, jsonb) IS
    'Builds one wfm.check_result row (status validated, measured rounded to 6 decimals).';
REVOKE ALL ON FUNCTION wfm.health_row(text, text, numeric, numeric, text, jsonb) FROM PUBLIC;
