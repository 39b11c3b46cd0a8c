-- requires: functions/reference/contact_statistics_check_references.sql
-- requires: functions/reference/protect_referenced_service_or_group.sql
-- Referential integrity of contact_statistics, checked once per statement instead of once per row.
--
-- The two foreign keys of sql/006 fire one RI trigger per inserted row. On the API's hot path
-- (api_batch_insert_calls, 10,000 rows per call) they cost a third of the insert time; the
-- same guarantee checked once per statement over the transition table costs one hash join.
-- The checks lock the referenced services/groups rows FOR KEY SHARE, exactly as a foreign key
-- does, so a concurrent DELETE of a referenced service waits instead of leaving orphans; and
-- services/groups refuse deletion (or a group's move to another service) while rows refer to them.

ALTER TABLE wfm.contact_statistics DROP CONSTRAINT contact_statistics_service_id_fkey;
ALTER TABLE wfm.contact_statistics DROP CONSTRAINT contact_statistics_group_of_service;

CREATE TRIGGER contact_statistics_references_on_insert
    AFTER INSERT ON wfm.contact_statistics
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION wfm.contact_statistics_check_references();
CREATE TRIGGER contact_statistics_references_on_update
    AFTER UPDATE ON wfm.contact_statistics
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION wfm.contact_statistics_check_references();

CREATE TRIGGER services_protect_referenced
    BEFORE DELETE OR UPDATE OF service_id ON wfm.services
    FOR EACH ROW EXECUTE FUNCTION wfm.protect_referenced_service_or_group();
CREATE TRIGGER groups_protect_referenced
    BEFORE DELETE OR UPDATE OF group_id, service_id ON wfm.groups
    FOR EACH ROW EXECUTE FUNCTION wfm.protect_referenced_service_or_group();
