-- Caller patience for Erlang A (issue 13). Under exponential patience, every offered call waits
-- until it is answered or the caller gives up: an abandonment is an observed patience, an answer
-- a patience known only to exceed the wait (censored). The maximum-likelihood mean patience is
-- then the total time all offered calls waited divided by the number of abandonments.
CREATE OR REPLACE FUNCTION wfm.estimate_patience(p_service_id integer, p_start_time timestamptz,
                                                 p_end_time timestamptz)
RETURNS TABLE (mean_patience_seconds numeric, abandoned_calls bigint, offered_calls bigint,
               total_wait_seconds numeric)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    IF p_service_id IS NULL OR p_start_time IS NULL OR p_end_time IS NULL THEN
        RAISE EXCEPTION 'estimate_patience: p_service_id, p_start_time and p_end_time must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF p_end_time <= p_start_time THEN
        RAISE EXCEPTION 'estimate_patience: p_end_time (%) must be after p_start_time (%)', p_end_time, p_start_time
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_end_time - p_start_time > interval '400 days' THEN
        RAISE EXCEPTION 'estimate_patience: range % .. % is longer than 400 days', p_start_time, p_end_time
            USING ERRCODE = 'invalid_parameter_value', HINT = 'A few recent months describe today''s callers best.';
    END IF;
    PERFORM wfm.check_service_ids(ARRAY[p_service_id], 'p_service_id');
    RETURN QUERY
    SELECT pg_catalog.round(w.total / NULLIF(w.abandoned, 0), 2), w.abandoned, w.offered, w.total
    FROM (SELECT count(*) FILTER (WHERE c.outcome = 'abandoned') AS abandoned,
                 count(*) AS offered,
                 coalesce(pg_catalog.sum(EXTRACT(epoch FROM coalesce(c.answered_at, c.ended_at) - c.offered_at)), 0)
                     AS total
          FROM wfm.call_records c
          WHERE c.service_id = p_service_id AND c.offered_at >= p_start_time AND c.offered_at < p_end_time
            AND c.is_current AND c.outcome IN ('answered', 'abandoned')) w;
END
$$;
COMMENT ON FUNCTION wfm.estimate_patience(integer, timestamptz, timestamptz) IS
    'Maximum-likelihood mean caller patience (exponential patience, answered calls censored) from the current call records of a service offered in [p_start_time, p_end_time) (at most 400 days): total wait of every offered call (answered or abandoned) / abandonments. NULL mean when nobody abandoned. For Erlang A: services.patience_seconds (wfm services set-patience --from-calls).';
REVOKE ALL ON FUNCTION wfm.estimate_patience(integer, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.estimate_patience(integer, timestamptz, timestamptz) TO wfm_api, wfm_etl;
