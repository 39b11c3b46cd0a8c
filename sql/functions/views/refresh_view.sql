-- wfm.refresh_view (first defined in sql/051_materialized_views.sql). Since sql/200 both
-- aggregates share one change log and one watermark, so refreshing one refreshes both; this
-- returns the row of the one asked for. p_concurrently => false asks for a full rebuild.

CREATE OR REPLACE FUNCTION wfm.refresh_view(p_view regclass, p_concurrently boolean DEFAULT true)
RETURNS TABLE (view_name text, duration_ms numeric, row_count bigint, used_concurrently boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_name text;
BEGIN
    SELECT a.view_name INTO v_name FROM wfm.aggregates a WHERE to_regclass(a.view_name) = p_view;
    IF v_name IS NULL THEN
        RAISE EXCEPTION '% is not a WFM materialized view', p_view
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The refreshable views are listed in wfm.aggregates.';
    END IF;
    RETURN QUERY
    SELECT r.view_name, r.duration_ms, r.row_count, r.mode = 'incremental'
    FROM wfm.refresh_aggregates(p_full => NOT coalesce(p_concurrently, true)) r
    WHERE r.view_name = v_name;
END
$$;
COMMENT ON FUNCTION wfm.refresh_view(regclass, boolean) IS
    'Refreshes the aggregates (both: they share one change log) and returns the row of the given view: duration, rows, whether incremental. p_concurrently => false: full rebuild.';
REVOKE ALL ON FUNCTION wfm.refresh_view(regclass, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.refresh_view(regclass, boolean) TO wfm_etl;
