-- wfm.api_refresh_all_views (first defined in sql/051_materialized_views.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it.

CREATE OR REPLACE FUNCTION wfm.api_refresh_all_views()
RETURNS TABLE (view_name text, refresh_duration_ms numeric, row_count bigint, used_concurrently boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_view regclass;
BEGIN
    FOR v_view IN SELECT m.view_name FROM wfm.materialized_views m ORDER BY m.refresh_order LOOP
        RETURN QUERY SELECT r.view_name, r.duration_ms, r.row_count, r.used_concurrently
                     FROM wfm.refresh_view(v_view, true) r;
    END LOOP;
END
$$;
COMMENT ON FUNCTION wfm.api_refresh_all_views() IS
    'Refreshes every WFM materialized view (CONCURRENTLY once populated: readers are not blocked) and returns each view with its refresh duration in ms and row count.';
REVOKE ALL ON FUNCTION wfm.api_refresh_all_views() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.api_refresh_all_views() TO wfm_api, wfm_etl;
