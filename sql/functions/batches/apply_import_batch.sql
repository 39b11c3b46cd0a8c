-- wfm.apply_import_batch (first defined in sql/021_import_batch_apply_revert.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it.
--
-- Protocol for every write path (files, JSON functions, API batches):
--   1. ensure partitions of contact_statistics and contact_statistics_history BEFOREHAND, in a
--      short transaction of its own (wfm.ensure_import_partitions; the JSON API relies on the
--      premade window and creates none);
--   then ONE transaction:
--   2. LOCK the tables in THE order: ROW EXCLUSIVE on wfm.contact_statistics, then on
--      wfm.contact_statistics_history (see sql/functions/partitions/ensure_import_partitions.sql)
--   3. the batch's import_batches row (the file loader commits it as 'running' first)
--   4. COPY / INSERT the batch's accepted rows into wfm.contact_statistics_history
--   5. SELECT * FROM wfm.apply_import_batch(batch)   -> rows_inserted, rows_updated
--   6. import_errors rows, batch counters and status
-- "Latest batch wins" means: latest in apply order (import_batches.apply_seq).

CREATE OR REPLACE FUNCTION wfm.apply_import_batch(p_import_batch_id uuid)
RETURNS TABLE (rows_inserted integer, rows_updated integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
-- The batch's range and services from its history rows; wfm.apply_import_batch_range does the
-- rest (checks, per-service locks, apply_seq, insert or upsert: see there).
DECLARE
    v_first     timestamptz;
    v_last      timestamptz;
    v_services  integer[];
BEGIN
    SELECT min(h.interval_start_time), max(h.interval_start_time), array_agg(DISTINCT h.service_id)
    INTO v_first, v_last, v_services
    FROM wfm.contact_statistics_history h WHERE h.import_batch_id = p_import_batch_id;
    RETURN QUERY SELECT * FROM wfm.apply_import_batch_range(p_import_batch_id, v_first, v_last, v_services);
END
$$;
COMMENT ON FUNCTION wfm.apply_import_batch(uuid) IS
    'Upserts the history rows of one batch into contact_statistics (the batch wins over every earlier one) and stamps its apply_seq; returns intervals inserted and updated. Call in the transaction that wrote the history rows.';
REVOKE ALL ON FUNCTION wfm.apply_import_batch(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.apply_import_batch(uuid) TO wfm_etl;
