-- wfm.revert_import_batch (first defined in sql/021_import_batch_apply_revert.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it. Issue 13: a batch of call
-- records (kind calls) is reverted by wfm.revert_call_records_batch. Issue 14: a batch of agent
-- state events (kind agent_states) by wfm.revert_agent_states_batch.

CREATE OR REPLACE FUNCTION wfm.revert_import_batch(p_import_batch_id uuid)
RETURNS TABLE (rows_restored integer, rows_deleted integer, already_reverted boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_status   text;
    v_seq      bigint;
    v_kind     text;
    v_first    timestamptz;
    v_last     timestamptz;
    v_services integer[];
BEGIN
    SELECT b.status, b.apply_seq, b.kind INTO v_status, v_seq, v_kind
    FROM wfm.import_batches b WHERE b.import_batch_id = p_import_batch_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown import batch %', p_import_batch_id
            USING ERRCODE = 'no_data_found', HINT = 'See SELECT * FROM wfm.import_batches ORDER BY created_at DESC.';
    END IF;
    -- Call records (issue 13): their versions go back and the intervals are re-derived.
    IF v_kind = 'calls' THEN
        RETURN QUERY SELECT * FROM wfm.revert_call_records_batch(p_import_batch_id);
        RETURN;
    END IF;
    -- Agent state events (issue 14): their versions go back and the timelines are re-derived.
    IF v_kind = 'agent_states' THEN
        RETURN QUERY SELECT * FROM wfm.revert_agent_states_batch(p_import_batch_id);
        RETURN;
    END IF;
    IF v_status = 'reverted' THEN
        rows_restored := 0; rows_deleted := 0; already_reverted := true;
        RETURN NEXT;
        RETURN;
    END IF;
    IF v_seq IS NULL OR v_status NOT IN ('completed', 'completed_with_errors') THEN
        RAISE EXCEPTION 'import batch % has status % and wrote no statistics; there is nothing to revert',
                        p_import_batch_id, v_status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    SELECT min(h.interval_start_time), max(h.interval_start_time), array_agg(DISTINCT h.service_id)
    INTO v_first, v_last, v_services
    FROM wfm.contact_statistics_history h WHERE h.import_batch_id = p_import_batch_id;
    PERFORM wfm.lock_services_for_apply(v_services);

    UPDATE wfm.import_batches b
    SET status = 'reverted',
        details = b.details || jsonb_build_object('reverted_at', now(), 'status_before_revert', v_status)
    WHERE b.import_batch_id = p_import_batch_id;

    rows_restored := 0; rows_deleted := 0; already_reverted := false;
    IF v_first IS NOT NULL THEN
        -- Intervals whose current value is this batch's: the newest remaining applied,
        -- non-reverted batch's value comes back; with none left the interval is removed.
        -- (Intervals a later batch already overwrote keep that later value.)
        WITH revert_keys AS (
            SELECT cs.interval_start_time, cs.service_id, cs.group_id
            FROM wfm.contact_statistics cs
            WHERE cs.import_batch_id = p_import_batch_id
              AND cs.interval_start_time BETWEEN v_first AND v_last
              AND cs.service_id = ANY (v_services)
        ), newest AS (
            SELECT DISTINCT ON (h.interval_start_time, h.service_id, h.group_id) h.*
            FROM wfm.contact_statistics_history h
            JOIN revert_keys k
              ON k.interval_start_time = h.interval_start_time AND k.service_id = h.service_id
             AND k.group_id IS NOT DISTINCT FROM h.group_id
            JOIN wfm.import_batches b ON b.import_batch_id = h.import_batch_id
            WHERE h.interval_start_time BETWEEN v_first AND v_last
              AND h.import_batch_id <> p_import_batch_id
              AND b.apply_seq IS NOT NULL AND b.status <> 'reverted'
            ORDER BY h.interval_start_time, h.service_id, h.group_id, b.apply_seq DESC
        ), restored AS (
            UPDATE wfm.contact_statistics cs SET
                unique_incoming          = n.unique_incoming,
                non_unique_incoming      = n.non_unique_incoming,
                avg_talk_time            = n.avg_talk_time,
                avg_post_processing_time = n.avg_post_processing_time,
                answered_calls           = n.answered_calls,
                answered_within_sl       = n.answered_within_sl,
                abandoned_calls          = n.abandoned_calls,
                sl_threshold_seconds     = n.sl_threshold_seconds,
                import_batch_id          = n.import_batch_id,
                loaded_at                = now()
            FROM newest n
            WHERE cs.interval_start_time = n.interval_start_time AND cs.service_id = n.service_id
              AND cs.group_id IS NOT DISTINCT FROM n.group_id
              AND cs.interval_start_time BETWEEN v_first AND v_last
              AND cs.import_batch_id = p_import_batch_id
            RETURNING 1
        )
        SELECT count(*)::integer INTO rows_restored FROM restored;

        -- Whatever still carries this batch's id had no remaining batch: remove it.
        WITH deleted AS (
            DELETE FROM wfm.contact_statistics cs
            WHERE cs.import_batch_id = p_import_batch_id
              AND cs.interval_start_time BETWEEN v_first AND v_last
              AND cs.service_id = ANY (v_services)
            RETURNING 1
        )
        SELECT count(*)::integer INTO rows_deleted FROM deleted;
    END IF;

    UPDATE wfm.import_batches b
    SET details = b.details || jsonb_build_object('revert_rows_restored', rows_restored,
                                                  'revert_rows_deleted', rows_deleted)
    WHERE b.import_batch_id = p_import_batch_id;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION wfm.revert_import_batch(uuid) IS
    'Reverts an applied batch: every interval whose current value came from it gets the value of the newest remaining non-reverted batch from the history, or is deleted; marks the batch reverted. Idempotent (a second call returns already_reverted = true); unknown id raises no_data_found. A batch of call records (kind calls) is reverted by wfm.revert_call_records_batch (its calls'' earlier versions come back and the intervals they touch are re-derived), a batch of agent state events (kind agent_states) by wfm.revert_agent_states_batch.';
REVOKE ALL ON FUNCTION wfm.revert_import_batch(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.revert_import_batch(uuid) TO wfm_etl;
