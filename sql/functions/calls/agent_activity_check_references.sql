-- Trigger function of wfm.agent_activity (the triggers: sql/211): agent, service and group
-- references, checked once per statement over the transition table, as contact_statistics
-- (sql/010) and call_records (sql/120) do. The three foreign keys they replace fired three RI
-- triggers per row: deriving a service-month of call records writes ~15,000 agent rows, and
-- their per-row checks cost about as much CPU as the rows themselves. The checks lock the
-- referenced rows FOR KEY SHARE, exactly as a foreign key does (sorted: no deadlocks between
-- loads); wfm.protect_agent_activity_references guards the other side (deleting what rows refer to).
CREATE OR REPLACE FUNCTION wfm.agent_activity_check_references() RETURNS trigger
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_bad record;
BEGIN
    PERFORM 1 FROM wfm.agents a
    WHERE a.agent_id IN (SELECT DISTINCT n.agent_id FROM new_rows n)
    ORDER BY a.agent_id FOR KEY SHARE;
    PERFORM 1 FROM wfm.services s
    WHERE s.service_id IN (SELECT DISTINCT n.service_id FROM new_rows n)
    ORDER BY s.service_id FOR KEY SHARE;
    PERFORM 1 FROM wfm.groups g
    WHERE g.group_id IN (SELECT DISTINCT n.group_id FROM new_rows n WHERE n.group_id IS NOT NULL)
    ORDER BY g.group_id FOR KEY SHARE;

    SELECT n.agent_id, n.service_id, n.group_id, n.interval_start_time,
           (a.agent_id IS NULL) AS unknown_agent, (s.service_id IS NULL) AS unknown_service
    INTO v_bad
    FROM (SELECT DISTINCT ON (agent_id, service_id, group_id) agent_id, service_id, group_id, interval_start_time
          FROM new_rows) n
    LEFT JOIN wfm.agents a ON a.agent_id = n.agent_id
    LEFT JOIN wfm.services s ON s.service_id = n.service_id
    LEFT JOIN wfm.groups g ON g.group_id = n.group_id AND g.service_id = n.service_id
    WHERE a.agent_id IS NULL OR s.service_id IS NULL OR (n.group_id IS NOT NULL AND g.group_id IS NULL)
    LIMIT 1;
    IF FOUND THEN
        IF v_bad.unknown_agent THEN
            RAISE EXCEPTION 'agent_activity row refers to unknown agent_id % (interval %)', v_bad.agent_id, v_bad.interval_start_time
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'agent_activity_agent_exists';
        ELSIF v_bad.unknown_service THEN
            RAISE EXCEPTION 'agent_activity row refers to unknown service_id % (interval %)', v_bad.service_id, v_bad.interval_start_time
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'agent_activity_service_exists';
        END IF;
        RAISE EXCEPTION 'agent_activity row refers to group_id %, which is not a group of service_id % (interval %)',
            v_bad.group_id, v_bad.service_id, v_bad.interval_start_time
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'agent_activity_group_of_service';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION wfm.agent_activity_check_references() IS
    'Statement trigger: every new or changed agent_activity row refers to an existing agent and service and, if any, a group of that service (the foreign keys, checked once per statement).';
REVOKE ALL ON FUNCTION wfm.agent_activity_check_references() FROM PUBLIC;
