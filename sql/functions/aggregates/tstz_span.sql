-- wfm.tstz_span: [p_from, p_to) as a multirange, empty when p_to <= p_from (tstzrange() raises
-- on a reversed pair, and the real-time reads compute many spans that may be empty).
CREATE OR REPLACE FUNCTION wfm.tstz_span(p_from timestamptz, p_to timestamptz)
RETURNS tstzmultirange
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN p_from < p_to THEN tstzmultirange(tstzrange(p_from, p_to)) ELSE '{}'::tstzmultirange END
$$;
COMMENT ON FUNCTION wfm.tstz_span(timestamptz, timestamptz) IS
    'Internal: [p_from, p_to) as a tstzmultirange, empty when p_to <= p_from.';
REVOKE ALL ON FUNCTION wfm.tstz_span(timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.tstz_span(timestamptz, timestamptz) TO wfm_readonly;
