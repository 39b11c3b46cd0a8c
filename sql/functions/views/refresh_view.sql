-- wfm.refresh_view (first defined in sql/051_materialized_views.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it.

CREATE OR REPLACE FUNCTION wfm.refresh_view(p_view regclass, p_concurrently boolean DEFAULT true)
RETURNS TABLE (view_name text, duration_ms numeric, row_count bigint, used_concurrently boolean)
LANGUAGE plpgsql
SECURITY DEFINER  -- REFRESH needs the view's owner; ETL and the API call this
SET search_path = wfm, pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_started    timestamptz := clock_timestamp();
    v_concurrent boolean;
    v_rows       bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM wfm.materialized_views m WHERE m.view_name = p_view) THEN
        RAISE EXCEPTION '% is not a WFM materialized view', p_view
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The refreshable views are listed in wfm.materialized_views.';
    END IF;
    -- CONCURRENTLY needs a populated view; the first refresh is a plain one.
    v_concurrent := p_concurrently AND (SELECT c.relispopulated FROM pg_catalog.pg_class c WHERE c.oid = p_view);
    IF v_concurrent THEN
        EXECUTE format('REFRESH MATERIALIZED VIEW CONCURRENTLY %s', p_view);
    ELSE
        EXECUTE format('REFRESH MATERIALIZED VIEW %s', p_view);
    END IF;
    EXECUTE format('SELECT count(*) FROM %s', p_view) INTO v_rows;
    SELECT format('%I.%I', n.nspname, c.relname) INTO view_name
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = p_view;
    duration_ms := round(extract(epoch FROM clock_timestamp() - v_started)::numeric * 1000, 1);
    row_count := v_rows;
    used_concurrently := v_concurrent;
    INSERT INTO wfm.view_refresh_history (view_name, started_at, duration_ms, used_concurrently, row_count)
    VALUES (view_name, v_started, duration_ms, used_concurrently, row_count);
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION wfm.refresh_view(regclass, boolean) IS
    'Refreshes one WFM materialized view (CONCURRENTLY once populated), logs it in view_refresh_history, returns its duration and row count.';
REVOKE ALL ON FUNCTION wfm.refresh_view(regclass, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.refresh_view(regclass, boolean) TO wfm_etl;
