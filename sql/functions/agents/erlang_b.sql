-- Erlang B blocking probability for p_agents servers and p_load Erlangs, by the recursion
-- B(k) = A·B(k-1) / (k + A·B(k-1)), B(0) = 1, which stays in [0, 1] for any number of agents and
-- never forms A^n / n! (as wfm_pipeline/forecasting/erlang.py does; a test compares them).
CREATE OR REPLACE FUNCTION wfm.erlang_b(p_agents integer, p_load double precision) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
    b double precision := 1.0;
    ab double precision;
BEGIN
    IF p_agents < 0 OR p_load < 0 THEN
        RAISE EXCEPTION 'erlang_b: agents (%) and load (%) must not be negative', p_agents, p_load
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- n far above the load: B is below 1e-60 (erlang.py's _far_above)
    IF p_agents >= p_load + 20 * pg_catalog.sqrt(p_load) + 30 THEN
        RETURN 0.0;
    END IF;
    FOR k IN 1 .. p_agents LOOP
        ab := p_load * b;
        b := ab / (k + ab);
    END LOOP;
    RETURN b;
END
$$;
COMMENT ON FUNCTION wfm.erlang_b(integer, double precision) IS
    'Erlang B blocking probability for p_agents agents and an offered load of p_load Erlangs (stable recursion; 0 when the agents are far above the load).';
REVOKE ALL ON FUNCTION wfm.erlang_b(integer, double precision) FROM PUBLIC;
