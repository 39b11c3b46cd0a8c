-- log S(a, z), S = Σ_{j≥0} z^j / Π_{k=1..j} (a + k): the series of the Erlang A formulas (a scaled
-- lower incomplete gamma function), summed in log space by a running log-sum-exp so heavily
-- loaded intervals do not overflow (wfm_pipeline/forecasting/erlang.py, _log_s). Terms grow while
-- a + j < z and then fall faster than geometrically: 12·sqrt(z) past the peak leaves a relative
-- tail below 1e-16.
CREATE OR REPLACE FUNCTION wfm.erlang_log_series(p_a double precision, p_z double precision) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
    terms integer;
    log_z double precision;
    log_t double precision := 0.0;
    m double precision := 0.0;
    s double precision := 1.0;
BEGIN
    IF p_z <= 0 THEN
        RETURN 0.0;
    END IF;
    log_z := pg_catalog.ln(p_z);
    terms := pg_catalog.ceil(GREATEST(p_z - p_a, 0) + 12 * pg_catalog.sqrt(p_z) + 30)::integer;
    FOR j IN 1 .. terms LOOP
        log_t := log_t + log_z - pg_catalog.ln(p_a + j);
        IF log_t > m THEN
            s := s * (CASE WHEN m - log_t < -700 THEN 0.0 ELSE pg_catalog.exp(m - log_t) END) + 1.0;
            m := log_t;
        ELSIF log_t - m > -700 THEN
            s := s + pg_catalog.exp(log_t - m);
        END IF;
    END LOOP;
    RETURN m + pg_catalog.ln(s);
END
$$;
COMMENT ON FUNCTION wfm.erlang_log_series(double precision, double precision) IS
    'Internal: log of S(a, z) = sum over j >= 0 of z^j / ((a+1)...(a+j)), the series of the Erlang A formulas, summed in log space.';
REVOKE ALL ON FUNCTION wfm.erlang_log_series(double precision, double precision) FROM PUBLIC;
