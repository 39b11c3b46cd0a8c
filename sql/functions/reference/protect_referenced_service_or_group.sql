-- wfm.protect_referenced_service_or_group (first defined in sql/010_contact_statistics_reference_checks.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it.

CREATE OR REPLACE FUNCTION wfm.protect_referenced_service_or_group() RETURNS trigger
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog, pg_temp
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
REVOKE ALL ON FUNCTION wfm.protect_referenced_service_or_group() FROM PUBLIC;
