-- The service level a queue gives with p_agents agents (whole), p_calls offered calls of mean
-- handling time p_aht seconds in an interval of p_interval_seconds: the share of offered calls
-- answered within p_threshold seconds. Erlang C (M/M/n) without a patience figure; Erlang A
-- (M/M/n+M, exponential patience of mean p_patience seconds; abandoned calls count as misses)
-- with one. The formulas of wfm_pipeline/forecasting/erlang.py (erlang_c_metrics,
-- erlang_a_metrics: the Mandelbaum-Zeltyn formulas), which a test compares them with.
-- NULL without calls or handling time (nothing to predict); 0 with calls and no agents, and
-- under Erlang C when the load reaches the agents (the queue grows without bound).
-- Internal (no SET clause: called per interval by wfm.api_get_plan_vs_actual, which pins the
-- search_path; every name here is schema-qualified).
CREATE OR REPLACE FUNCTION wfm.erlang_service_level(p_agents integer, p_calls double precision, p_aht double precision,
                                                    p_interval_seconds double precision, p_threshold double precision,
                                                    p_patience double precision DEFAULT NULL)
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    v_load    double precision;
    v_b       double precision;
    v_pwait   double precision;
    v_theta   double precision;
    v_x       double precision;
    v_y       double precision;
    v_u       double precision;
    v_log_e   double precision;
    v_log_big double precision;
    v_log_pin double precision;
    v_ratio   double precision;
    v_log_gy  double precision;
    v_log_gu  double precision;
    v_within  double precision;
    v_l1      double precision;
    v_l2      double precision;
BEGIN
    IF p_agents IS NULL OR p_calls IS NULL OR p_aht IS NULL OR p_calls <= 0 OR p_aht <= 0 THEN
        RETURN NULL;
    END IF;
    IF p_agents <= 0 THEN
        RETURN 0.0;
    END IF;
    v_load := p_calls * p_aht / p_interval_seconds;
    -- Erlang B by its recursion (wfm.erlang_b, inlined here: this runs per interval of a report)
    v_b := 1.0;
    IF p_agents >= v_load + 20 * pg_catalog.sqrt(v_load) + 30 THEN
        v_b := 0.0;
    ELSE
        FOR k IN 1 .. p_agents LOOP
            v_b := v_load * v_b / (k + v_load * v_b);
        END LOOP;
    END IF;
    IF p_patience IS NULL THEN
        IF p_agents <= v_load THEN
            RETURN 0.0;
        END IF;
        v_pwait := p_agents * v_b / (p_agents - v_load * (1 - v_b));
        RETURN LEAST(GREATEST(1 - v_pwait * pg_catalog.exp(GREATEST(-(p_agents - v_load) * p_threshold / p_aht, -700)), 0), 1);
    END IF;
    -- Erlang A: x = n·μ/θ, y = λ/θ, u = e^{-θt}
    v_theta := 1.0 / p_patience;
    v_x := p_agents * (1.0 / p_aht) / v_theta;
    v_y := (p_calls / p_interval_seconds) / v_theta;
    v_u := pg_catalog.exp(GREATEST(-v_theta * p_threshold, -700));
    v_log_e := pg_catalog.ln(GREATEST(v_b, 1e-300));
    v_log_big := wfm.erlang_log_series(v_x, v_y);
    -- π_n = E / ((1 - E) + E·S), in logs: log E - logaddexp(log(1 - E), log E + log S)
    v_l1 := pg_catalog.ln(GREATEST(1 - LEAST(v_b, 1 - 1e-16), 1e-300));
    v_l2 := v_log_e + v_log_big;
    v_log_pin := v_log_e - (GREATEST(v_l1, v_l2)
                            + pg_catalog.ln(1 + pg_catalog.exp(GREATEST(-pg_catalog.abs(v_l1 - v_l2), -700))));
    v_pwait := pg_catalog.exp(LEAST(GREATEST(v_log_pin + v_log_big, -700), 0));
    v_ratio := pg_catalog.ln(v_x / (v_x + 1));
    v_log_gy := v_ratio + wfm.erlang_log_series(v_x + 1, v_y);
    v_log_gu := v_ratio + (v_x + 1) * pg_catalog.ln(v_u) + v_y * (1 - v_u) + wfm.erlang_log_series(v_x + 1, v_y * v_u);
    v_within := pg_catalog.exp(GREATEST(LEAST(v_log_pin + v_log_gy, 700), -700))
                - pg_catalog.exp(GREATEST(LEAST(v_log_pin + v_log_gu, 700), -700));
    RETURN LEAST(GREATEST(1 - v_pwait + v_within, 0), 1);
END
$$;
COMMENT ON FUNCTION wfm.erlang_service_level(integer, double precision, double precision, double precision, double precision, double precision) IS
    'Share of offered calls answered within p_threshold seconds with p_agents agents, p_calls calls of mean handling time p_aht in p_interval_seconds: Erlang C, or Erlang A when p_patience (mean patience, seconds) is given. NULL without calls.';
REVOKE ALL ON FUNCTION wfm.erlang_service_level(integer, double precision, double precision, double precision, double precision, double precision) FROM PUBLIC;
