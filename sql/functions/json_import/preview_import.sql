CREATE OR REPLACE FUNCTION wfm.preview_import(p_data jsonb, p_service_id integer DEFAULT NULL, p_group_id integer DEFAULT NULL,
                                   p_format text DEFAULT 'argus')
RETURNS TABLE (row_number integer, action text, service_id integer, group_id integer,
               interval_start_time timestamptz, unique_incoming integer, non_unique_incoming integer,
               avg_talk_time integer, avg_post_processing_time integer,
               current_unique_incoming integer, current_non_unique_incoming integer,
               current_avg_talk_time integer, current_avg_post_processing_time integer,
               error_codes text[])
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
BEGIN
    IF p_format IS NULL OR p_format NOT IN ('argus', 'excel', 'api') THEN
        RAISE EXCEPTION 'p_format must be argus, excel or api, not %', coalesce(quote_literal(p_format), 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM wfm.check_import_args(p_data, 'p_data', p_service_id, p_group_id, p_format <> 'api',
                                  p_compact_form => p_format = 'api');
    RETURN QUERY
    WITH staged AS MATERIALIZED (
        SELECT * FROM wfm.stage_import_rows(p_data, p_format, p_service_id, p_group_id)
    ),
    missing AS (
        -- months the import would reject as NO_PARTITION (it never creates partitions)
        SELECT unnest(wfm.months_without_partition(array_agg(DISTINCT date_trunc('month', st.interval_start_time, 'UTC'))))
                   AS month_start
        FROM staged st WHERE cardinality(st.errors) = 0
    ),
    s AS (
        SELECT st.row_number, st.service_id, st.group_id, st.interval_start_time, st.unique_incoming,
               st.non_unique_incoming, st.avg_talk_time, st.avg_post_processing_time,
               CASE WHEN cardinality(st.errors) = 0 AND date_trunc('month', st.interval_start_time, 'UTC')
                                                        IN (SELECT m.month_start FROM missing m)
                    THEN ARRAY['NO_PARTITION']
                    ELSE ARRAY(SELECT e.error_code FROM unnest(st.errors) e) END AS codes
        FROM staged st
    )
    SELECT s.row_number,
           CASE WHEN s.codes = ARRAY['DUPLICATE_ROW'] THEN 'skip'
                WHEN cardinality(s.codes) > 0 THEN 'reject'
                WHEN cs.service_id IS NOT NULL THEN 'update'
                ELSE 'insert' END,
           s.service_id, s.group_id, s.interval_start_time, s.unique_incoming, s.non_unique_incoming,
           s.avg_talk_time, s.avg_post_processing_time,
           cs.unique_incoming, cs.non_unique_incoming, cs.avg_talk_time, cs.avg_post_processing_time,
           s.codes
    FROM s
    LEFT JOIN wfm.contact_statistics cs
      ON cardinality(s.codes) = 0 AND cs.interval_start_time = s.interval_start_time
     AND cs.service_id = s.service_id AND cs.group_id IS NOT DISTINCT FROM s.group_id
    ORDER BY s.row_number;
END
$$;
COMMENT ON FUNCTION wfm.preview_import(jsonb, integer, integer, text) IS
    'UI confirmation step: what an import of p_data (p_format argus, excel or api) would do per row (insert, update, reject, skip), with current values of updated intervals and the error codes (NO_PARTITION for a month without partition); writes nothing.';
REVOKE ALL ON FUNCTION wfm.preview_import(jsonb, integer, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.preview_import(jsonb, integer, integer, text) TO wfm_api;
