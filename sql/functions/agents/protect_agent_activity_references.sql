-- Row trigger on wfm.agents, wfm.services and wfm.groups (sql/220): what agent_activity rows
-- refer to cannot be deleted, nor its key changed (a group not moved to another service) - the
-- ON DELETE / ON UPDATE NO ACTION of the foreign keys wfm.agent_activity_check_references replaced.
CREATE OR REPLACE FUNCTION wfm.protect_agent_activity_references() RETURNS trigger
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_TABLE_NAME = 'agents' THEN
        IF (TG_OP = 'DELETE' OR NEW.agent_id IS DISTINCT FROM OLD.agent_id)
           AND EXISTS (SELECT 1 FROM wfm.agent_activity a WHERE a.agent_id = OLD.agent_id) THEN
            RAISE EXCEPTION 'agent % (%) still has agent_activity rows', OLD.agent_id, OLD.code
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'agent_activity_agent_exists';
        END IF;
    ELSIF TG_TABLE_NAME = 'services' THEN
        IF (TG_OP = 'DELETE' OR NEW.service_id IS DISTINCT FROM OLD.service_id)
           AND EXISTS (SELECT 1 FROM wfm.agent_activity a WHERE a.service_id = OLD.service_id) THEN
            RAISE EXCEPTION 'service % (%) still has agent_activity rows', OLD.service_id, OLD.code
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'agent_activity_service_exists';
        END IF;
    ELSIF (TG_OP = 'DELETE' OR NEW.group_id IS DISTINCT FROM OLD.group_id
           OR NEW.service_id IS DISTINCT FROM OLD.service_id)
          AND EXISTS (SELECT 1 FROM wfm.agent_activity a
                      WHERE a.service_id = OLD.service_id AND a.group_id = OLD.group_id) THEN
        RAISE EXCEPTION 'group % (%) still has agent_activity rows', OLD.group_id, OLD.code
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'agent_activity_group_of_service';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;
COMMENT ON FUNCTION wfm.protect_agent_activity_references() IS
    'Trigger: an agent, service or group that agent_activity rows refer to cannot be deleted, nor its key changed (ON DELETE / ON UPDATE NO ACTION of the foreign keys replaced by wfm.agent_activity_check_references).';
REVOKE ALL ON FUNCTION wfm.protect_agent_activity_references() FROM PUBLIC;
