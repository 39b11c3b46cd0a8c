-- wfm.whole_hours: the whole UTC hours inside a multirange (each range shrunk to its hour
-- boundaries): what the hourly aggregate can serve of a span whose ends are local midnights
-- of a +05:30 zone or arbitrary query bounds.
CREATE OR REPLACE FUNCTION wfm.whole_hours(p_span tstzmultirange)
RETURNS tstzmultirange
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT coalesce(range_agg(tstzrange(h.lo, h.hi)), '{}'::tstzmultirange)
    FROM unnest(p_span) AS r
    CROSS JOIN LATERAL (
        SELECT date_bin(interval '1 hour', coalesce(lower(r), '-infinity') + interval '59 minutes 59.999999 seconds',
                        timestamptz '2000-01-01 00:00:00+00') AS lo,
               date_bin(interval '1 hour', coalesce(upper(r), 'infinity'), timestamptz '2000-01-01 00:00:00+00') AS hi
    ) h
    WHERE h.lo < h.hi
$$;
COMMENT ON FUNCTION wfm.whole_hours(tstzmultirange) IS
    'Internal: the whole UTC hours inside p_span (every range shrunk inwards to hour boundaries).';
REVOKE ALL ON FUNCTION wfm.whole_hours(tstzmultirange) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.whole_hours(tstzmultirange) TO wfm_readonly;
