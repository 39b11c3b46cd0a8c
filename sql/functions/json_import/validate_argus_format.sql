CREATE OR REPLACE FUNCTION wfm.validate_argus_format(p_data jsonb, p_service_id integer DEFAULT NULL)
RETURNS TABLE (row_number integer, column_name text, error_code text, error_message text, raw_value text)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_rows wfm.staged_import_row[];
BEGIN
    PERFORM wfm.check_import_args(p_data, 'p_data', p_service_id, NULL, false);
    SELECT coalesce(array_agg(s), '{}') INTO v_rows FROM wfm.stage_import_rows(p_data, 'argus', p_service_id, NULL) s;
    IF cardinality(v_rows) = 0 THEN
        RETURN QUERY SELECT NULL::integer, NULL::text, 'NO_DATA_ROWS'::text,
                            wfm.error_message('NO_DATA_ROWS', '{"file": "JSON input"}'), NULL::text;
        RETURN;
    END IF;
    RETURN QUERY
    SELECT s.row_number, e.column_name, e.error_code, e.error_message, e.raw_value
    FROM unnest(v_rows) s
    CROSS JOIN LATERAL unnest(s.errors) WITH ORDINALITY AS e(column_name, error_code, error_message, raw_value, pos)
    ORDER BY s.row_number, e.pos;
END
$$;
COMMENT ON FUNCTION wfm.validate_argus_format(jsonb, integer) IS
    'Validates Argus rows sent as JSON ([A,B,C,D,E] or {"A":..,"E":..}; A as DD.MM.YYYY HH:MM:SS, ISO 8601 or Excel serial) with the file path''s rules and codes; one row per problem, none = valid. Row numbers are 1-based array positions. With p_service_id, wall-clock times are checked in its time zone (DST gap, fall-back order); without, as UTC. Partitions are not checked (the import reports NO_PARTITION). At most wfm.api_write_limits rows/bytes per call. Logs nothing.';
REVOKE ALL ON FUNCTION wfm.validate_argus_format(jsonb, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.validate_argus_format(jsonb, integer) TO wfm_api;
