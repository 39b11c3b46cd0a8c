-- wfm.contact_statistics_check_references (first defined in sql/010_contact_statistics_reference_checks.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it.

CREATE OR REPLACE FUNCTION wfm.contact_statistics_check_references() RETURNS trigger
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_pairs    integer[];  -- the statement's distinct (service_id, group_id) pairs: int[n][2]
    v_service  integer;
    v_group    integer;
    v_unknown  boolean;
    v_interval timestamptz;
BEGIN
    -- ONE pass over the statement's rows (a hash aggregate of 10,000 rows costs about a
    -- millisecond); the locks and the check below read only the few distinct pairs.
    SELECT coalesce(array_agg(ARRAY[p.service_id, p.group_id]), '{}')
    INTO v_pairs
    FROM (SELECT DISTINCT n.service_id, n.group_id FROM new_rows n) p;
    IF cardinality(v_pairs) = 0 THEN
        RETURN NULL;
    END IF;

    -- Lock what the rows refer to, as a foreign key would (sorted: no deadlocks between batches).
    PERFORM 1 FROM wfm.services s
    WHERE s.service_id IN (SELECT v_pairs[i][1] FROM generate_subscripts(v_pairs, 1) i)
    ORDER BY s.service_id FOR KEY SHARE;
    PERFORM 1 FROM wfm.groups g
    WHERE g.group_id IN (SELECT v_pairs[i][2] FROM generate_subscripts(v_pairs, 1) i WHERE v_pairs[i][2] IS NOT NULL)
    ORDER BY g.group_id FOR KEY SHARE;

    SELECT n.service_id, n.group_id, (s.service_id IS NULL)
    INTO v_service, v_group, v_unknown
    FROM (SELECT v_pairs[i][1] AS service_id, v_pairs[i][2] AS group_id FROM generate_subscripts(v_pairs, 1) i) n
    LEFT JOIN wfm.services s ON s.service_id = n.service_id
    LEFT JOIN wfm.groups g ON g.group_id = n.group_id AND g.service_id = n.service_id
    WHERE s.service_id IS NULL OR (n.group_id IS NOT NULL AND g.group_id IS NULL)
    ORDER BY n.service_id, n.group_id NULLS FIRST
    LIMIT 1;
    IF FOUND THEN
        -- the error path only: an interval of an offending row for the message
        SELECT min(r.interval_start_time) INTO v_interval
        FROM new_rows r WHERE r.service_id = v_service AND r.group_id IS NOT DISTINCT FROM v_group;
        IF v_unknown THEN
            RAISE EXCEPTION 'contact_statistics row refers to unknown service_id % (interval %)',
                v_service, v_interval
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'contact_statistics_service_exists';
        END IF;
        RAISE EXCEPTION 'contact_statistics row refers to group_id %, which is not a group of service_id % (interval %)',
            v_group, v_service, v_interval
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'contact_statistics_group_of_service';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION wfm.contact_statistics_check_references() IS
    'Statement trigger: every new or changed contact_statistics row refers to an existing service and, if any, a group of that service (the foreign keys, checked once per statement).';
REVOKE ALL ON FUNCTION wfm.contact_statistics_check_references() FROM PUBLIC;
