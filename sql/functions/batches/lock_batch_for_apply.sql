-- The guard every apply function starts with: lock the batch's row (FOR UPDATE: one apply at a
-- time per batch) and refuse an unknown batch, one already applied, or one whose status is not in
-- p_statuses. Interval batches may be applied once completed (wfm.apply_import_batch_range);
-- call-record and agent-state batches only while running.
CREATE OR REPLACE FUNCTION wfm.lock_batch_for_apply(p_import_batch_id uuid, p_statuses text[])
RETURNS void
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_status text;
    v_seq    bigint;
BEGIN
    SELECT b.status, b.apply_seq INTO v_status, v_seq
    FROM wfm.import_batches b WHERE b.import_batch_id = p_import_batch_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown import batch %', p_import_batch_id
            USING ERRCODE = 'no_data_found', HINT = 'See SELECT * FROM wfm.import_batches ORDER BY created_at DESC.';
    END IF;
    IF v_seq IS NOT NULL THEN
        RAISE EXCEPTION 'import batch % was already applied (apply_seq %)', p_import_batch_id, v_seq
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF v_status <> ALL (p_statuses) THEN
        RAISE EXCEPTION 'import batch % has status %; only a running batch can be applied', p_import_batch_id, v_status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
END
$$;
COMMENT ON FUNCTION wfm.lock_batch_for_apply(uuid, text[]) IS
    'Internal: locks an import batch for its apply and raises unless it exists, is not yet applied and has one of p_statuses.';
REVOKE ALL ON FUNCTION wfm.lock_batch_for_apply(uuid, text[]) FROM PUBLIC;
