-- Reverting a batch of agent state events (wfm.revert_import_batch dispatches here for kind
-- 'agent_states'; `wfm batches revert` uses that): the batch's current versions stop counting
-- and, per event, the newest remaining version (applied, non-reverted batch) counts again; then
-- the timelines of its agents are re-linked and their agent_activity re-derived over the span
-- the batch's events touched (wfm.derive_agent_states). The batch's rows stay, marked reverted,
-- for the audit.
CREATE OR REPLACE FUNCTION wfm.revert_agent_states_batch(p_import_batch_id uuid)
RETURNS TABLE (rows_restored integer, rows_deleted integer, already_reverted boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_status   text;
    v_seq      bigint;
    v_kind     text;
    v_services integer[];
    v_first    timestamptz;
    v_last     timestamptz;
    v_events   integer;
    v_s        integer[];
    v_a        text[];
    v_lo       timestamptz[];
    v_hi       timestamptz[];
    v_linked   integer;
    v_written  integer;
    v_deleted  integer;
BEGIN
    SELECT b.status, b.apply_seq, b.kind INTO v_status, v_seq, v_kind
    FROM wfm.import_batches b WHERE b.import_batch_id = p_import_batch_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown import batch %', p_import_batch_id
            USING ERRCODE = 'no_data_found', HINT = 'See SELECT * FROM wfm.import_batches ORDER BY created_at DESC.';
    END IF;
    IF v_kind <> 'agent_states' THEN
        RAISE EXCEPTION 'import batch % does not hold agent state events', p_import_batch_id
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use wfm.revert_import_batch.';
    END IF;
    IF v_status = 'reverted' THEN
        rows_restored := 0; rows_deleted := 0; already_reverted := true;
        RETURN NEXT;
        RETURN;
    END IF;
    IF v_seq IS NULL OR v_status NOT IN ('completed', 'completed_with_errors') THEN
        RAISE EXCEPTION 'import batch % has status % and wrote no agent state events; there is nothing to revert',
                        p_import_batch_id, v_status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    SELECT pg_catalog.array_agg(DISTINCT t.service_id ORDER BY t.service_id), pg_catalog.min(t.started_at),
           pg_catalog.max(t.started_at)
    INTO v_services, v_first, v_last
    FROM wfm.agent_state_transitions t WHERE t.import_batch_id = p_import_batch_id;
    PERFORM wfm.lock_services_for_apply(v_services);

    UPDATE wfm.import_batches b
    SET status = 'reverted',
        details = b.details || pg_catalog.jsonb_build_object('reverted_at', pg_catalog.now(),
                                                             'status_before_revert', v_status)
    WHERE b.import_batch_id = p_import_batch_id;

    rows_restored := 0; rows_deleted := 0; already_reverted := false;
    IF v_first IS NULL THEN
        RETURN NEXT;
        RETURN;
    END IF;

    -- Versions: this batch's current rows stop counting, the newest remaining version of each of
    -- those events counts again (one statement: both sides read the same snapshot).
    WITH mine AS (
        SELECT n.service_id, n.agent_code, n.started_at
        FROM wfm.agent_state_transitions n
        WHERE n.import_batch_id = p_import_batch_id AND n.started_at BETWEEN v_first AND v_last AND n.is_current
    ), best AS (
        SELECT DISTINCT ON (o.service_id, o.agent_code, o.started_at)
               o.service_id, o.agent_code, o.started_at, o.import_batch_id
        FROM mine m
        JOIN wfm.agent_state_transitions o
          ON o.service_id = m.service_id AND o.agent_code = m.agent_code AND o.started_at = m.started_at
        JOIN wfm.import_batches b ON b.import_batch_id = o.import_batch_id
        WHERE o.started_at BETWEEN v_first AND v_last
          AND o.import_batch_id <> p_import_batch_id
          AND b.apply_seq IS NOT NULL AND b.status IN ('completed', 'completed_with_errors')
        ORDER BY o.service_id, o.agent_code, o.started_at, b.apply_seq DESC
    ), targets AS (
        SELECT m.service_id, m.agent_code, m.started_at, p_import_batch_id AS batch, false AS is_cur FROM mine m
        UNION ALL
        SELECT x.service_id, x.agent_code, x.started_at, x.import_batch_id, true FROM best x
    ), changed AS (
        UPDATE wfm.agent_state_transitions t SET is_current = t2.is_cur, ended_at = NULL
        FROM targets t2
        WHERE t.service_id = t2.service_id AND t.agent_code = t2.agent_code AND t.started_at = t2.started_at
          AND t.import_batch_id = t2.batch
          AND t.started_at BETWEEN v_first AND v_last
        RETURNING 1
    )
    SELECT count(*)::integer INTO v_events FROM changed;

    SELECT pg_catalog.array_agg(x.service_id), pg_catalog.array_agg(x.agent_code),
           pg_catalog.array_agg(x.lo), pg_catalog.array_agg(x.hi)
    INTO v_s, v_a, v_lo, v_hi
    FROM (SELECT t.service_id, t.agent_code, pg_catalog.min(t.started_at) AS lo, pg_catalog.max(t.started_at) AS hi
          FROM wfm.agent_state_transitions t
          WHERE t.import_batch_id = p_import_batch_id AND t.started_at BETWEEN v_first AND v_last
          GROUP BY t.service_id, t.agent_code) x;
    SELECT d.transitions_linked, d.rows_written, d.rows_deleted INTO v_linked, v_written, v_deleted
    FROM wfm.derive_agent_states(v_s, v_a, v_lo, v_hi, p_import_batch_id) d;
    rows_restored := v_written;
    rows_deleted := v_deleted;

    UPDATE wfm.import_batches b
    SET details = b.details || pg_catalog.jsonb_build_object(
            'revert_events_changed', v_events, 'revert_transitions_linked', v_linked,
            'revert_agent_rows_written', v_written, 'revert_agent_rows_deleted', v_deleted)
    WHERE b.import_batch_id = p_import_batch_id;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION wfm.revert_agent_states_batch(uuid) IS
    'Reverts an applied batch of agent state events: its current versions stop counting and the newest remaining version of each event counts again; the timelines of its agents are re-linked and their agent_activity re-derived. Returns agent_activity rows rewritten (rows_restored) and deleted; idempotent (already_reverted). wfm.revert_import_batch dispatches here for kind agent_states.';
REVOKE ALL ON FUNCTION wfm.revert_agent_states_batch(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.revert_agent_states_batch(uuid) TO wfm_etl;
