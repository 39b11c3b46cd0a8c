-- The other side of wfm.agent_activity_check_references: an agent, service or group that
-- agent_activity rows refer to cannot be deleted, nor its key changed (nor a group moved to
-- another service): the ON DELETE / ON UPDATE NO ACTION of the foreign keys sql/211 replaced.
CREATE OR REPLACE FUNCTION wfm.protect_agent_activity_references() RETURNS trigger
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog, pg_temp
AS $$
BEGIN
    -- (an update that keeps the key changes nothing the rows refer to, as a foreign key sees it)
    IF TG_TABLE_NAME = 'agents' THEN
        IF (TG_OP = 'DELETE' OR OLD.agent_id IS DISTINCT FROM NEW.agent_id)
           AND EXISTS (SELECT 1 FROM wfm.agent_activity WHERE agent_id = OLD.agent_id) THEN
            RAISE EXCEPTION 'agent % (%) still has agent_activity rows', OLD.agent_id, OLD.code
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'agent_activity_agent_exists';
        END IF;
    ELSIF TG_TABLE_NAME = 'services' THEN
        IF (TG_OP = 'DELETE' OR OLD.service_id IS DISTINCT FROM NEW.service_id)
           AND EXISTS (SELECT 1 FROM wfm.agent_activity WHERE service_id = OLD.service_id) THEN
            RAISE EXCEPTION 'service % (%) still has agent_activity rows', OLD.service_id, OLD.code
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'agent_activity_service_exists';
        END IF;
    ELSIF (TG_OP = 'DELETE' OR (OLD.group_id, OLD.service_id) IS DISTINCT FROM (NEW.group_id, NEW.service_id))
          AND EXISTS (SELECT 1 FROM wfm.agent_activity WHERE service_id = OLD.service_id AND group_id = OLD.group_id) THEN
        RAISE EXCEPTION 'group % (%) still has agent_activity rows', OLD.group_id, OLD.code
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'agent_activity_group_of_service';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;
COMMENT ON FUNCTION wfm.protect_agent_activity_references() IS
    'Trigger: an agent, service or group with agent_activity rows cannot be deleted or re-keyed, nor a group moved to another service (ON DELETE/UPDATE NO ACTION of the replaced foreign keys).';
REVOKE ALL ON FUNCTION wfm.protect_agent_activity_references() FROM PUBLIC;
