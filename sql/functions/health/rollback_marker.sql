-- wfm.rollback_marker (first defined in sql/070_health_support.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it.

-- A rolled-back subtransaction needs an error to roll it back; this SQLSTATE marks ours so a
-- real error is never swallowed by mistake.
CREATE OR REPLACE FUNCTION wfm.rollback_marker() RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT 'WFRB0'::text $$;
COMMENT ON FUNCTION wfm.rollback_marker() IS
    'SQLSTATE raised on purpose to roll back a check''s subtransaction (undoes its writes and releases its locks).';
REVOKE ALL ON FUNCTION wfm.rollback_marker() FROM PUBLIC;
