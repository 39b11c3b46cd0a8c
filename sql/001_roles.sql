-- Roles of the least-privilege model (NOLOGIN: deployments grant them to login roles).
--   wfm_api       EXECUTE on the API functions only (granted by the API migrations)
--   wfm_etl       loads data: DML on the data tables
--   wfm_readonly  reads tables and views
-- Roles are cluster-wide, so creation tolerates another database having created them first.
DO $$
DECLARE
    role_name text;
BEGIN
    FOREACH role_name IN ARRAY ARRAY['wfm_api', 'wfm_etl', 'wfm_readonly'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created concurrently by a migration of another database
            END;
        END IF;
    END LOOP;
END
$$;
