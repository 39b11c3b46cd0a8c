-- requires: functions/calls/agent_activity_check_references.sql
-- requires: functions/calls/protect_agent_activity_references.sql
-- Referential integrity of agent_activity, checked once per statement instead of once per row
-- (as contact_statistics, sql/010, and call_records, sql/120, do). Deriving a service-month of
-- call records writes ~15,000 agent rows in one statement; the three foreign keys fired three RI
-- triggers per row, about as much CPU as writing the rows. The same guarantees: new and changed
-- rows must refer to an existing agent and service and (when set) a group of that service, the
-- referenced rows are locked FOR KEY SHARE; an agent, service or group with rows cannot be
-- deleted or re-keyed (wfm.protect_agent_activity_references).

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
