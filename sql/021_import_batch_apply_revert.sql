-- Applying, reverting and rebuilding from the batch history (sql/020).
--
-- Protocol for every write path (files, JSON functions, API batches), all in ONE transaction:
--   1. ensure partitions of contact_statistics and contact_statistics_history (beforehand,
--      in a short transaction of its own: wfm.ensure_monthly_partitions)
--   2. INSERT INTO wfm.import_batches (...) RETURNING import_batch_id
--   3. COPY / INSERT the batch's accepted rows into wfm.contact_statistics_history
--   4. SELECT * FROM wfm.apply_import_batch(batch)   -> rows_inserted, rows_updated
--   5. import_errors rows, batch counters and status
-- "Latest batch wins" means: latest in apply order (import_batches.apply_seq).

-- Serializes applies/reverts per service so that apply order = commit order for every
-- interval of that service (two concurrent batches cannot interleave their upserts).
CREATE FUNCTION wfm.lock_services_for_apply(p_service_ids integer[]) RETURNS void
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog
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

CREATE FUNCTION wfm.apply_import_batch(p_import_batch_id uuid)
RETURNS TABLE (rows_inserted integer, rows_updated integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog
AS $$
DECLARE
    v_status    text;
    v_seq       bigint;
    v_first     timestamptz;
    v_last      timestamptz;
    v_services  integer[];
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
    IF v_status NOT IN ('running', 'completed', 'completed_with_errors') THEN
        RAISE EXCEPTION 'import batch % has status %; only a running batch can be applied', p_import_batch_id, v_status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    SELECT min(h.interval_start_time), max(h.interval_start_time), array_agg(DISTINCT h.service_id)
    INTO v_first, v_last, v_services
    FROM wfm.contact_statistics_history h WHERE h.import_batch_id = p_import_batch_id;

    PERFORM wfm.lock_services_for_apply(v_services);
    UPDATE wfm.import_batches b SET apply_seq = nextval('wfm.import_batch_apply_seq')
    WHERE b.import_batch_id = p_import_batch_id;

    IF v_first IS NULL THEN  -- nothing accepted: still an applied (empty) batch
        rows_inserted := 0;
        rows_updated := 0;
        RETURN NEXT;
        RETURN;
    END IF;

    -- Fast path: a batch of new intervals only (the usual case) is a plain INSERT, about a
    -- third cheaper than INSERT ... ON CONFLICT. If any interval already exists, the unique
    -- key stops it at the first such row, the subtransaction rolls it back, and the upsert
    -- below runs instead (a correction file fails on its first row, so little is wasted).
    BEGIN
        INSERT INTO wfm.contact_statistics (
            interval_start_time, service_id, group_id, unique_incoming, non_unique_incoming,
            avg_talk_time, avg_post_processing_time, answered_calls, answered_within_sl,
            abandoned_calls, sl_threshold_seconds, import_batch_id, loaded_at)
        SELECT h.interval_start_time, h.service_id, h.group_id, h.unique_incoming, h.non_unique_incoming,
               h.avg_talk_time, h.avg_post_processing_time, h.answered_calls, h.answered_within_sl,
               h.abandoned_calls, h.sl_threshold_seconds, h.import_batch_id, now()
        FROM wfm.contact_statistics_history h
        WHERE h.import_batch_id = p_import_batch_id
          AND h.interval_start_time BETWEEN v_first AND v_last;
        GET DIAGNOSTICS rows_inserted = ROW_COUNT;
        rows_updated := 0;
        RETURN NEXT;
        RETURN;
    EXCEPTION WHEN unique_violation THEN
        NULL;  -- some intervals exist: upsert below
    END;

    -- One set-based upsert. Telling inserts from updates: RETURNING xmax = 0 is the usual
    -- trick, but system columns cannot be returned from a partitioned table (before PG 18's
    -- RETURNING OLD). So inserted rows get loaded_at = now() (transaction start) and updated
    -- rows now() + 1 microsecond, and RETURNING compares. Exact, and no extra join.
    WITH upserted AS (
        INSERT INTO wfm.contact_statistics AS cs (
            interval_start_time, service_id, group_id, unique_incoming, non_unique_incoming,
            avg_talk_time, avg_post_processing_time, answered_calls, answered_within_sl,
            abandoned_calls, sl_threshold_seconds, import_batch_id, loaded_at)
        SELECT h.interval_start_time, h.service_id, h.group_id, h.unique_incoming, h.non_unique_incoming,
               h.avg_talk_time, h.avg_post_processing_time, h.answered_calls, h.answered_within_sl,
               h.abandoned_calls, h.sl_threshold_seconds, h.import_batch_id, now()
        FROM wfm.contact_statistics_history h
        WHERE h.import_batch_id = p_import_batch_id
          AND h.interval_start_time BETWEEN v_first AND v_last  -- lets the planner prune months
        ON CONFLICT (interval_start_time, service_id, group_id) DO UPDATE SET
            unique_incoming          = EXCLUDED.unique_incoming,
            non_unique_incoming      = EXCLUDED.non_unique_incoming,
            avg_talk_time            = EXCLUDED.avg_talk_time,
            avg_post_processing_time = EXCLUDED.avg_post_processing_time,
            answered_calls           = EXCLUDED.answered_calls,
            answered_within_sl       = EXCLUDED.answered_within_sl,
            abandoned_calls          = EXCLUDED.abandoned_calls,
            sl_threshold_seconds     = EXCLUDED.sl_threshold_seconds,
            import_batch_id          = EXCLUDED.import_batch_id,
            loaded_at                = now() + interval '1 microsecond'
        RETURNING cs.loaded_at = now() AS inserted
    )
    SELECT count(*) FILTER (WHERE inserted)::integer, count(*) FILTER (WHERE NOT inserted)::integer
    INTO rows_inserted, rows_updated
    FROM upserted;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION wfm.apply_import_batch(uuid) IS
    'Upserts the history rows of one batch into contact_statistics (the batch wins over every earlier one) and stamps its apply_seq; returns intervals inserted and updated. Call in the transaction that wrote the history rows.';

CREATE FUNCTION wfm.revert_import_batch(p_import_batch_id uuid)
RETURNS TABLE (rows_restored integer, rows_deleted integer, already_reverted boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog
AS $$
DECLARE
    v_status   text;
    v_seq      bigint;
    v_first    timestamptz;
    v_last     timestamptz;
    v_services integer[];
BEGIN
    SELECT b.status, b.apply_seq INTO v_status, v_seq
    FROM wfm.import_batches b WHERE b.import_batch_id = p_import_batch_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown import batch %', p_import_batch_id
            USING ERRCODE = 'no_data_found', HINT = 'See SELECT * FROM wfm.import_batches ORDER BY created_at DESC.';
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
    'Reverts an applied batch: every interval whose current value came from it gets the value of the newest remaining non-reverted batch from the history, or is deleted; marks the batch reverted. Idempotent (a second call returns already_reverted = true); unknown id raises no_data_found.';

CREATE FUNCTION wfm.rebuild_contact_statistics_month(p_month date)
RETURNS TABLE (rows_deleted integer, rows_inserted integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog
AS $$
DECLARE
    v_from timestamptz := date_trunc('month', p_month)::timestamp AT TIME ZONE 'UTC';
    v_to   timestamptz := (date_trunc('month', p_month) + interval '1 month')::timestamp AT TIME ZONE 'UTC';
BEGIN
    IF p_month IS NULL THEN
        RAISE EXCEPTION 'rebuild_contact_statistics_month: p_month must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- Every service: a rebuild must not interleave with an apply of the same month.
    PERFORM wfm.lock_services_for_apply(ARRAY(SELECT service_id FROM wfm.services));

    WITH d AS (
        DELETE FROM wfm.contact_statistics cs
        WHERE cs.interval_start_time >= v_from AND cs.interval_start_time < v_to
        RETURNING 1
    )
    SELECT count(*)::integer INTO rows_deleted FROM d;

    IF NOT EXISTS (SELECT 1 FROM wfm.contact_statistics_history h
                   WHERE h.interval_start_time >= v_from AND h.interval_start_time < v_to) THEN
        rows_inserted := 0;
        RETURN NEXT;
        RETURN;
    END IF;
    PERFORM wfm.ensure_monthly_partitions('wfm.contact_statistics'::regclass, v_from, v_from);

    INSERT INTO wfm.contact_statistics (
        interval_start_time, service_id, group_id, unique_incoming, non_unique_incoming,
        avg_talk_time, avg_post_processing_time, answered_calls, answered_within_sl,
        abandoned_calls, sl_threshold_seconds, import_batch_id, loaded_at)
    SELECT DISTINCT ON (h.interval_start_time, h.service_id, h.group_id)
           h.interval_start_time, h.service_id, h.group_id, h.unique_incoming, h.non_unique_incoming,
           h.avg_talk_time, h.avg_post_processing_time, h.answered_calls, h.answered_within_sl,
           h.abandoned_calls, h.sl_threshold_seconds, h.import_batch_id, h.loaded_at
    FROM wfm.contact_statistics_history h
    JOIN wfm.import_batches b ON b.import_batch_id = h.import_batch_id
    WHERE h.interval_start_time >= v_from AND h.interval_start_time < v_to
      AND b.apply_seq IS NOT NULL AND b.status <> 'reverted'
    ORDER BY h.interval_start_time, h.service_id, h.group_id, b.apply_seq DESC;
    GET DIAGNOSTICS rows_inserted = ROW_COUNT;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION wfm.rebuild_contact_statistics_month(date) IS
    'Rebuilds one UTC month of contact_statistics from the history: per interval the row of the newest applied, non-reverted batch. Returns rows deleted and inserted. Used by the Dagster re-materialization of a month.';

REVOKE ALL ON FUNCTION wfm.lock_services_for_apply(integer[]),
                       wfm.apply_import_batch(uuid),
                       wfm.revert_import_batch(uuid),
                       wfm.rebuild_contact_statistics_month(date) FROM PUBLIC;
-- Loading is the ETL role's job; the API role reaches these only through its own functions.
GRANT EXECUTE ON FUNCTION wfm.apply_import_batch(uuid),
                          wfm.revert_import_batch(uuid),
                          wfm.rebuild_contact_statistics_month(date) TO wfm_etl;
