-- Issue 15 (session 6): p_compact_form, the request may be in the compact form of
-- api_batch_insert_calls (wfm.compact_form_header), whose header is not a row.
DROP FUNCTION IF EXISTS wfm.check_import_args(jsonb, text, integer, integer, boolean);
CREATE OR REPLACE FUNCTION wfm.check_import_args(p_data jsonb, p_param text, p_service_id integer,
                                                 p_group_id integer, p_service_required boolean,
                                                 p_compact_form boolean DEFAULT false)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_zone text;
BEGIN
    IF p_data IS NULL THEN
        RAISE EXCEPTION '% must not be NULL', p_param
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Send a JSON array of rows.';
    END IF;
    IF jsonb_typeof(p_data) <> 'array' THEN
        RAISE EXCEPTION '% must be a JSON array of rows, not a JSON %', p_param, jsonb_typeof(p_data)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM wfm.check_payload_limits(p_data, p_param,
        CASE WHEN p_compact_form AND jsonb_typeof(p_data -> 0) = 'array' THEN 1 ELSE 0 END);
    IF p_service_id IS NULL THEN
        IF p_service_required THEN
            RAISE EXCEPTION 'p_service_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
        END IF;
        RETURN NULL;
    END IF;
    SELECT s.time_zone INTO v_zone FROM wfm.services s WHERE s.service_id = p_service_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown service_id %', p_service_id
            USING ERRCODE = 'invalid_parameter_value', HINT = 'See wfm.services (wfm services list).';
    END IF;
    IF p_group_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM wfm.groups g WHERE g.group_id = p_group_id AND g.service_id = p_service_id) THEN
        RAISE EXCEPTION 'unknown group_id % in service_id %', p_group_id, p_service_id
            USING ERRCODE = 'invalid_parameter_value', HINT = 'See wfm.groups (wfm services list).';
    END IF;
    RETURN v_zone;
END
$$;
COMMENT ON FUNCTION wfm.check_import_args(jsonb, text, integer, integer, boolean, boolean) IS
    'Internal: raises on NULL or non-array data (22004/22023), a payload over wfm.api_write_limits (54000; with p_compact_form the compact form''s header is not counted as a row) and unknown service or group (22023); returns the service time zone.';
REVOKE ALL ON FUNCTION wfm.check_import_args(jsonb, text, integer, integer, boolean, boolean) FROM PUBLIC;
