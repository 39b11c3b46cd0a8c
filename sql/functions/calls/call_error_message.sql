-- Internal: the readable message of a call-record row error (JSON path; the file path words its
-- own in wfm_pipeline/calls/validate.py). Codes are what the conformance test compares.
CREATE OR REPLACE FUNCTION wfm.call_error_message(p_column text, p_code text, p_raw text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT coalesce('field ' || p_column || ': ', '') || CASE p_code
    WHEN 'MISSING_VALUE'           THEN 'a value is required'
    WHEN 'INVALID_DATETIME'        THEN pg_catalog.format('%s is not a date-time (DD.MM.YYYY HH:MM:SS or ISO 8601, years 1678-2261)', pg_catalog.quote_nullable(p_raw))
    WHEN 'INVALID_LOCAL_TIME'      THEN pg_catalog.format('%s does not exist in the service''s time zone (daylight-saving gap)', pg_catalog.quote_nullable(p_raw))
    WHEN 'NOT_INTEGER'             THEN pg_catalog.format('%s is not a whole number', pg_catalog.quote_nullable(p_raw))
    WHEN 'NEGATIVE_VALUE'          THEN pg_catalog.format('%s is negative', pg_catalog.quote_nullable(p_raw))
    WHEN 'OUT_OF_RANGE'            THEN pg_catalog.format('%s is out of range (text at most 100 characters, wrap-up at most 86400 seconds)', pg_catalog.quote_nullable(p_raw))
    WHEN 'INVALID_OUTCOME'         THEN pg_catalog.format('%s is not an outcome (answered, abandoned or other)', pg_catalog.quote_nullable(p_raw))
    WHEN 'OUTCOME_CONFLICT'        THEN pg_catalog.format('%s is set but the outcome is abandoned', pg_catalog.quote_nullable(p_raw))
    WHEN 'ANSWERED_BEFORE_OFFERED' THEN pg_catalog.format('%s is before offered_at', pg_catalog.quote_nullable(p_raw))
    WHEN 'ENDED_BEFORE_ANSWERED'   THEN pg_catalog.format('%s is before answered_at', pg_catalog.quote_nullable(p_raw))
    WHEN 'ENDED_BEFORE_OFFERED'    THEN pg_catalog.format('%s is before offered_at', pg_catalog.quote_nullable(p_raw))
    WHEN 'TALK_TOO_LONG'           THEN pg_catalog.format('%s: the talk is longer than 24 hours', pg_catalog.quote_nullable(p_raw))
    WHEN 'WAIT_TOO_LONG'           THEN pg_catalog.format('%s: the wait in the queue is longer than 24 hours', pg_catalog.quote_nullable(p_raw))
    WHEN 'UNKNOWN_SERVICE'         THEN pg_catalog.format('service %s does not exist', pg_catalog.quote_nullable(p_raw))
    WHEN 'UNKNOWN_GROUP'           THEN pg_catalog.format('group %s does not exist in the row''s service', pg_catalog.quote_nullable(p_raw))
    WHEN 'DUPLICATE_CALL_ID'       THEN pg_catalog.format('call %s appears more than once with different values; all copies are rejected', pg_catalog.quote_nullable(p_raw))
    WHEN 'DUPLICATE_ROW'           THEN pg_catalog.format('call %s is an exact copy of an earlier row; the first copy is kept', pg_catalog.quote_nullable(p_raw))
    ELSE p_code
END
$$;
COMMENT ON FUNCTION wfm.call_error_message(text, text, text) IS
    'Internal: the readable message of a call-record import error (field, rule, offending value).';
REVOKE ALL ON FUNCTION wfm.call_error_message(text, text, text) FROM PUBLIC;
