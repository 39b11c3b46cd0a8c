-- wfm.health_connections (first defined in sql/071_monitor_resource_usage.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it.

-- Connections are checked by both monitor_resource_usage() and database_health_check().
CREATE OR REPLACE FUNCTION wfm.health_connections(p_check_name text, p_warn numeric DEFAULT 0.90, p_fail numeric DEFAULT 0.95)
RETURNS wfm.check_result
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_max       integer := current_setting('max_connections')::integer;
    v_reserved  integer := current_setting('superuser_reserved_connections')::integer;
    v_available integer;
    v_used      integer;
    v_states    jsonb;
    v_status    text;
BEGIN
    -- check_postgres "backends": thresholds are a share of max_connections minus the
    -- superuser-reserved slots, the connections an application can actually get.
    v_available := greatest(v_max - v_reserved, 1);
    SELECT coalesce(sum(n), 0), jsonb_object_agg(coalesce(state, 'unknown'), n) INTO v_used, v_states
    FROM (SELECT state, count(*) AS n FROM pg_catalog.pg_stat_activity WHERE backend_type = 'client backend' GROUP BY state) s;
    -- check_postgres alerts at >= the level.
    v_status := 'PASS';
    IF v_used::numeric / v_available >= p_fail THEN v_status := 'FAIL';
    ELSIF v_used::numeric / v_available >= p_warn THEN v_status := 'WARN';
    END IF;
    RETURN wfm.health_row(p_check_name, v_status, v_used, floor(p_warn * v_available), 'connections',
        jsonb_build_object(
            'max_connections', v_max, 'superuser_reserved_connections', v_reserved,
            'available', v_available, 'used_share', round(v_used::numeric / v_available, 4),
            'by_state', coalesce(v_states, '{}'::jsonb),
            'warn_at_share', p_warn, 'fail_at_share', p_fail,
            'rule', 'client backends vs max_connections - superuser_reserved_connections; WARN >= 90 %, FAIL >= 95 % (check_postgres backends defaults)'));
END
$$;
COMMENT ON FUNCTION wfm.health_connections(text, numeric, numeric) IS
    'Connections check row: client backends vs max_connections minus reserved slots; WARN at 90 %, FAIL at 95 % (check_postgres "backends" defaults).';
REVOKE ALL ON FUNCTION wfm.health_connections(text, numeric, numeric) FROM PUBLIC;
