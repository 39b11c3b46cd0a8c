-- The guide's write API: validate_argus_format, import_argus_format_data, import_excel_batch,
-- api_batch_insert_calls and preview_import. SECURITY DEFINER with a pinned search_path,
-- EXECUTE revoked from PUBLIC and granted to wfm_api (which has no table rights).
-- Logging: the imports record an import_batches row (+ import_errors) for every call, also
-- for p_validate_only (status 'validated'). validate_argus_format and preview_import are pure
-- read-only checks for the UI and log nothing (validate with p_validate_only to get an audit row).

CREATE FUNCTION wfm.validate_argus_format(p_data jsonb, p_service_id integer DEFAULT NULL)
RETURNS TABLE (row_number integer, column_name text, error_code text, error_message text, raw_value text)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = wfm, pg_catalog
AS $$
DECLARE
    v_rows wfm.staged_import_row[];
BEGIN
    PERFORM wfm.check_import_args(p_data, 'p_data', p_service_id, NULL, false);
    SELECT coalesce(array_agg(s), '{}') INTO v_rows FROM wfm.stage_import_rows(p_data, 'argus', p_service_id, NULL) s;
    IF cardinality(v_rows) = 0 THEN
        RETURN QUERY SELECT NULL::integer, NULL::text, 'NO_DATA_ROWS'::text,
                            'no data rows: no row has a date in column A (DD.MM.YYYY HH:MM:SS, ISO 8601 or an Excel serial date)'::text, NULL::text;
        RETURN;
    END IF;
    RETURN QUERY
    SELECT s.row_number, e.column_name, e.error_code, e.error_message, e.raw_value
    FROM unnest(v_rows) s
    CROSS JOIN LATERAL unnest(s.errors) WITH ORDINALITY AS e(column_name, error_code, error_message, raw_value, pos)
    ORDER BY s.row_number, e.pos;
END
$$;
COMMENT ON FUNCTION wfm.validate_argus_format(jsonb, integer) IS
    'Validates Argus rows sent as JSON ([A,B,C,D,E] or {"A":..,"E":..}; A as DD.MM.YYYY HH:MM:SS, ISO 8601 or Excel serial) with the file path''s rules and codes; one row per problem, none = valid. Row numbers are 1-based array positions. With p_service_id, wall-clock times are checked in its time zone (DST gap, fall-back order); without, as UTC. Logs nothing.';

CREATE FUNCTION wfm.import_argus_format_data(p_data jsonb, p_service_id integer, p_group_id integer DEFAULT NULL,
                                             p_validate_only boolean DEFAULT false, p_strict boolean DEFAULT false)
