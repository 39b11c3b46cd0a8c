CREATE OR REPLACE FUNCTION wfm.run_json_import(p_data jsonb, p_format text, p_service_id integer, p_group_id integer,
                                               p_source text, p_validate_only boolean, p_strict boolean)
RETURNS TABLE (import_batch_id uuid, status text, rows_total integer, rows_inserted integer,
               rows_updated integer, rows_rejected integer)
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog, pg_temp
AS $$
-- Never DDL: a row whose UTC month has no partition (of contact_statistics or its history) is
-- a NO_PARTITION row error. Creating partitions here would hold AccessExclusiveLock on the
-- parent tables until the API caller commits, and let a caller create partitions without bound.
-- Accounting, every status: rows_total = rows_inserted + rows_updated + rows_rejected + rows_skipped
-- (validated: the inserts/updates the import would make, as the file path's validate-only).
DECLARE
    v_batch     uuid;
    v_rows      wfm.staged_import_row[];
    v_missing   timestamptz[];
    v_total     integer;
    v_rejected  integer;
    v_skipped   integer;
    v_accepted  integer;
    v_first     timestamptz;
    v_last      timestamptz;
    v_months    text[];
    v_status    text;
    v_message   text;
    v_template  text;
    v_first_row integer;
    v_inserted  integer := 0;
    v_updated   integer := 0;
BEGIN
    INSERT INTO wfm.import_batches AS b (source, service_id, group_id, status, details)
    VALUES (p_source, p_service_id, p_group_id, 'running', jsonb_build_object('format', p_format))
    RETURNING b.import_batch_id INTO v_batch;

    -- THE lock order of every write path (files: wfm_pipeline/argus/loader.py; partition
    -- creation: ensure_import_partitions): contact_statistics before its history. Taken up front
    -- so that this call never holds the history while waiting for the parent.
    IF NOT p_validate_only THEN
        LOCK TABLE ONLY wfm.contact_statistics, ONLY wfm.contact_statistics_history IN ROW EXCLUSIVE MODE;
    END IF;

    IF p_format = 'api' THEN
        SELECT f.rows_total, f.first_interval, f.last_interval, f.months, f.rows_inserted, f.rows_updated
        INTO v_total, v_first, v_last, v_months, v_inserted, v_updated
        FROM wfm.import_api_fast(p_data, v_batch) f;
        IF v_total IS NOT NULL THEN
            UPDATE wfm.import_batches b
            SET status = 'completed', rows_total = v_total, rows_inserted = v_inserted, rows_updated = v_updated,
                first_interval = v_first, last_interval = v_last, finished_at = clock_timestamp(),
                details = b.details || jsonb_build_object('months', to_jsonb(v_months), 'rows_accepted', v_total,
                                                          'fast_path', true)
            WHERE b.import_batch_id = v_batch;
            RETURN QUERY SELECT v_batch, 'completed'::text, v_total, v_inserted, v_updated, 0;
            RETURN;
        END IF;
        v_inserted := 0;
        v_updated := 0;
    END IF;
    SELECT coalesce(array_agg(s), '{}') INTO v_rows
    FROM wfm.stage_import_rows(p_data, p_format, p_service_id, p_group_id) s;

    -- Months without a partition: their otherwise valid rows get NO_PARTITION (validate-only
    -- too, so a dry run says what the import would do).
    SELECT wfm.months_without_partition(array_agg(DISTINCT date_trunc('month', r.interval_start_time, 'UTC')))
    INTO v_missing
    FROM unnest(v_rows) r
    WHERE cardinality(r.errors) = 0;
    IF cardinality(v_missing) > 0 THEN
        v_template := (SELECT ec.message_template FROM wfm.error_codes ec WHERE ec.error_code = 'NO_PARTITION');
        SELECT array_agg(CASE WHEN cardinality(r.errors) = 0
                                   AND date_trunc('month', r.interval_start_time, 'UTC') = ANY (v_missing)
                              THEN ROW(r.row_number, r.service_id, r.group_id, r.interval_start_time,
                                       r.unique_incoming, r.non_unique_incoming, r.avg_talk_time,
                                       r.avg_post_processing_time, r.answered_calls, r.answered_within_sl,
                                       r.abandoned_calls, r.sl_threshold_seconds,
                                       ARRAY[ROW(x.params ->> 'column', 'NO_PARTITION',
                                                 wfm.render_error_template(v_template, x.params),
                                                 wfm.clip_text(r.interval_start_raw))::wfm.import_row_error],
                                       r.interval_start_raw)::wfm.staged_import_row
                              ELSE r END ORDER BY r.row_number)
        INTO v_rows
        FROM unnest(v_rows) r
        -- a column (OFFSET 0), built once: the inlined renderer reads it per placeholder
        CROSS JOIN LATERAL (SELECT jsonb_build_object(
                                'column', CASE WHEN p_format = 'argus' THEN 'A' ELSE 'interval_start' END,
                                'month', to_char(r.interval_start_time AT TIME ZONE 'UTC', 'YYYY-MM'),
                                'value', r.interval_start_raw) AS params OFFSET 0) x;
    END IF;

    -- A row whose only problem is DUPLICATE_ROW is a skipped copy, not a rejected row.
    SELECT count(*)::integer,
           count(*) FILTER (WHERE cardinality(r.errors) > 0
                              AND NOT (cardinality(r.errors) = 1 AND (r.errors[1]).error_code = 'DUPLICATE_ROW'))::integer,
           count(*) FILTER (WHERE cardinality(r.errors) = 1 AND (r.errors[1]).error_code = 'DUPLICATE_ROW')::integer,
           count(*) FILTER (WHERE cardinality(r.errors) = 0)::integer,
           min(r.interval_start_time) FILTER (WHERE cardinality(r.errors) = 0),
           max(r.interval_start_time) FILTER (WHERE cardinality(r.errors) = 0),
           array_agg(DISTINCT to_char(r.interval_start_time AT TIME ZONE 'UTC', 'YYYY-MM'))
               FILTER (WHERE cardinality(r.errors) = 0),
           min(r.row_number)
    INTO v_total, v_rejected, v_skipped, v_accepted, v_first, v_last, v_months, v_first_row
    FROM unnest(v_rows) r;

    INSERT INTO wfm.import_errors (import_batch_id, row_number, column_name, error_code, error_message, raw_value)
    SELECT v_batch, r.row_number, e.column_name, e.error_code, e.error_message, e.raw_value
    FROM unnest(v_rows) r CROSS JOIN LATERAL unnest(r.errors) e;

    IF v_total = 0 THEN
        v_status := 'rejected';
        v_message := wfm.error_message('NO_DATA_ROWS', '{"file": "JSON input"}');
        INSERT INTO wfm.import_errors (import_batch_id, row_number, column_name, error_code, error_message, raw_value)
        VALUES (v_batch, NULL, NULL, 'NO_DATA_ROWS', v_message, NULL);
    ELSIF p_validate_only THEN
        v_status := 'validated';
        -- what the import would do with the accepted rows (the file path's validate-only does the same)
        SELECT count(*)::integer INTO v_updated
        FROM unnest(v_rows) r
        WHERE cardinality(r.errors) = 0
          AND EXISTS (SELECT 1 FROM wfm.contact_statistics cs
                      WHERE cs.interval_start_time = r.interval_start_time AND cs.service_id = r.service_id
                        AND cs.group_id IS NOT DISTINCT FROM r.group_id);
        v_inserted := v_accepted - v_updated;
    ELSIF v_accepted = 0 THEN
        v_status := 'rejected';
        v_message := 'every row was rejected; see import_errors';
    ELSIF p_strict AND v_rejected > 0 THEN
        v_status := 'rejected';
        v_message := wfm.error_message('STRICT_MODE', jsonb_build_object('rejected', v_rejected, 'total', v_total,
                                                                          'valid', v_accepted));
        INSERT INTO wfm.import_errors (import_batch_id, row_number, column_name, error_code, error_message, raw_value)
        VALUES (v_batch, NULL, NULL, 'STRICT_MODE', v_message, NULL);
        v_rejected := v_total - v_skipped;  -- the valid rows are not imported either
    ELSE
        INSERT INTO wfm.contact_statistics_history (
            interval_start_time, service_id, group_id, unique_incoming, non_unique_incoming,
            avg_talk_time, avg_post_processing_time, answered_calls, answered_within_sl,
            abandoned_calls, sl_threshold_seconds, import_batch_id, source_row_number)
        SELECT r.interval_start_time, r.service_id, r.group_id, r.unique_incoming, r.non_unique_incoming,
               r.avg_talk_time, r.avg_post_processing_time, r.answered_calls, r.answered_within_sl,
               r.abandoned_calls, r.sl_threshold_seconds, v_batch, r.row_number
        FROM unnest(v_rows) r
        WHERE cardinality(r.errors) = 0;

        SELECT a.rows_inserted, a.rows_updated INTO v_inserted, v_updated FROM wfm.apply_import_batch(v_batch) a;
        v_status := CASE WHEN v_rejected > 0 THEN 'completed_with_errors' ELSE 'completed' END;
    END IF;

    UPDATE wfm.import_batches b
    SET status = v_status, rows_total = v_total, rows_inserted = v_inserted, rows_updated = v_updated,
        rows_rejected = v_rejected, rows_skipped = v_skipped,
        first_interval = CASE WHEN v_status IN ('completed', 'completed_with_errors', 'validated') THEN v_first END,
        last_interval = CASE WHEN v_status IN ('completed', 'completed_with_errors', 'validated') THEN v_last END,
        finished_at = clock_timestamp(), error_message = v_message,
        details = b.details || jsonb_build_object('months', coalesce(to_jsonb(v_months), '[]'::jsonb),
                                                  'rows_accepted', v_accepted, 'fast_path', false,
                                                  'months_without_partition',
                                                  coalesce((SELECT jsonb_agg(to_char(m AT TIME ZONE 'UTC', 'YYYY-MM'))
                                                            FROM unnest(v_missing) m), '[]'::jsonb),
                                                  -- rows before it were headers or blank
                                                  'first_data_row', v_first_row)
    WHERE b.import_batch_id = v_batch;

    RETURN QUERY SELECT v_batch, v_status, v_total, v_inserted, v_updated, v_rejected;
END
$$;
COMMENT ON FUNCTION wfm.run_json_import(jsonb, text, integer, integer, text, boolean, boolean) IS
    'Internal: one audited JSON import: import_batches row, staging/validation, NO_PARTITION for rows of months without a partition (never creates one), import_errors, history rows and wfm.apply_import_batch (same semantics as files), counters that add up for every status.';
REVOKE ALL ON FUNCTION wfm.run_json_import(jsonb, text, integer, integer, text, boolean, boolean) FROM PUBLIC;
