-- Reverting a batch of call records (wfm.revert_import_batch dispatches here for kind 'calls';
-- `wfm batches revert` uses that): the batch's current versions stop counting and, per call, the
-- newest remaining version (applied, non-reverted batch) counts again; then every interval and
-- agent range the batch's calls (in any version) touch is re-derived from the current calls:
-- the derived row of each interval belongs to the newest batch among its calls, and
-- wfm.resolve_contact_statistics lets the latest applied batch win again (an Argus batch applied
-- after that one wins the interval back). The batch's own call records and history rows stay,
-- marked reverted, for the audit.
CREATE OR REPLACE FUNCTION wfm.revert_call_records_batch(p_import_batch_id uuid)
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
    v_mlo      timestamptz;
    v_mhi      timestamptz;
    v_ks       integer[];
    v_ki       timestamptz[];
    v_as       integer[];
    v_alo      timestamptz[];
    v_ahi      timestamptz[];
    v_ins      integer;
    v_upd      integer;
    v_del      integer;
    v_calls    integer;
    v_others   uuid[];
    v_agents   integer;
    v_agents_deleted integer;
BEGIN
    SELECT b.status, b.apply_seq, b.kind INTO v_status, v_seq, v_kind
    FROM wfm.import_batches b WHERE b.import_batch_id = p_import_batch_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown import batch %', p_import_batch_id
            USING ERRCODE = 'no_data_found', HINT = 'See SELECT * FROM wfm.import_batches ORDER BY created_at DESC.';
    END IF;
    IF v_kind <> 'calls' THEN
        RAISE EXCEPTION 'import batch % holds intervals, not call records', p_import_batch_id
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use wfm.revert_import_batch.';
    END IF;
    IF v_status = 'reverted' THEN
        rows_restored := 0; rows_deleted := 0; already_reverted := true;
        RETURN NEXT;
        RETURN;
    END IF;
    IF v_seq IS NULL OR v_status NOT IN ('completed', 'completed_with_errors') THEN
        RAISE EXCEPTION 'import batch % has status % and wrote no call records; there is nothing to revert',
                        p_import_batch_id, v_status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    SELECT pg_catalog.array_agg(DISTINCT c.service_id ORDER BY c.service_id), pg_catalog.min(c.offered_at),
           pg_catalog.max(c.offered_at)
    INTO v_services, v_first, v_last
    FROM wfm.call_records c WHERE c.import_batch_id = p_import_batch_id;
    PERFORM wfm.lock_services_for_apply(v_services);

    UPDATE wfm.import_batches b
    SET status = 'reverted',
        details = b.details || pg_catalog.jsonb_build_object('reverted_at', pg_catalog.now(), 'status_before_revert', v_status)
    WHERE b.import_batch_id = p_import_batch_id;

    rows_restored := 0; rows_deleted := 0; already_reverted := false;
    IF v_first IS NULL THEN
        RETURN NEXT;
        RETURN;
    END IF;
    v_mlo := pg_catalog.date_trunc('month', v_first AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    v_mhi := (pg_catalog.date_trunc('month', v_last AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';

    -- Versions: this batch's current rows stop counting, the newest remaining version of each of
    -- those calls counts again (one statement: both sides read the same snapshot).
    WITH mine AS (
        SELECT n.service_id, n.call_id, n.offered_at
        FROM wfm.call_records n
        WHERE n.import_batch_id = p_import_batch_id AND n.offered_at BETWEEN v_first AND v_last AND n.is_current
    ), best AS (
        SELECT DISTINCT ON (o.service_id, o.call_id, pg_catalog.date_trunc('month', o.offered_at AT TIME ZONE 'UTC'))
               o.service_id, o.call_id, o.offered_at, o.import_batch_id
        FROM mine m
        JOIN wfm.call_records o ON o.service_id = m.service_id AND o.call_id = m.call_id
        JOIN wfm.import_batches b ON b.import_batch_id = o.import_batch_id
        WHERE o.offered_at >= v_mlo AND o.offered_at < v_mhi
          AND pg_catalog.date_trunc('month', o.offered_at AT TIME ZONE 'UTC')
              = pg_catalog.date_trunc('month', m.offered_at AT TIME ZONE 'UTC')
          AND o.import_batch_id <> p_import_batch_id
          AND b.apply_seq IS NOT NULL AND b.status IN ('completed', 'completed_with_errors')
        ORDER BY o.service_id, o.call_id, pg_catalog.date_trunc('month', o.offered_at AT TIME ZONE 'UTC'),
                 b.apply_seq DESC
    ), targets AS (
        SELECT m.service_id, m.call_id, m.offered_at, p_import_batch_id AS batch, false AS is_cur FROM mine m
        UNION ALL
        SELECT x.service_id, x.call_id, x.offered_at, x.import_batch_id, true FROM best x
    ), changed AS (
        UPDATE wfm.call_records c SET is_current = t.is_cur
        FROM targets t
        WHERE c.service_id = t.service_id AND c.call_id = t.call_id AND c.offered_at = t.offered_at
          AND c.import_batch_id = t.batch
          AND c.offered_at >= v_mlo AND c.offered_at < v_mhi
        RETURNING 1
    )
    SELECT count(*)::integer INTO v_calls FROM changed;

    -- Everything any version of the batch's calls touches.
    SELECT t.services, t.intervals, t.agent_services, t.agent_first, t.agent_last
    INTO v_ks, v_ki, v_as, v_alo, v_ahi
    FROM wfm.call_batch_touched(p_import_batch_id, v_first, v_last, v_mlo, v_mhi) t;

    -- The live derived rows of those intervals, again from the current calls, each owned by the
    -- newest batch among its calls.
    -- (the call batches that can hold them: applied, not reverted, these services and months;
    -- found through the batch index, the history has no index by interval)
    v_others := ARRAY(
        SELECT b.import_batch_id FROM wfm.import_batches b
        WHERE b.kind = 'calls' AND b.apply_seq IS NOT NULL AND b.status IN ('completed', 'completed_with_errors')
          AND (b.service_id IS NULL OR b.service_id = ANY (v_services))
          AND b.first_interval < v_mhi AND b.last_interval >= v_mlo);
    DELETE FROM wfm.contact_statistics_history h
    USING ROWS FROM (pg_catalog.unnest(v_ks), pg_catalog.unnest(v_ki)) AS k(s, iv)
    WHERE h.import_batch_id = ANY (v_others)
      AND h.service_id = k.s AND h.interval_start_time = k.iv
      AND h.interval_start_time BETWEEN v_mlo AND v_mhi;
    INSERT INTO wfm.contact_statistics_history (
        interval_start_time, service_id, group_id, unique_incoming, non_unique_incoming,
        avg_talk_time, avg_post_processing_time, answered_calls, answered_within_sl,
        abandoned_calls, sl_threshold_seconds, import_batch_id, source_row_number)
    SELECT f.interval_start_time, f.service_id, f.group_id, f.unique_incoming, f.non_unique_incoming,
           f.avg_talk_time, f.avg_post_processing_time, f.answered_calls, f.answered_within_sl,
           f.abandoned_calls, f.sl_threshold_seconds, ob.import_batch_id, NULL
    FROM wfm.call_interval_figures(v_ks, v_ki) f
    JOIN wfm.import_batches ob ON ob.apply_seq = f.owner_apply_seq;

    SELECT r.rows_inserted, r.rows_updated, r.rows_deleted INTO v_ins, v_upd, v_del
    FROM wfm.resolve_contact_statistics(v_ks, v_ki) r;
    rows_restored := v_ins + v_upd;
    rows_deleted := v_del;

    SELECT d.rows_written, d.rows_deleted INTO v_agents, v_agents_deleted
    FROM wfm.derive_agent_activity(v_as, v_alo, v_ahi, NULL) d;

    UPDATE wfm.import_batches b
    SET details = b.details || pg_catalog.jsonb_build_object(
            'revert_rows_restored', rows_restored, 'revert_rows_deleted', rows_deleted,
            'revert_calls_changed', v_calls, 'revert_agent_rows_written', v_agents,
            'revert_agent_rows_deleted', v_agents_deleted)
    WHERE b.import_batch_id = p_import_batch_id;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION wfm.revert_call_records_batch(uuid) IS
    'Reverts an applied batch of call records: its current versions stop counting and the newest remaining version of each call counts again; the intervals (contact_statistics, latest applied batch wins) and agent activity any version of its calls touches are re-derived. Returns intervals restored and deleted; idempotent (already_reverted). wfm.revert_import_batch dispatches here for kind calls.';
REVOKE ALL ON FUNCTION wfm.revert_call_records_batch(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.revert_call_records_batch(uuid) TO wfm_etl;
