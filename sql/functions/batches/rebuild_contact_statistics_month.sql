-- wfm.rebuild_contact_statistics_month (first defined in sql/021_import_batch_apply_revert.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it.

CREATE OR REPLACE FUNCTION wfm.rebuild_contact_statistics_month(p_month date)
RETURNS TABLE (rows_deleted integer, rows_inserted integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
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
REVOKE ALL ON FUNCTION wfm.rebuild_contact_statistics_month(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.rebuild_contact_statistics_month(date) TO wfm_etl;
