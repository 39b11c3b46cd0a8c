CREATE OR REPLACE FUNCTION wfm.import_excel_batch(p_batch_data jsonb, p_service_id integer)
RETURNS TABLE (import_batch_id uuid, status text, rows_total integer, rows_inserted integer,
               rows_updated integer, rows_rejected integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM wfm.check_import_args(p_batch_data, 'p_batch_data', p_service_id, NULL, true);
    RETURN QUERY SELECT * FROM wfm.run_json_import(p_batch_data, 'excel', p_service_id, NULL, 'excel_batch', false, false);
END
$$;
COMMENT ON FUNCTION wfm.import_excel_batch(jsonb, integer) IS
    'Imports rows with named fields (interval_start, unique_incoming, non_unique_incoming, avg_talk_time, avg_post_processing_time; optional group_id, answered_calls, answered_within_sl, abandoned_calls, sl_threshold_seconds) for a service; interval_start as in Argus files (wall-clock in the service time zone) or ISO 8601 with offset. Same rules, history and upsert as files; rows of months without a partition are rejected as NO_PARTITION; at most wfm.api_write_limits rows/bytes per call.';
REVOKE ALL ON FUNCTION wfm.import_excel_batch(jsonb, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.import_excel_batch(jsonb, integer) TO wfm_api;
