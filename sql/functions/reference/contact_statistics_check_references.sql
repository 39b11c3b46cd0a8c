-- wfm.contact_statistics_check_references (first defined in sql/010_contact_statistics_reference_checks.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it.

CREATE OR REPLACE FUNCTION wfm.contact_statistics_check_references() RETURNS trigger
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_bad record;
BEGIN
    -- Lock what the rows refer to, as a foreign key would (sorted: no deadlocks between batches).
    PERFORM 1 FROM wfm.services s
    WHERE s.service_id IN (SELECT DISTINCT n.service_id FROM new_rows n)
    ORDER BY s.service_id FOR KEY SHARE;
    PERFORM 1 FROM wfm.groups g
    WHERE g.group_id IN (SELECT DISTINCT n.group_id FROM new_rows n WHERE n.group_id IS NOT NULL)
    ORDER BY g.group_id FOR KEY SHARE;

    SELECT n.service_id, n.group_id, n.interval_start_time,
           (s.service_id IS NULL) AS unknown_service
    INTO v_bad
    FROM (SELECT DISTINCT ON (service_id, group_id) service_id, group_id, interval_start_time FROM new_rows) n
    LEFT JOIN wfm.services s ON s.service_id = n.service_id
    LEFT JOIN wfm.groups g ON g.group_id = n.group_id AND g.service_id = n.service_id
    WHERE s.service_id IS NULL OR (n.group_id IS NOT NULL AND g.group_id IS NULL)
    LIMIT 1;
    IF FOUND THEN
        IF v_bad.unknown_service THEN
            RAISE EXCEPTION 'contact_statistics row refers to unknown service_id % (interval %)',
                v_bad.service_id, v_bad.interval_start_time
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'contact_statistics_service_exists';
        END IF;
        RAISE EXCEPTION 'contact_statistics row refers to group_id %, which is not a group of service_id % (interval %)',
            v_bad.group_id, v_bad.service_id, v_bad.interval_start_time
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'contact_statistics_group_of_service';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION wfm.contact_statistics_check_references() IS
    'Statement trigger: every new or changed contact_statistics row refers to an existing service and, if any, a group of that service (the foreign keys, checked once per statement).';
REVOKE ALL ON FUNCTION wfm.contact_statistics_check_references() FROM PUBLIC;
