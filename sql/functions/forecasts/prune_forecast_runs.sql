-- wfm.prune_forecast_runs (first defined in sql/064_forecast_retention.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it.

CREATE OR REPLACE FUNCTION wfm.prune_forecast_runs(p_keep interval DEFAULT interval '35 days') RETURNS integer
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_deleted integer;
BEGIN
    IF p_keep IS NULL OR p_keep < interval '1 day' THEN
        RAISE EXCEPTION 'prune_forecast_runs: p_keep must be at least 1 day, got %', p_keep
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    DELETE FROM wfm.forecast_runs r
    WHERE r.created_at < now() - p_keep
      AND r.forecast_run_id <> (
          SELECT n.forecast_run_id FROM wfm.forecast_runs n
          WHERE n.service_id = r.service_id AND n.group_id IS NOT DISTINCT FROM r.group_id
          ORDER BY n.created_at DESC, n.forecast_run_id DESC
          LIMIT 1);
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    RETURN v_deleted;   -- their intervals go with them (ON DELETE CASCADE)
END
$$;
COMMENT ON FUNCTION wfm.prune_forecast_runs(interval) IS
    'Deletes forecast runs (and their intervals) created more than p_keep ago, except the newest run of each service/group; returns the number of runs deleted.';
REVOKE ALL ON FUNCTION wfm.prune_forecast_runs(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.prune_forecast_runs(interval) TO wfm_etl;
