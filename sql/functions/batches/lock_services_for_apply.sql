-- wfm.lock_services_for_apply (first defined in sql/021_import_batch_apply_revert.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it.

-- Serializes applies/reverts per service so that apply order = commit order for every
-- interval of that service (two concurrent batches cannot interleave their upserts).
CREATE OR REPLACE FUNCTION wfm.lock_services_for_apply(p_service_ids integer[]) RETURNS void
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_service integer;
BEGIN
    -- Sorted, so two batches touching the same services never deadlock on these locks.
    FOR v_service IN SELECT DISTINCT s FROM unnest(p_service_ids) AS s WHERE s IS NOT NULL ORDER BY s LOOP
        PERFORM pg_advisory_xact_lock(hashtext('wfm.apply_import_batch'), v_service);
    END LOOP;
END
$$;
COMMENT ON FUNCTION wfm.lock_services_for_apply(integer[]) IS
    'Internal: transaction-level advisory locks (sorted) on the services a batch touches, serializing applies and reverts per service.';
REVOKE ALL ON FUNCTION wfm.lock_services_for_apply(integer[]) FROM PUBLIC;
