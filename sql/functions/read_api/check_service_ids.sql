-- wfm.check_service_ids (first defined in sql/050_service_interval_stats.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it.

-- Argument checks shared by the read functions. SQLSTATEs: 22004 null_value_not_allowed,
-- 22023 invalid_parameter_value, P0002 no_data_found (unknown service).
CREATE OR REPLACE FUNCTION wfm.check_service_ids(p_service_ids integer[], p_param text DEFAULT 'p_service_ids')
RETURNS integer[]
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_unknown integer[];
    v_found   integer[];
BEGIN
    IF p_service_ids IS NULL THEN
        RETURN ARRAY(SELECT service_id FROM wfm.services ORDER BY service_id);
    END IF;
    IF cardinality(p_service_ids) = 0 THEN
        RAISE EXCEPTION '% must not be empty', p_param
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass NULL for all services.';
    END IF;
    IF array_position(p_service_ids, NULL) IS NOT NULL THEN
        RAISE EXCEPTION '% must not contain NULL (got %)', p_param, p_service_ids
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- Hot path: one index lookup; the slower checks below run only when something differs
    -- (unknown ids or duplicates).
    v_found := ARRAY(SELECT s.service_id FROM wfm.services s WHERE s.service_id = ANY (p_service_ids)
                     ORDER BY s.service_id);
    IF cardinality(v_found) = cardinality(p_service_ids) THEN
        RETURN v_found;
    END IF;
    SELECT array_agg(DISTINCT id ORDER BY id) INTO v_unknown
    FROM unnest(p_service_ids) AS id
    WHERE NOT EXISTS (SELECT 1 FROM wfm.services s WHERE s.service_id = id);
    IF v_unknown IS NOT NULL THEN
        RAISE EXCEPTION 'unknown service id(s) % in %', v_unknown, p_param
            USING ERRCODE = 'no_data_found', HINT = 'Service ids are wfm.services.service_id.';
    END IF;
    RETURN ARRAY(SELECT DISTINCT id FROM unnest(p_service_ids) AS id ORDER BY id);
END
$$;
COMMENT ON FUNCTION wfm.check_service_ids(integer[], text) IS
    'Internal: validates a service id array for the read API (NULL = all services; empty, NULL element -> 22023/22004; unknown id -> P0002) and returns the distinct ids.';
REVOKE ALL ON FUNCTION wfm.check_service_ids(integer[], text) FROM PUBLIC;
