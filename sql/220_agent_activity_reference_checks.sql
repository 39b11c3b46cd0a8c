-- requires: functions/agents/agent_activity_check_references.sql
-- requires: functions/agents/protect_agent_activity_references.sql
-- Referential integrity of agent_activity, checked once per statement instead of once per row
-- (as sql/010 did for contact_statistics and sql/190 for agent_state_transitions).
--
-- The three foreign keys of sql/007 fired two RI triggers per written row: deriving a daily
-- file's agent activity (about 1,300 rows) spent roughly a fifth of its time in them. The same
-- guarantee is checked over the statement's transition table; the referenced agents, services
-- and groups are locked FOR KEY SHARE as a foreign key would, and refuse deletion (or a change
-- of key) while rows refer to them.

ALTER TABLE wfm.agent_activity DROP CONSTRAINT agent_activity_agent_id_fkey;
ALTER TABLE wfm.agent_activity DROP CONSTRAINT agent_activity_service_id_fkey;
ALTER TABLE wfm.agent_activity DROP CONSTRAINT agent_activity_group_of_service;

CREATE TRIGGER agent_activity_references_on_insert
    AFTER INSERT ON wfm.agent_activity
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION wfm.agent_activity_check_references();
CREATE TRIGGER agent_activity_references_on_update
    AFTER UPDATE ON wfm.agent_activity
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION wfm.agent_activity_check_references();

CREATE TRIGGER agents_protect_agent_activity
    BEFORE DELETE OR UPDATE OF agent_id ON wfm.agents
    FOR EACH ROW EXECUTE FUNCTION wfm.protect_agent_activity_references();
CREATE TRIGGER services_protect_agent_activity
    BEFORE DELETE OR UPDATE OF service_id ON wfm.services
    FOR EACH ROW EXECUTE FUNCTION wfm.protect_agent_activity_references();
CREATE TRIGGER groups_protect_agent_activity
    BEFORE DELETE OR UPDATE OF group_id, service_id ON wfm.groups
    FOR EACH ROW EXECUTE FUNCTION wfm.protect_agent_activity_references();
