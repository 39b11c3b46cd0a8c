-- wfm.run_all_validations (first defined in sql/078_run_all_validations.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it.
--
-- run_all_validations(): every check of the suite in one result set, with default thresholds.
-- A suite that errors does not hide the others: its error becomes a FAIL row <suite>.error.

CREATE OR REPLACE FUNCTION wfm.run_all_validations(p_runs integer DEFAULT 20)
RETURNS SETOF wfm.check_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_suite text;
    v_rows  wfm.check_result[];
BEGIN
    FOREACH v_suite IN ARRAY ARRAY['database_health_check', 'monitor_resource_usage', 'check_data_quality',
                                   'validate_query_performance', 'validate_throughput_capacity',
                                   'test_integration_performance', 'analyze_query_performance',
                                   'check_schema_security'] LOOP
        BEGIN
            v_rows := CASE v_suite
                WHEN 'database_health_check' THEN ARRAY(SELECT r FROM wfm.database_health_check() r)
                -- connections are already reported by the health check
                WHEN 'monitor_resource_usage' THEN ARRAY(SELECT r FROM wfm.monitor_resource_usage() r
                                                         WHERE r.check_name <> 'resources.connections')
                WHEN 'check_data_quality' THEN ARRAY(SELECT r FROM wfm.check_data_quality() r)
                WHEN 'validate_query_performance' THEN ARRAY(SELECT r FROM wfm.validate_query_performance(p_runs) r)
                WHEN 'validate_throughput_capacity' THEN ARRAY(SELECT r FROM wfm.validate_throughput_capacity() r)
                WHEN 'test_integration_performance' THEN ARRAY(SELECT r FROM wfm.test_integration_performance() r)
                WHEN 'analyze_query_performance' THEN ARRAY(SELECT r FROM wfm.analyze_query_performance() r)
                WHEN 'check_schema_security' THEN ARRAY(SELECT r FROM wfm.check_schema_security() r)
            END;
        EXCEPTION WHEN OTHERS THEN
            v_rows := ARRAY[wfm.health_row(v_suite || '.error', 'FAIL', NULL, NULL, NULL,
                                           jsonb_build_object('error', SQLSTATE || ': ' || SQLERRM))];
        END;
        RETURN QUERY SELECT * FROM unnest(v_rows);
    END LOOP;
END
$$;
COMMENT ON FUNCTION wfm.run_all_validations(integer) IS
    'The whole validation suite in one result set: database_health_check, monitor_resource_usage, check_data_quality, validate_query_performance (p_runs calls per class), validate_throughput_capacity, test_integration_performance, analyze_query_performance, check_schema_security. Leaves nothing behind; holds no locks after returning.';
REVOKE ALL ON FUNCTION wfm.run_all_validations(integer) FROM PUBLIC;
