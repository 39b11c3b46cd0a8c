CREATE OR REPLACE FUNCTION wfm.import_argus_format_data(p_data jsonb, p_service_id integer, p_group_id integer DEFAULT NULL,
                                             p_validate_only boolean DEFAULT false, p_strict boolean DEFAULT false)
RETURNS TABLE (import_batch_id uuid, status text, rows_total integer, rows_inserted integer,
               rows_updated integer, rows_rejected integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM wfm.check_import_args(p_data, 'p_data', p_service_id, p_group_id, true);
    RETURN QUERY SELECT * FROM wfm.run_json_import(p_data, 'argus', p_service_id, p_group_id, 'argus_json',
                                                   coalesce(p_validate_only, false), coalesce(p_strict, false));
END
$$;
COMMENT ON FUNCTION wfm.import_argus_format_data(jsonb, integer, integer, boolean, boolean) IS
    'Imports Argus rows sent as JSON for a service (and group) with the file path''s rules, history and upsert: valid rows are inserted/updated, invalid ones recorded in import_errors (p_strict: nothing imported if any row is invalid; p_validate_only: only validated and logged). Rows of months without a partition are rejected as NO_PARTITION (never creates partitions). At most wfm.api_write_limits rows/bytes per call (54000 otherwise). Returns the batch id, status and counts.';
REVOKE ALL ON FUNCTION wfm.import_argus_format_data(jsonb, integer, integer, boolean, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.import_argus_format_data(jsonb, integer, integer, boolean, boolean) TO wfm_api;
