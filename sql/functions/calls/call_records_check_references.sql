-- Trigger function of wfm.call_records (the triggers: sql/120): service and group references,
-- checked once per statement over the transition table, as contact_statistics does (sql/010):
-- per-row foreign-key triggers would cost a third of a COPY of millions of calls. The checks
-- lock the referenced services/groups rows FOR KEY SHARE, exactly as a foreign key does.
CREATE OR REPLACE FUNCTION wfm.call_records_check_references() RETURNS trigger
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_services integer[];
    v_groups   integer[];
    v_bad      record;
    v_call     text;
BEGIN
    -- ONE pass over the transition table (a COPY's tens of thousands of rows): its distinct
    -- (service, group) pairs, a handful; everything else works on those
    SELECT pg_catalog.array_agg(p.service_id), pg_catalog.array_agg(p.group_id)
    INTO v_services, v_groups
    FROM (SELECT DISTINCT n.service_id, n.group_id FROM new_rows n) p;
    IF v_services IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM wfm.services s
    WHERE s.service_id = ANY (v_services)
    ORDER BY s.service_id FOR KEY SHARE;
    PERFORM 1 FROM wfm.groups g
    WHERE g.group_id = ANY (v_groups)
    ORDER BY g.group_id FOR KEY SHARE;
    SELECT k.service_id, k.group_id, (s.service_id IS NULL) AS unknown_service
    INTO v_bad
    FROM ROWS FROM (pg_catalog.unnest(v_services), pg_catalog.unnest(v_groups)) AS k(service_id, group_id)
    LEFT JOIN wfm.services s ON s.service_id = k.service_id
    LEFT JOIN wfm.groups g ON g.group_id = k.group_id AND g.service_id = k.service_id
    WHERE s.service_id IS NULL OR (k.group_id IS NOT NULL AND g.group_id IS NULL)
    LIMIT 1;
    IF FOUND THEN
        -- a call of the offending pair, for the message (only on this error path)
        SELECT n.call_id INTO v_call FROM new_rows n
        WHERE n.service_id = v_bad.service_id AND n.group_id IS NOT DISTINCT FROM v_bad.group_id
        LIMIT 1;
        IF v_bad.unknown_service THEN
            RAISE EXCEPTION 'call_records row refers to unknown service_id % (call %)', v_bad.service_id, v_call
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'call_records_service_exists';
        END IF;
        RAISE EXCEPTION 'call_records row refers to group_id %, which is not a group of service_id % (call %)',
            v_bad.group_id, v_bad.service_id, v_call
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'call_records_group_of_service';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION wfm.call_records_check_references() IS
    'Statement trigger: every new or changed call_records row refers to an existing service and, if any, a group of that service (foreign keys checked once per statement).';
REVOKE ALL ON FUNCTION wfm.call_records_check_references() FROM PUBLIC;
