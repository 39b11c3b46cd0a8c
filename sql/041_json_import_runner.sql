-- The shared write path of the JSON import functions (sql/042): argument checks, an
-- optimistic one-pass load for clean API batches, and the audited load (import_batches, import_errors, history,
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

CREATE FUNCTION wfm.fast_path_bail(p_type anyelement) RETURNS anyelement
LANGUAGE plpgsql VOLATILE  -- never constant-folded at plan time
SET search_path = pg_catalog
AS $$
BEGIN
    RAISE EXCEPTION 'row needs the full validator' USING ERRCODE = 'WFMFP';
END
$$;
COMMENT ON FUNCTION wfm.fast_path_bail(anyelement) IS
    'Internal: raises (SQLSTATE WFMFP) to abandon the API fast path for a row only the full validator can judge.';

CREATE FUNCTION wfm.import_api_fast(p_calls jsonb, p_batch uuid,
                                    OUT rows_total integer, OUT first_interval timestamptz,
                                    OUT last_interval timestamptz, OUT months text[],
                                    OUT rows_inserted integer, OUT rows_updated integer)
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog
AS $$
-- Optimistic load of a clean API batch in ONE typed pass (jsonb_to_recordset and casts in C)
-- inside a subtransaction: history insert + wfm.apply_import_batch. The rules that the casts
-- and the tables do not enforce themselves (UTC offset present, threshold <= 86400) abandon
-- the attempt explicitly; every other rule is a CHECK, NOT NULL, foreign key (unknown
-- service/group) or the upsert's unique key (an interval twice: ON CONFLICT cannot affect a
-- row twice) that fails the statement.
-- Any failure rolls the subtransaction back and returns NULLs: the caller then runs the full
-- validator (wfm.stage_import_rows), which names every problem per row. One exception
-- block per call, none per row. A batch for a month without partition creates the months
-- and tries once more.
DECLARE
    v_attempt integer := 0;
BEGIN
    LOOP
        v_attempt := v_attempt + 1;
        BEGIN
            WITH ins AS (
                INSERT INTO wfm.contact_statistics_history (
                    interval_start_time, service_id, group_id, unique_incoming, non_unique_incoming,
                    avg_talk_time, avg_post_processing_time, answered_calls, answered_within_sl,
                    abandoned_calls, sl_threshold_seconds, import_batch_id, source_row_number)
                SELECT CASE WHEN (length(x.t) = 25 AND substr(x.t, 20, 1) IN ('+', '-'))
                                 OR (length(x.t) = 20 AND substr(x.t, 20, 1) = 'Z')
                            THEN x.t::timestamptz ELSE wfm.fast_path_bail(NULL::timestamptz) END,
                       x.service_id, x.group_id, x.unique_incoming, x.non_unique_incoming,
                       x.avg_talk_time, x.avg_post_processing_time, x.answered_calls, x.answered_within_sl,
                       x.abandoned_calls,
                       CASE WHEN x.sl_threshold_seconds > 86400 THEN wfm.fast_path_bail(NULL::integer)
                            ELSE x.sl_threshold_seconds END,
                       p_batch, x.n
                FROM ROWS FROM (jsonb_to_recordset(p_calls) AS (
                         service_id integer, group_id integer, interval_start text, unique_incoming integer,
                         non_unique_incoming integer, avg_talk_time integer, avg_post_processing_time integer,
                         answered_calls integer, answered_within_sl integer, abandoned_calls integer,
                         sl_threshold_seconds integer)) WITH ORDINALITY
                     AS x(service_id, group_id, t, unique_incoming, non_unique_incoming, avg_talk_time,
                          avg_post_processing_time, answered_calls, answered_within_sl, abandoned_calls,
                          sl_threshold_seconds, n)
                RETURNING interval_start_time
            )
            SELECT count(*)::integer, min(i.interval_start_time), max(i.interval_start_time),
                   array_agg(DISTINCT to_char(i.interval_start_time AT TIME ZONE 'UTC', 'YYYY-MM'))
            INTO rows_total, first_interval, last_interval, months
            FROM ins i;
            IF rows_total = 0 THEN
                RAISE EXCEPTION 'empty batch' USING ERRCODE = 'WFMFP';
            END IF;
            SELECT a.rows_inserted, a.rows_updated INTO rows_inserted, rows_updated
            FROM wfm.apply_import_batch(p_batch) a;
            RETURN;
        EXCEPTION WHEN OTHERS THEN
            rows_total := NULL; first_interval := NULL; last_interval := NULL; months := NULL;
            rows_inserted := NULL; rows_updated := NULL;
            IF v_attempt = 1 AND SQLSTATE = '23514' AND SQLERRM LIKE 'no partition of %' THEN
                -- a month without partition (guard partition): create the batch's months, retry
                PERFORM wfm.ensure_monthly_partitions(t.tbl, m.month_start, m.month_start)
                FROM (SELECT DISTINCT date_trunc('month', wfm.json_cell_instant(e ->> 'interval_start'), 'UTC') AS month_start
                      FROM jsonb_array_elements(p_calls) e) m
                CROSS JOIN (VALUES ('wfm.contact_statistics'::regclass),
                                   ('wfm.contact_statistics_history'::regclass)) t(tbl)
                WHERE m.month_start IS NOT NULL;
                CONTINUE;
            END IF;
            RETURN;
        END;
    END LOOP;
END
$$;
COMMENT ON FUNCTION wfm.import_api_fast(jsonb, uuid) IS
    'Internal: optimistic one-pass load of a clean API batch (history + apply) in a subtransaction; NULLs when any row needs the full validator. One exception block per call, none per row.';

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
    v_first_row integer;
    v_inserted  integer := 0;
    v_updated   integer := 0;
BEGIN
    INSERT INTO wfm.import_batches AS b (source, service_id, group_id, status, details)
    VALUES (p_source, p_service_id, p_group_id, 'running', jsonb_build_object('format', p_format))
    RETURNING b.import_batch_id INTO v_batch;

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
        v_message := 'no data rows: no row has a date in column A (DD.MM.YYYY HH:MM:SS, ISO 8601 or an Excel serial date)';
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
                                                  'rows_accepted', v_accepted, 'fast_path', false,
                                                  -- rows before it were headers or blank
                                                  'first_data_row', v_first_row)
    WHERE b.import_batch_id = v_batch;

    RETURN QUERY SELECT v_batch, v_status, v_total, v_inserted, v_updated, v_rejected;
END
$$;
COMMENT ON FUNCTION wfm.run_json_import(jsonb, text, integer, integer, text, boolean, boolean) IS
    'Internal: one audited JSON import: import_batches row, staging/validation, import_errors, partitions, history rows and wfm.apply_import_batch (same semantics as files), counters and status.';

REVOKE ALL ON FUNCTION wfm.check_import_args(jsonb, text, integer, integer, boolean),
                       wfm.fast_path_bail(anyelement),
                       wfm.import_api_fast(jsonb, uuid),
                       wfm.run_json_import(jsonb, text, integer, integer, text, boolean, boolean) FROM PUBLIC;
