-- The shared write path of the JSON import functions (sql/042): argument checks, a fast
-- path for clean API batches, and the audited load (import_batches, import_errors, history,
-- wfm.apply_import_batch of sql/021). Internal: no grants; the API functions call these.

CREATE FUNCTION wfm.check_import_args(p_data jsonb, p_param text, p_service_id integer,
                                      p_group_id integer, p_service_required boolean)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = wfm, pg_catalog
AS $$
DECLARE
    v_zone text;
BEGIN
    IF p_data IS NULL THEN
        RAISE EXCEPTION '% must not be NULL', p_param
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Send a JSON array of rows.';
    END IF;
    IF jsonb_typeof(p_data) <> 'array' THEN
        RAISE EXCEPTION '% must be a JSON array of rows, not a JSON %', p_param, jsonb_typeof(p_data)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_service_id IS NULL THEN
        IF p_service_required THEN
            RAISE EXCEPTION 'p_service_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
        END IF;
        RETURN NULL;
    END IF;
    SELECT s.time_zone INTO v_zone FROM wfm.services s WHERE s.service_id = p_service_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown service_id %', p_service_id
            USING ERRCODE = 'invalid_parameter_value', HINT = 'See wfm.services (wfm services list).';
    END IF;
    IF p_group_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM wfm.groups g WHERE g.group_id = p_group_id AND g.service_id = p_service_id) THEN
        RAISE EXCEPTION 'unknown group_id % in service_id %', p_group_id, p_service_id
            USING ERRCODE = 'invalid_parameter_value', HINT = 'See wfm.groups (wfm services list).';
    END IF;
    RETURN v_zone;
END
$$;
COMMENT ON FUNCTION wfm.check_import_args(jsonb, text, integer, integer, boolean) IS
    'Internal: raises on NULL or non-array data (22004/22023) and unknown service or group (22023); returns the service time zone.';

CREATE FUNCTION wfm.stage_api_rows_fast(p_calls jsonb) RETURNS wfm.staged_import_row[]
LANGUAGE plpgsql STABLE
SET search_path = wfm, pg_catalog
AS $$
-- One typed pass (jsonb_to_recordset and casts in C) for the common case: a clean API batch
-- with canonical ISO 8601 times (...+HH:MM or ...Z). It returns NULL as soon as anything is
-- unusual (a cast fails, a rule is broken, a duplicate, an unknown service or group) and the
-- caller runs the full validator (wfm.stage_import_rows), which names every problem. The
-- rules here are the same as there; test_api_write checks that the two agree.
DECLARE
    v_rows wfm.staged_import_row[];
    v_ok   boolean;
BEGIN
    SELECT array_agg(ROW(x.n, x.service_id, x.group_id, x.t::timestamptz,
                         x.unique_incoming, x.non_unique_incoming, x.avg_talk_time, x.avg_post_processing_time,
                         x.answered_calls, x.answered_within_sl, x.abandoned_calls, x.sl_threshold_seconds,
                         '{}'::wfm.import_row_error[])::wfm.staged_import_row ORDER BY x.n),
           bool_and(
               x.service_id IS NOT NULL
               AND ((length(x.t) = 25 AND substr(x.t, 20, 1) IN ('+', '-')) OR (length(x.t) = 20 AND substr(x.t, 20, 1) = 'Z'))
               AND x.t::timestamptz = date_bin('15 minutes', x.t::timestamptz, timestamptz '2000-01-01 00:00+00')
               AND x.unique_incoming >= 0 AND x.non_unique_incoming >= x.unique_incoming
               AND (x.non_unique_incoming = 0 OR (x.avg_talk_time IS NOT NULL AND x.avg_post_processing_time IS NOT NULL))
               AND coalesce(x.avg_talk_time BETWEEN 0 AND 86400, true)
               AND coalesce(x.avg_post_processing_time BETWEEN 0 AND 86400, true)
               AND coalesce(x.answered_calls BETWEEN 0 AND x.non_unique_incoming, true)
               AND coalesce(x.answered_within_sl BETWEEN 0 AND coalesce(x.answered_calls, x.non_unique_incoming), true)
               AND coalesce(x.abandoned_calls BETWEEN 0 AND x.non_unique_incoming, true)
               AND coalesce(x.sl_threshold_seconds BETWEEN 1 AND 86400, true)
               AND (x.answered_within_sl IS NULL OR x.sl_threshold_seconds IS NOT NULL))
    INTO v_rows, v_ok
    FROM ROWS FROM (jsonb_to_recordset(p_calls) AS (
             service_id integer, group_id integer, interval_start text, unique_incoming integer,
             non_unique_incoming integer, avg_talk_time integer, avg_post_processing_time integer,
             answered_calls integer, answered_within_sl integer, abandoned_calls integer,
             sl_threshold_seconds integer)) WITH ORDINALITY
         AS x(service_id, group_id, t, unique_incoming, non_unique_incoming, avg_talk_time,
              avg_post_processing_time, answered_calls, answered_within_sl, abandoned_calls,
              sl_threshold_seconds, n);
    IF v_rows IS NULL OR v_ok IS NOT TRUE THEN
        RETURN NULL;
    END IF;
    -- every service and group exists, no interval twice
    SELECT NOT EXISTS (
               SELECT 1 FROM (SELECT DISTINCT r.service_id, r.group_id FROM unnest(v_rows) r) k
               LEFT JOIN wfm.services s ON s.service_id = k.service_id
               LEFT JOIN wfm.groups g ON g.group_id = k.group_id AND g.service_id = k.service_id
               WHERE s.service_id IS NULL OR (k.group_id IS NOT NULL AND g.group_id IS NULL))
       AND NOT EXISTS (
               SELECT 1 FROM unnest(v_rows) r
               GROUP BY r.service_id, r.group_id, r.interval_start_time HAVING count(*) > 1)
    INTO v_ok;
    RETURN CASE WHEN v_ok THEN v_rows END;
