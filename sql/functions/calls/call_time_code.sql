-- Internal cell helper of wfm.stage_call_records (inlined: no SET clause, single expression).
CREATE OR REPLACE FUNCTION wfm.call_time_code(p_raw text, p_instant timestamptz, p_local timestamp, p_zone text)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
SELECT CASE
    WHEN p_raw IS NULL THEN NULL   -- blank: the caller decides whether the time is required
    WHEN p_instant IS NOT NULL THEN
        CASE WHEN p_instant < timestamptz '1678-01-01 00:00+00' OR p_instant >= timestamptz '2262-01-01 00:00+00'
             THEN 'INVALID_DATETIME' END
    WHEN p_local IS NULL OR p_local < timestamp '1678-01-01' OR p_local >= timestamp '2262-01-01' THEN 'INVALID_DATETIME'
    -- a wall-clock time the zone skips (daylight-saving gap) does not come back unchanged
    WHEN p_zone IS NOT NULL AND (p_local AT TIME ZONE p_zone) AT TIME ZONE p_zone <> p_local THEN 'INVALID_LOCAL_TIME'
END
$$;
COMMENT ON FUNCTION wfm.call_time_code(text, timestamptz, timestamp, text) IS
    'Internal (inlined): error code of a call-record time cell (NULL = fine or blank): INVALID_DATETIME (not a date-time, years outside 1678-2261), INVALID_LOCAL_TIME (a wall-clock time in the daylight-saving gap of p_zone).';
REVOKE ALL ON FUNCTION wfm.call_time_code(text, timestamptz, timestamp, text) FROM PUBLIC;
