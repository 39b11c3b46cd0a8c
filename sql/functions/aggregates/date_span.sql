-- wfm.date_span: the days [p_from, p_to) as a multirange, empty when p_to <= p_from.
CREATE OR REPLACE FUNCTION wfm.date_span(p_from date, p_to date)
RETURNS datemultirange
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN p_from < p_to THEN datemultirange(daterange(p_from, p_to)) ELSE '{}'::datemultirange END
$$;
COMMENT ON FUNCTION wfm.date_span(date, date) IS
    'Internal: the days [p_from, p_to) as a datemultirange, empty when p_to <= p_from.';
REVOKE ALL ON FUNCTION wfm.date_span(date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.date_span(date, date) TO wfm_readonly;
