CREATE OR REPLACE FUNCTION wfm.api_batch_insert_calls(p_calls jsonb, p_source text DEFAULT 'api')
RETURNS TABLE (import_batch_id uuid, status text, rows_total integer, rows_inserted integer,
               rows_updated integer, rows_rejected integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM wfm.check_import_args(p_calls, 'p_calls', NULL, NULL, false, p_compact_form => true);
    -- the compact form's header: a broken one raises here, before the batch row is written
    PERFORM wfm.compact_form_header(p_calls);
    IF p_source IS NULL OR btrim(p_source) = '' OR length(p_source) > 100 THEN
        RAISE EXCEPTION 'p_source must be a non-empty label of at most 100 characters'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY SELECT * FROM wfm.run_json_import(p_calls, 'api', NULL, NULL, p_source, false, false);
END
$$;
COMMENT ON FUNCTION wfm.api_batch_insert_calls(jsonb, text) IS
    'Bulk insert for the API layer: objects with service_id, interval_start (ISO 8601 with offset) and the named fields of import_excel_batch; rows of several services in one batch. Or the compact form of the same rows: first element an array of those field names, then one array of values per row in that order (about 4x less JSON; a row of another length is rejected as WRONG_ROW_LENGTH; same verdicts and row numbers: the header is not a row). Clean batches take a typed fast path (only for cells the validator accepts as they are); any problem is reported per row in import_errors (unknown service/group per row: UNKNOWN_SERVICE/UNKNOWN_GROUP). Same history and upsert as files. Rows of months without a partition are rejected as NO_PARTITION (never creates partitions); at most wfm.api_write_limits rows/bytes per call (54000 otherwise).';
REVOKE ALL ON FUNCTION wfm.api_batch_insert_calls(jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.api_batch_insert_calls(jsonb, text) TO wfm_api;