RETURNS TABLE (import_batch_id uuid, status text, rows_total integer, rows_inserted integer,
               rows_updated integer, rows_rejected integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog
AS $$
BEGIN
    PERFORM wfm.check_import_args(p_data, 'p_data', p_service_id, p_group_id, true);
    RETURN QUERY SELECT * FROM wfm.run_json_import(p_data, 'argus', p_service_id, p_group_id, 'argus_json',
                                                   coalesce(p_validate_only, false), coalesce(p_strict, false));
END
$$;
COMMENT ON FUNCTION wfm.import_argus_format_data(jsonb, integer, integer, boolean, boolean) IS
    'Imports Argus rows sent as JSON for a service (and group) with the file path''s rules, history and upsert: valid rows are inserted/updated, invalid ones recorded in import_errors (p_strict: nothing imported if any row is invalid; p_validate_only: only validated and logged). Returns the batch id, status and counts.';

CREATE FUNCTION wfm.import_excel_batch(p_batch_data jsonb, p_service_id integer)
RETURNS TABLE (import_batch_id uuid, status text, rows_total integer, rows_inserted integer,
               rows_updated integer, rows_rejected integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog
AS $$
BEGIN
    PERFORM wfm.check_import_args(p_batch_data, 'p_batch_data', p_service_id, NULL, true);
    RETURN QUERY SELECT * FROM wfm.run_json_import(p_batch_data, 'excel', p_service_id, NULL, 'excel_batch', false, false);
END
$$;
COMMENT ON FUNCTION wfm.import_excel_batch(jsonb, integer) IS
    'Imports rows with named fields (interval_start, unique_incoming, non_unique_incoming, avg_talk_time, avg_post_processing_time; optional group_id, answered_calls, answered_within_sl, abandoned_calls, sl_threshold_seconds) for a service; interval_start as in Argus files (wall-clock in the service time zone) or ISO 8601 with offset. Same rules, history and upsert as files.';

CREATE FUNCTION wfm.api_batch_insert_calls(p_calls jsonb, p_source text DEFAULT 'api')
RETURNS TABLE (import_batch_id uuid, status text, rows_total integer, rows_inserted integer,
               rows_updated integer, rows_rejected integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog
AS $$
BEGIN
    PERFORM wfm.check_import_args(p_calls, 'p_calls', NULL, NULL, false);
    IF p_source IS NULL OR btrim(p_source) = '' OR length(p_source) > 100 THEN
        RAISE EXCEPTION 'p_source must be a non-empty label of at most 100 characters'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY SELECT * FROM wfm.run_json_import(p_calls, 'api', NULL, NULL, p_source, false, false);
END
$$;
COMMENT ON FUNCTION wfm.api_batch_insert_calls(jsonb, text) IS
    'Bulk insert for the API layer: objects with service_id, interval_start (ISO 8601 with offset) and the named fields of import_excel_batch; rows of several services in one batch. Clean batches take a typed fast path; any problem is reported per row in import_errors (unknown service/group per row: UNKNOWN_SERVICE/UNKNOWN_GROUP). Same history and upsert as files.';

CREATE FUNCTION wfm.preview_import(p_data jsonb, p_service_id integer DEFAULT NULL, p_group_id integer DEFAULT NULL,
                                   p_format text DEFAULT 'argus')
RETURNS TABLE (row_number integer, action text, service_id integer, group_id integer,
               interval_start_time timestamptz, unique_incoming integer, non_unique_incoming integer,
               avg_talk_time integer, avg_post_processing_time integer,
               current_unique_incoming integer, current_non_unique_incoming integer,
               current_avg_talk_time integer, current_avg_post_processing_time integer,
               error_codes text[])
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = wfm, pg_catalog
AS $$
BEGIN
    IF p_format IS NULL OR p_format NOT IN ('argus', 'excel', 'api') THEN
        RAISE EXCEPTION 'p_format must be argus, excel or api, not %', coalesce(quote_literal(p_format), 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM wfm.check_import_args(p_data, 'p_data', p_service_id, p_group_id, p_format <> 'api');
    RETURN QUERY
    SELECT s.row_number,
           CASE WHEN cardinality(s.errors) = 1 AND (s.errors[1]).error_code = 'DUPLICATE_ROW' THEN 'skip'
                WHEN cardinality(s.errors) > 0 THEN 'reject'
                WHEN cs.service_id IS NOT NULL THEN 'update'
                ELSE 'insert' END,
           s.service_id, s.group_id, s.interval_start_time, s.unique_incoming, s.non_unique_incoming,
           s.avg_talk_time, s.avg_post_processing_time,
           cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time, cs.avg_post_processing_time,
           ARRAY(SELECT e.error_code FROM unnest(s.errors) e)
    FROM wfm.stage_import_rows(p_data, p_format, p_service_id, p_group_id) s
    LEFT JOIN wfm.contact_statistics cs
      ON cardinality(s.errors) = 0 AND cs.interval_start_time = s.interval_start_time
     AND cs.service_id = s.service_id AND cs.group_id IS NOT DISTINCT FROM s.group_id
    ORDER BY s.row_number;
END
$$;
COMMENT ON FUNCTION wfm.preview_import(jsonb, integer, integer, text) IS
    'UI confirmation step: what an import of p_data (p_format argus, excel or api) would do per row (insert, update, reject, skip), with current values of updated intervals and the error codes; writes nothing.';

REVOKE ALL ON FUNCTION wfm.validate_argus_format(jsonb, integer),
                       wfm.import_argus_format_data(jsonb, integer, integer, boolean, boolean),
                       wfm.import_excel_batch(jsonb, integer),
                       wfm.api_batch_insert_calls(jsonb, text),
                       wfm.preview_import(jsonb, integer, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.validate_argus_format(jsonb, integer),
                          wfm.import_argus_format_data(jsonb, integer, integer, boolean, boolean),
                          wfm.import_excel_batch(jsonb, integer),
                          wfm.api_batch_insert_calls(jsonb, text),
                          wfm.preview_import(jsonb, integer, integer, text) TO wfm_api;
