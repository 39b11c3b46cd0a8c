-- requires: functions/batches/contact_statistics_upsert_set.sql
-- wfm.apply_import_batch_range: the body of wfm.apply_import_batch for a caller that already
-- knows the batch's first/last interval and services (the API fast path has them from its own
-- history insert), so the batch's history rows are not read twice. Same protocol and
-- semantics as wfm.apply_import_batch (see sql/functions/batches/apply_import_batch.sql):
-- p_first/p_last must be the batch's min/max interval_start_time and p_services its services
-- (p_first NULL: the batch has no rows).

CREATE OR REPLACE FUNCTION wfm.apply_import_batch_range(p_import_batch_id uuid, p_first timestamptz,
                                                        p_last timestamptz, p_services integer[])
RETURNS TABLE (rows_inserted integer, rows_updated integer)
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_first     timestamptz := p_first;
    v_last      timestamptz := p_last;
    v_services  integer[] := p_services;
    -- The batch's history rows into contact_statistics ($1 batch, $2..$3 its first..last interval).
    v_insert    constant text := $sql$
        INSERT INTO wfm.contact_statistics AS cs (
            interval_start_time, service_id, group_id, unique_incoming, non_unique_incoming,
            avg_talk_time, avg_post_processing_time, answered_calls, answered_within_sl,
            abandoned_calls, sl_threshold_seconds, import_batch_id, loaded_at)
        SELECT h.interval_start_time, h.service_id, h.group_id, h.unique_incoming, h.non_unique_incoming,
               h.avg_talk_time, h.avg_post_processing_time, h.answered_calls, h.answered_within_sl,
               h.abandoned_calls, h.sl_threshold_seconds, h.import_batch_id, now()
        FROM wfm.contact_statistics_history h
        WHERE h.import_batch_id = $1
          AND h.interval_start_time BETWEEN $2 AND $3$sql$;
BEGIN
    PERFORM wfm.lock_batch_for_apply(p_import_batch_id, ARRAY['running', 'completed', 'completed_with_errors']);

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
    -- Both run the one INSERT ... SELECT of v_insert (the batch's rows; BETWEEN lets the
    -- planner prune months), the upsert with its ON CONFLICT clause appended.
    BEGIN
        EXECUTE v_insert USING p_import_batch_id, v_first, v_last;
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
    -- rows now() + 1 microsecond, and RETURNING compares. Exact, and no extra join. The SET list is
    -- wfm.contact_statistics_upsert_set(), shared with wfm.resolve_contact_statistics.
    EXECUTE 'WITH upserted AS (' || v_insert || $sql$
        ON CONFLICT (interval_start_time, service_id, group_id) DO UPDATE SET
            $sql$ || wfm.contact_statistics_upsert_set() || $sql$
        RETURNING cs.loaded_at = now() AS inserted
    )
    SELECT count(*) FILTER (WHERE inserted)::integer, count(*) FILTER (WHERE NOT inserted)::integer
    FROM upserted$sql$
    INTO rows_inserted, rows_updated
    USING p_import_batch_id, v_first, v_last;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION wfm.apply_import_batch_range(uuid, timestamptz, timestamptz, integer[]) IS
    'Internal: wfm.apply_import_batch for a caller that knows the batch''s first/last interval and services (the API fast path): upserts the batch''s history rows into contact_statistics, stamps apply_seq; returns intervals inserted and updated.';
REVOKE ALL ON FUNCTION wfm.apply_import_batch_range(uuid, timestamptz, timestamptz, integer[]) FROM PUBLIC;
