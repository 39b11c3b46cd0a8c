-- Call records through the SQL API (issue 13): the same rules and verdicts as a call-record file
-- (wfm.stage_call_records; a conformance test compares them), the same load
-- (wfm.apply_call_records_batch: versions, intervals, agent activity), one audited batch.
-- Never DDL: a row whose month has no partition (call_records, contact_statistics and its history
-- by offered_at; agent_activity by the months its talk and wrap-up cover) is a NO_PARTITION row
-- error. Accounting: rows_total = rows_inserted (new calls) + rows_updated (calls that replaced
-- an earlier version) + rows_rejected + rows_skipped (exact copies).
CREATE OR REPLACE FUNCTION wfm.api_batch_insert_call_records(p_calls jsonb, p_source text DEFAULT 'api')
RETURNS TABLE (import_batch_id uuid, status text, rows_total integer, rows_inserted integer,
               rows_updated integer, rows_rejected integer, rows_skipped integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_batch    uuid;
    v_rows     wfm.staged_call_record[];
    v_total    integer;
    v_rejected integer;
    v_skipped  integer;
    v_accepted integer;
    v_first    timestamptz;
    v_last     timestamptz;
    v_months   text[];
    v_missing  text[];
    v_status   text;
    v_message  text;
    v_inserted integer := 0;
    v_updated  integer := 0;
    v_iv_ins   integer := 0;
    v_iv_upd   integer := 0;
    v_iv_del   integer := 0;
    v_ag_w     integer := 0;
    v_ag_d     integer := 0;
BEGIN
    PERFORM wfm.check_import_args(p_calls, 'p_calls', NULL, NULL, false);
    IF p_source IS NULL OR pg_catalog.btrim(p_source) = '' OR pg_catalog.length(p_source) > 100 THEN
        RAISE EXCEPTION 'p_source must be a non-empty label of at most 100 characters'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    INSERT INTO wfm.import_batches AS b (source, status, kind, details)
    VALUES (p_source, 'running', 'calls', pg_catalog.jsonb_build_object('format', 'call_records'))
    RETURNING b.import_batch_id INTO v_batch;
    -- THE lock order of every write path (ensure_import_partitions): tables by name.
    LOCK TABLE ONLY wfm.agent_activity, ONLY wfm.call_records, ONLY wfm.contact_statistics,
               ONLY wfm.contact_statistics_history IN ROW EXCLUSIVE MODE;

    SELECT coalesce(pg_catalog.array_agg(s ORDER BY s.row_number), '{}') INTO v_rows
    FROM wfm.stage_call_records(p_calls) s;

    -- Months without a partition (attached, not a guard) turn otherwise valid rows into NO_PARTITION.
    WITH need AS (
        SELECT r.row_number, t.tbl, m.month
        FROM pg_catalog.unnest(v_rows) r
        CROSS JOIN LATERAL (VALUES ('wfm.call_records'::regclass), ('wfm.contact_statistics'::regclass),
                                   ('wfm.contact_statistics_history'::regclass)) t(tbl)
        CROSS JOIN LATERAL (SELECT pg_catalog.date_trunc('month', r.offered_at, 'UTC') AS month) m
        WHERE pg_catalog.cardinality(r.errors) = 0
        UNION ALL
        SELECT r.row_number, 'wfm.agent_activity'::regclass, m.month
        FROM pg_catalog.unnest(v_rows) r
        CROSS JOIN LATERAL pg_catalog.generate_series(
            pg_catalog.date_trunc('month', r.answered_at, 'UTC'),
            pg_catalog.date_trunc('month', r.ended_at + pg_catalog.make_interval(secs => coalesce(r.wrap_up_seconds, 0)), 'UTC'),
            interval '1 month') AS m(month)
        WHERE pg_catalog.cardinality(r.errors) = 0 AND r.outcome = 'answered' AND r.agent_code IS NOT NULL
    ), parts AS MATERIALIZED (
        SELECT p.parent_table, p.range_start, p.range_end FROM wfm.partitions p
        WHERE NOT p.is_guard AND p.parent_table IN ('wfm.call_records'::regclass, 'wfm.contact_statistics'::regclass,
                                                    'wfm.contact_statistics_history'::regclass, 'wfm.agent_activity'::regclass)
    ), missing AS (
        SELECT n.row_number, pg_catalog.min(n.month) AS month
        FROM need n
        WHERE NOT EXISTS (SELECT 1 FROM parts p WHERE p.parent_table = n.tbl
                                                   AND p.range_start <= n.month AND p.range_end > n.month)
        GROUP BY n.row_number
    )
    SELECT pg_catalog.array_agg(CASE WHEN m.row_number IS NULL THEN r ELSE
               ROW(r.row_number, r.service_id, r.call_id, r.offered_at, r.answered_at, r.ended_at, r.outcome,
                   r.agent_code, r.customer_id, r.wrap_up_seconds, r.group_id,
                   ARRAY[ROW('offered_at', 'NO_PARTITION',
                             wfm.error_message('NO_PARTITION', pg_catalog.jsonb_build_object(
                                 'column', 'offered_at',
                                 'value', pg_catalog.to_char(r.offered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                                 'month', pg_catalog.to_char(m.month AT TIME ZONE 'UTC', 'YYYY-MM'))),
                             pg_catalog.to_char(r.offered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))::wfm.import_row_error])::wfm.staged_call_record END
               ORDER BY r.row_number),
           pg_catalog.array_agg(DISTINCT pg_catalog.to_char(m.month AT TIME ZONE 'UTC', 'YYYY-MM'))
               FILTER (WHERE m.row_number IS NOT NULL)
    INTO v_rows, v_missing
    FROM pg_catalog.unnest(v_rows) r
    LEFT JOIN missing m ON m.row_number = r.row_number;
    v_rows := coalesce(v_rows, '{}');

    SELECT count(*)::integer,
           count(*) FILTER (WHERE pg_catalog.cardinality(r.errors) > 0
                              AND NOT (pg_catalog.cardinality(r.errors) = 1 AND (r.errors[1]).error_code = 'DUPLICATE_ROW'))::integer,
           count(*) FILTER (WHERE pg_catalog.cardinality(r.errors) = 1 AND (r.errors[1]).error_code = 'DUPLICATE_ROW')::integer,
           count(*) FILTER (WHERE pg_catalog.cardinality(r.errors) = 0)::integer,
           pg_catalog.min(r.offered_at) FILTER (WHERE pg_catalog.cardinality(r.errors) = 0),
           pg_catalog.max(r.offered_at) FILTER (WHERE pg_catalog.cardinality(r.errors) = 0),
           pg_catalog.array_agg(DISTINCT pg_catalog.to_char(r.offered_at AT TIME ZONE 'UTC', 'YYYY-MM'))
               FILTER (WHERE pg_catalog.cardinality(r.errors) = 0)
    INTO v_total, v_rejected, v_skipped, v_accepted, v_first, v_last, v_months
    FROM pg_catalog.unnest(v_rows) r;

    INSERT INTO wfm.import_errors (import_batch_id, row_number, column_name, error_code, error_message, raw_value)
    SELECT v_batch, r.row_number, e.column_name, e.error_code, e.error_message, e.raw_value
    FROM pg_catalog.unnest(v_rows) r CROSS JOIN LATERAL pg_catalog.unnest(r.errors) e;

    IF v_total = 0 THEN
        v_status := 'rejected';
        v_message := wfm.error_message('NO_DATA_ROWS', '{"file": "JSON input"}'::jsonb);
        INSERT INTO wfm.import_errors (import_batch_id, row_number, column_name, error_code, error_message, raw_value)
        VALUES (v_batch, NULL, NULL, 'NO_DATA_ROWS', v_message, NULL);
    ELSIF v_accepted = 0 THEN
        v_status := 'rejected';
        v_message := 'every row was rejected; see import_errors';
    ELSE
        INSERT INTO wfm.call_records (offered_at, service_id, call_id, answered_at, ended_at, outcome, agent_code,
                                      customer_id, wrap_up_seconds, group_id, import_batch_id, source_row_number)
        SELECT r.offered_at, r.service_id, r.call_id, r.answered_at, r.ended_at, r.outcome, r.agent_code,
               r.customer_id, r.wrap_up_seconds, r.group_id, v_batch, r.row_number
        FROM pg_catalog.unnest(v_rows) r
        WHERE pg_catalog.cardinality(r.errors) = 0;
        SELECT a.calls_inserted, a.calls_replaced, a.intervals_inserted, a.intervals_updated, a.intervals_deleted,
               a.agent_rows_written, a.agent_rows_deleted
        INTO v_inserted, v_updated, v_iv_ins, v_iv_upd, v_iv_del, v_ag_w, v_ag_d
        FROM wfm.apply_call_records_batch(v_batch) a;
        v_status := CASE WHEN v_rejected > 0 THEN 'completed_with_errors' ELSE 'completed' END;
    END IF;

    UPDATE wfm.import_batches b
    SET status = v_status, rows_total = v_total, rows_inserted = v_inserted, rows_updated = v_updated,
        rows_rejected = v_rejected, rows_skipped = v_skipped,
        first_interval = CASE WHEN v_status LIKE 'completed%' THEN pg_catalog.date_bin('15 minutes', v_first, timestamptz '2000-01-01 00:00+00') END,
        last_interval = CASE WHEN v_status LIKE 'completed%' THEN pg_catalog.date_bin('15 minutes', v_last, timestamptz '2000-01-01 00:00+00') END,
        finished_at = pg_catalog.clock_timestamp(), error_message = v_message,
        details = b.details || pg_catalog.jsonb_build_object(
            'months', coalesce(pg_catalog.to_jsonb(v_months), '[]'::jsonb),
            'rows_accepted', v_accepted,
            'months_without_partition', coalesce(pg_catalog.to_jsonb(v_missing), '[]'::jsonb),
            'intervals_inserted', v_iv_ins, 'intervals_updated', v_iv_upd, 'intervals_deleted', v_iv_del,
            'agent_rows_written', v_ag_w, 'agent_rows_deleted', v_ag_d)
    WHERE b.import_batch_id = v_batch;

    RETURN QUERY SELECT v_batch, v_status, v_total, v_inserted, v_updated, v_rejected, v_skipped;
END
$$;
COMMENT ON FUNCTION wfm.api_batch_insert_call_records(jsonb, text) IS
    'Bulk insert of call records for the API layer: a JSON array of objects with service_id, call_id, offered_at, answered_at, ended_at, outcome (answered/abandoned/other), agent and optional customer_id, wrap_up_seconds, group (code). Same rules and verdicts as call-record files (problems per row in import_errors); a call sent again replaces its earlier version; intervals (contact_statistics) and agent_activity are derived in the same transaction. Rows of months without a partition are NO_PARTITION (never creates partitions); at most wfm.api_write_limits rows/bytes per call (54000). Returns the batch and its counts (inserted = new calls, updated = replaced calls).';
REVOKE ALL ON FUNCTION wfm.api_batch_insert_call_records(jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.api_batch_insert_call_records(jsonb, text) TO wfm_api;
