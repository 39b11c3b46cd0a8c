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

CREATE FUNCTION wfm.contact_statistics_check_references() RETURNS trigger
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog
AS $$
DECLARE
    v_bad record;
BEGIN
    -- Lock what the rows refer to, as a foreign key would (sorted: no deadlocks between batches).
    PERFORM 1 FROM wfm.services s
    WHERE s.service_id IN (SELECT DISTINCT n.service_id FROM new_rows n)
    ORDER BY s.service_id FOR KEY SHARE;
    PERFORM 1 FROM wfm.groups g
    WHERE g.group_id IN (SELECT DISTINCT n.group_id FROM new_rows n WHERE n.group_id IS NOT NULL)
    ORDER BY g.group_id FOR KEY SHARE;

    SELECT n.service_id, n.group_id, n.interval_start_time,
           (s.service_id IS NULL) AS unknown_service
    INTO v_bad
    FROM (SELECT DISTINCT ON (service_id, group_id) service_id, group_id, interval_start_time FROM new_rows) n
    LEFT JOIN wfm.services s ON s.service_id = n.service_id
    LEFT JOIN wfm.groups g ON g.group_id = n.group_id AND g.service_id = n.service_id
    WHERE s.service_id IS NULL OR (n.group_id IS NOT NULL AND g.group_id IS NULL)
    LIMIT 1;
    IF FOUND THEN
        IF v_bad.unknown_service THEN
            RAISE EXCEPTION 'contact_statistics row refers to unknown service_id % (interval %)',
                v_bad.service_id, v_bad.interval_start_time
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'contact_statistics_service_exists';
        END IF;
        RAISE EXCEPTION 'contact_statistics row refers to group_id %, which is not a group of service_id % (interval %)',
            v_bad.group_id, v_bad.service_id, v_bad.interval_start_time
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'contact_statistics_group_of_service';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION wfm.contact_statistics_check_references() IS
    'Statement trigger: every new or changed contact_statistics row refers to an existing service and, if any, a group of that service (the foreign keys, checked once per statement).';

CREATE TRIGGER contact_statistics_references_on_insert
    AFTER INSERT ON wfm.contact_statistics
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION wfm.contact_statistics_check_references();
CREATE TRIGGER contact_statistics_references_on_update
    AFTER UPDATE ON wfm.contact_statistics
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION wfm.contact_statistics_check_references();

CREATE FUNCTION wfm.protect_referenced_service_or_group() RETURNS trigger
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog
AS $$
BEGIN
    IF TG_TABLE_NAME = 'services' THEN
        IF EXISTS (SELECT 1 FROM wfm.contact_statistics WHERE service_id = OLD.service_id) THEN
            RAISE EXCEPTION 'service % (%) still has contact_statistics rows', OLD.service_id, OLD.code
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'contact_statistics_service_exists';
        END IF;
    ELSIF EXISTS (SELECT 1 FROM wfm.contact_statistics WHERE service_id = OLD.service_id AND group_id = OLD.group_id) THEN
        RAISE EXCEPTION 'group % (%) still has contact_statistics rows', OLD.group_id, OLD.code
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'contact_statistics_group_of_service';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;
COMMENT ON FUNCTION wfm.protect_referenced_service_or_group() IS
    'Trigger: a service or group with contact_statistics rows cannot be deleted, nor a group moved to another service (ON DELETE NO ACTION of the replaced foreign keys).';

CREATE TRIGGER services_protect_referenced
    BEFORE DELETE OR UPDATE OF service_id ON wfm.services
    FOR EACH ROW EXECUTE FUNCTION wfm.protect_referenced_service_or_group();
CREATE TRIGGER groups_protect_referenced
    BEFORE DELETE OR UPDATE OF group_id, service_id ON wfm.groups
    FOR EACH ROW EXECUTE FUNCTION wfm.protect_referenced_service_or_group();
