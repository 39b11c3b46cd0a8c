-- The service level predicted for a fractional number of agents (e.g. agents available on
-- average over an interval: logged-in minus not-ready seconds / 900): linear between the whole
-- numbers around it (wfm.erlang_service_level, Erlang C or A with p_patience). Inlined into its
-- callers (no SET clause; every name schema-qualified).
CREATE OR REPLACE FUNCTION wfm.predicted_service_level(p_agents double precision, p_calls double precision,
                                                       p_aht double precision, p_interval_seconds double precision,
                                                       p_threshold double precision,
                                                       p_patience double precision DEFAULT NULL)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT CASE WHEN p_agents IS NULL THEN NULL
            WHEN p_agents = pg_catalog.floor(p_agents) THEN
                wfm.erlang_service_level(p_agents::integer, p_calls, p_aht, p_interval_seconds, p_threshold, p_patience)
            ELSE (1 - (p_agents - pg_catalog.floor(p_agents)))
                     * wfm.erlang_service_level(pg_catalog.floor(p_agents)::integer, p_calls, p_aht, p_interval_seconds,
                                                p_threshold, p_patience)
                 + (p_agents - pg_catalog.floor(p_agents))
                     * wfm.erlang_service_level(pg_catalog.floor(p_agents)::integer + 1, p_calls, p_aht,
                                                p_interval_seconds, p_threshold, p_patience) END
$$;
COMMENT ON FUNCTION wfm.predicted_service_level(double precision, double precision, double precision, double precision, double precision, double precision) IS
    'Service level (answered within p_threshold / offered) predicted for a fractional number of agents: linear between wfm.erlang_service_level of the whole numbers around it (Erlang C, or Erlang A with p_patience). NULL without calls.';
REVOKE ALL ON FUNCTION wfm.predicted_service_level(double precision, double precision, double precision, double precision, double precision, double precision) FROM PUBLIC;