EXCEPTION
    WHEN data_exception OR invalid_parameter_value OR invalid_text_representation THEN
        RETURN NULL;  -- a value that does not cast: the full validator reports it
END
$$;
COMMENT ON FUNCTION wfm.stage_api_rows_fast(jsonb) IS
    'Internal: typed single pass over a clean API batch; NULL when any row needs the full validator (wfm.stage_import_rows). One exception block per call, none per row.';

CREATE FUNCTION wfm.run_json_import(p_data jsonb, p_format text, p_service_id integer, p_group_id integer,
                                    p_source text, p_validate_only boolean, p_strict boolean)
RETURNS TABLE (import_batch_id uuid, status text, rows_total integer, rows_inserted integer,
               rows_updated integer, rows_rejected integer)
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog
AS $$
DECLARE
    v_batch     uuid;
    v_rows      wfm.staged_import_row[];
    v_total     integer;
    v_rejected  integer;
    v_skipped   integer;
    v_accepted  integer;
    v_first     timestamptz;
    v_last      timestamptz;
    v_months    text[];
    v_status    text;
    v_message   text;
    v_inserted  integer := 0;
    v_updated   integer := 0;
    v_fast      boolean := false;
BEGIN
    INSERT INTO wfm.import_batches AS b (source, service_id, group_id, status, details)
    VALUES (p_source, p_service_id, p_group_id, 'running', jsonb_build_object('format', p_format))
    RETURNING b.import_batch_id INTO v_batch;

    IF p_format = 'api' THEN
        v_rows := wfm.stage_api_rows_fast(p_data);
        v_fast := v_rows IS NOT NULL;
    END IF;
    IF v_rows IS NULL THEN
        SELECT coalesce(array_agg(s), '{}') INTO v_rows
        FROM wfm.stage_import_rows(p_data, p_format, p_service_id, p_group_id) s;
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
               FILTER (WHERE cardinality(r.errors) = 0)
    INTO v_total, v_rejected, v_skipped, v_accepted, v_first, v_last, v_months
    FROM unnest(v_rows) r;

    INSERT INTO wfm.import_errors (import_batch_id, row_number, column_name, error_code, error_message, raw_value)
    SELECT v_batch, r.row_number, e.column_name, e.error_code, e.error_message, e.raw_value
    FROM unnest(v_rows) r CROSS JOIN LATERAL unnest(r.errors) e;

    IF v_total = 0 THEN
        v_status := 'rejected';
        v_message := 'no data rows: the array holds no non-blank row';
        INSERT INTO wfm.import_errors (import_batch_id, row_number, column_name, error_code, error_message, raw_value)
        VALUES (v_batch, NULL, NULL, 'NO_DATA_ROWS', v_message, NULL);
    ELSIF p_validate_only THEN
        v_status := 'validated';
    ELSIF v_accepted = 0 THEN
        v_status := 'rejected';
        v_message := 'every row was rejected; see import_errors';
    ELSIF p_strict AND v_rejected > 0 THEN
        v_status := 'rejected';
        v_message := format('strict mode: %s of %s rows are invalid, nothing imported', v_rejected, v_total);
        INSERT INTO wfm.import_errors (import_batch_id, row_number, column_name, error_code, error_message, raw_value)
        VALUES (v_batch, NULL, NULL, 'STRICT_MODE', v_message, NULL);
        v_rejected := v_total - v_skipped;  -- the valid rows are not imported either
    ELSE
        -- Partitions for the batch's months (history and current table) before the inserts.
        PERFORM wfm.ensure_monthly_partitions(t.tbl, m.month_start, m.month_start)
        FROM unnest(v_months) AS mm(ym)
        CROSS JOIN LATERAL (SELECT (mm.ym || '-01 00:00+00')::timestamptz AS month_start) m
        CROSS JOIN (VALUES ('wfm.contact_statistics'::regclass), ('wfm.contact_statistics_history'::regclass)) t(tbl);

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
                                                  'rows_accepted', v_accepted, 'fast_path', v_fast)
    WHERE b.import_batch_id = v_batch;

    RETURN QUERY SELECT v_batch, v_status, v_total, v_inserted, v_updated, v_rejected;
END
$$;
COMMENT ON FUNCTION wfm.run_json_import(jsonb, text, integer, integer, text, boolean, boolean) IS
    'Internal: one audited JSON import: import_batches row, staging/validation, import_errors, partitions, history rows and wfm.apply_import_batch (same semantics as files), counters and status.';

REVOKE ALL ON FUNCTION wfm.check_import_args(jsonb, text, integer, integer, boolean),
                       wfm.stage_api_rows_fast(jsonb),
                       wfm.run_json_import(jsonb, text, integer, integer, text, boolean, boolean) FROM PUBLIC;
