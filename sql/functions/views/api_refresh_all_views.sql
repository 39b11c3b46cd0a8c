-- wfm.api_refresh_all_views (first defined in sql/051_materialized_views.sql). Since sql/200 the
-- "views" are incrementally maintained aggregates: this is wfm.refresh_aggregates() with the
-- result columns it has always had. used_concurrently: true for an incremental refresh, false
-- for a full rebuild (the first one); readers are never blocked either way.

CREATE OR REPLACE FUNCTION wfm.api_refresh_all_views()
RETURNS TABLE (view_name text, refresh_duration_ms numeric, row_count bigint, used_concurrently boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT r.view_name, r.duration_ms, r.row_count, r.mode = 'incremental'
    FROM wfm.refresh_aggregates() r;
END
$$;
COMMENT ON FUNCTION wfm.api_refresh_all_views() IS
    'Refreshes the aggregates behind wfm.mv_hourly_stats and wfm.mv_daily_service_stats incrementally (only what changed since the last refresh; the first time in full) and returns each view with its refresh duration in ms, row count and whether it was incremental. Readers never need it to see current data.';
REVOKE ALL ON FUNCTION wfm.api_refresh_all_views() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.api_refresh_all_views() TO wfm_api, wfm_etl;
