-- Statement trigger of wfm.agent_state_transitions (sql/190): the service and group references,
-- checked once per statement (per-row foreign-key triggers would cost a noticeable share of a
-- COPY of a month of events), as call_records does.
CREATE OR REPLACE FUNCTION wfm.agent_state_transitions_check_references() RETURNS trigger
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_bad record;
BEGIN
    PERFORM 1 FROM wfm.services s
    WHERE s.service_id IN (SELECT DISTINCT n.service_id FROM new_rows n)
    ORDER BY s.service_id FOR KEY SHARE;
    PERFORM 1 FROM wfm.groups g
    WHERE g.group_id IN (SELECT DISTINCT n.group_id FROM new_rows n WHERE n.group_id IS NOT NULL)
    ORDER BY g.group_id FOR KEY SHARE;
    SELECT n.service_id, n.group_id, n.agent_code, (s.service_id IS NULL) AS unknown_service
    INTO v_bad
    FROM (SELECT DISTINCT ON (service_id, group_id) service_id, group_id, agent_code FROM new_rows) n
    LEFT JOIN wfm.services s ON s.service_id = n.service_id
    LEFT JOIN wfm.groups g ON g.group_id = n.group_id AND g.service_id = n.service_id
    WHERE s.service_id IS NULL OR (n.group_id IS NOT NULL AND g.group_id IS NULL)
    LIMIT 1;
    IF FOUND THEN
        IF v_bad.unknown_service THEN
            RAISE EXCEPTION 'agent_state_transitions row refers to unknown service_id % (agent %)',
                v_bad.service_id, v_bad.agent_code
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'agent_state_transitions_service_exists';
        END IF;
        RAISE EXCEPTION 'agent_state_transitions row refers to group_id %, which is not a group of service_id % (agent %)',
            v_bad.group_id, v_bad.service_id, v_bad.agent_code
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'agent_state_transitions_group_of_service';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION wfm.agent_state_transitions_check_references() IS
    'Statement trigger: every new or changed agent_state_transitions row refers to an existing service and, if any, a group of that service (foreign keys checked once per statement).';
REVOKE ALL ON FUNCTION wfm.agent_state_transitions_check_references() FROM PUBLIC;
