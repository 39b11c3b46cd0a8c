-- Statement trigger of wfm.agent_activity (sql/220): the agent, service and group references,
-- checked once per statement instead of one RI trigger per row (the per-row checks were about a
-- fifth of deriving a daily file's agent activity). The referenced rows are locked FOR KEY SHARE
-- (sorted), as a foreign key would; wfm.protect_agent_activity_references guards the other side.
CREATE OR REPLACE FUNCTION wfm.agent_activity_check_references() RETURNS trigger
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_agents   integer[];
    v_services integer[];
    v_groups   integer[];
    v_bad      record;
    v_interval timestamptz;
BEGIN
    -- ONE pass over the transition table (a service-month file of call records writes ~15,000
    -- rows): its distinct (agent, service, group) triples, a few dozen; the locks and checks
    -- work on those (were three DISTINCT passes and a DISTINCT ON sort of every row)
    SELECT pg_catalog.array_agg(t.agent_id), pg_catalog.array_agg(t.service_id), pg_catalog.array_agg(t.group_id)
    INTO v_agents, v_services, v_groups
    FROM (SELECT DISTINCT n.agent_id, n.service_id, n.group_id FROM new_rows n) t;
    IF v_agents IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM wfm.agents a
    WHERE a.agent_id = ANY (v_agents)
    ORDER BY a.agent_id FOR KEY SHARE;
    PERFORM 1 FROM wfm.services s
    WHERE s.service_id = ANY (v_services)
    ORDER BY s.service_id FOR KEY SHARE;
    PERFORM 1 FROM wfm.groups g
    WHERE g.group_id = ANY (v_groups)
    ORDER BY g.group_id FOR KEY SHARE;

    SELECT k.agent_id, k.service_id, k.group_id,
           (a.agent_id IS NULL) AS unknown_agent, (s.service_id IS NULL) AS unknown_service
    INTO v_bad
    FROM ROWS FROM (pg_catalog.unnest(v_agents), pg_catalog.unnest(v_services), pg_catalog.unnest(v_groups))
         AS k(agent_id, service_id, group_id)
    LEFT JOIN wfm.agents a ON a.agent_id = k.agent_id
    LEFT JOIN wfm.services s ON s.service_id = k.service_id
    LEFT JOIN wfm.groups g ON g.group_id = k.group_id AND g.service_id = k.service_id
    WHERE a.agent_id IS NULL OR s.service_id IS NULL OR (k.group_id IS NOT NULL AND g.group_id IS NULL)
    LIMIT 1;
    IF FOUND THEN
        -- an interval of the offending triple, for the message (only on this error path)
        SELECT n.interval_start_time INTO v_interval FROM new_rows n
        WHERE n.agent_id IS NOT DISTINCT FROM v_bad.agent_id AND n.service_id IS NOT DISTINCT FROM v_bad.service_id
          AND n.group_id IS NOT DISTINCT FROM v_bad.group_id
        LIMIT 1;
        IF v_bad.unknown_agent THEN
            RAISE EXCEPTION 'agent_activity row refers to unknown agent_id % (interval %)',
                v_bad.agent_id, v_interval
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'agent_activity_agent_exists';
        END IF;
        IF v_bad.unknown_service THEN
            RAISE EXCEPTION 'agent_activity row refers to unknown service_id % (interval %)',
                v_bad.service_id, v_interval
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'agent_activity_service_exists';
        END IF;
        RAISE EXCEPTION 'agent_activity row refers to group_id %, which is not a group of service_id % (interval %)',
            v_bad.group_id, v_bad.service_id, v_interval
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'agent_activity_group_of_service';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION wfm.agent_activity_check_references() IS
    'Statement trigger: every new or changed agent_activity row refers to an existing agent, an existing service and, if any, a group of that service (the foreign keys, checked once per statement).';
REVOKE ALL ON FUNCTION wfm.agent_activity_check_references() FROM PUBLIC;
