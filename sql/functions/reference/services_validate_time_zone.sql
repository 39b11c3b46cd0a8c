-- wfm.services_validate_time_zone (first defined in sql/003_services_groups.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it.

CREATE OR REPLACE FUNCTION wfm.services_validate_time_zone() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_timezone_names WHERE name = NEW.time_zone) THEN
        RAISE EXCEPTION 'invalid time zone "%" for service "%"', NEW.time_zone, NEW.code
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use an IANA name such as Europe/Moscow or America/New_York (see pg_catalog.pg_timezone_names).';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION wfm.services_validate_time_zone() IS
    'Trigger: rejects a service whose time_zone is not an IANA name known to the server.';
REVOKE ALL ON FUNCTION wfm.services_validate_time_zone() FROM PUBLIC;
