-- "Latest applied batch wins", re-established for the given (service, 15-minute interval) pairs
-- (every group of them): each key gets the history row of the newest applied, non-reverted batch
-- that has one (call-record batches keep exactly one live derived row per key, see
-- apply_call_records_batch), a key no such batch has any more is removed when its current row
-- came from a call-record batch (or a reverted one). Rows that already hold the winner's values
-- are not touched. Callers hold the services' apply locks (lock_services_for_apply).
CREATE OR REPLACE FUNCTION wfm.resolve_contact_statistics(p_services integer[], p_intervals timestamptz[])
RETURNS TABLE (rows_inserted integer, rows_updated integer, rows_deleted integer)
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_lo timestamptz;
    v_hi timestamptz;
BEGIN
    SELECT pg_catalog.min(iv), pg_catalog.max(iv) INTO v_lo, v_hi FROM pg_catalog.unnest(p_intervals) AS iv;
    rows_inserted := 0;
    rows_updated := 0;
    rows_deleted := 0;
    IF v_lo IS NULL THEN
        RETURN NEXT;
        RETURN;
    END IF;
    WITH pairs AS MATERIALIZED (
        SELECT DISTINCT x.s, x.iv FROM ROWS FROM (pg_catalog.unnest(p_services), pg_catalog.unnest(p_intervals)) AS x(s, iv)
    ), newest AS MATERIALIZED (
        SELECT DISTINCT ON (h.service_id, h.group_id, h.interval_start_time) h.*
        FROM wfm.contact_statistics_history h
        JOIN pairs p ON p.s = h.service_id AND p.iv = h.interval_start_time
        JOIN wfm.import_batches b ON b.import_batch_id = h.import_batch_id
        WHERE h.interval_start_time BETWEEN v_lo AND v_hi
          AND b.apply_seq IS NOT NULL AND b.status <> 'reverted'
        ORDER BY h.service_id, h.group_id, h.interval_start_time, b.apply_seq DESC
    ), upserted AS (
        INSERT INTO wfm.contact_statistics AS cs (
            interval_start_time, service_id, group_id, unique_incoming, non_unique_incoming,
            avg_talk_time, avg_post_processing_time, answered_calls, answered_within_sl,
            abandoned_calls, sl_threshold_seconds, import_batch_id, loaded_at)
        SELECT n.interval_start_time, n.service_id, n.group_id, n.unique_incoming, n.non_unique_incoming,
               n.avg_talk_time, n.avg_post_processing_time, n.answered_calls, n.answered_within_sl,
               n.abandoned_calls, n.sl_threshold_seconds, n.import_batch_id, pg_catalog.now()
        FROM newest n
        -- the SET list of wfm.contact_statistics_upsert_set(), as static SQL (planned once per
        -- session); test_api_write.py holds the two equal
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
            loaded_at                = pg_catalog.now() + interval '1 microsecond'
        WHERE (cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time, cs.avg_post_processing_time,
               cs.answered_calls, cs.answered_within_sl, cs.abandoned_calls, cs.sl_threshold_seconds,
               cs.import_batch_id)
              IS DISTINCT FROM
              (EXCLUDED.unique_incoming, EXCLUDED.non_unique_incoming, EXCLUDED.avg_talk_time,
               EXCLUDED.avg_post_processing_time, EXCLUDED.answered_calls, EXCLUDED.answered_within_sl,
               EXCLUDED.abandoned_calls, EXCLUDED.sl_threshold_seconds, EXCLUDED.import_batch_id)
        RETURNING cs.loaded_at = pg_catalog.now() AS inserted
    ), deleted AS (
        DELETE FROM wfm.contact_statistics cs
        USING pairs p
        WHERE cs.service_id = p.s AND cs.interval_start_time = p.iv
          AND cs.interval_start_time BETWEEN v_lo AND v_hi
          AND NOT EXISTS (SELECT 1 FROM newest n
                          WHERE n.service_id = cs.service_id AND n.group_id IS NOT DISTINCT FROM cs.group_id
                            AND n.interval_start_time = cs.interval_start_time)
          AND EXISTS (SELECT 1 FROM wfm.import_batches b
                      WHERE b.import_batch_id = cs.import_batch_id AND (b.kind = 'calls' OR b.status = 'reverted'))
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM upserted u WHERE u.inserted)::integer,
           (SELECT count(*) FROM upserted u WHERE NOT u.inserted)::integer,
           (SELECT count(*) FROM deleted)::integer
    INTO rows_inserted, rows_updated, rows_deleted;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION wfm.resolve_contact_statistics(integer[], timestamptz[]) IS
    'Internal: for the given (service, interval) pairs, every contact_statistics key takes the history row of the newest applied, non-reverted batch; keys without one are removed if a call-record (or reverted) batch wrote them. Returns rows inserted, updated and deleted.';
REVOKE ALL ON FUNCTION wfm.resolve_contact_statistics(integer[], timestamptz[]) FROM PUBLIC;
