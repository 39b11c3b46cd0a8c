-- wfm.import_error_message (first defined in sql/040_json_import_validation.sql).
-- Internal helper of wfm.stage_import_rows (inlined: no SET clause, single expression).
CREATE OR REPLACE FUNCTION wfm.import_error_message(p_column text, p_code text, p_raw text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT coalesce('column ' || p_column || ': ', '') || CASE p_code
    WHEN 'MISSING_VALUE'       THEN 'a value is required'
    WHEN 'INVALID_DATETIME'    THEN format('%s is not a date-time (DD.MM.YYYY HH:MM:SS, ISO 8601 or an Excel serial date)', quote_nullable(p_raw))
    WHEN 'MISALIGNED_INTERVAL' THEN format('%s is not the start of a 15-minute interval (:00, :15, :30, :45, 0 seconds)', quote_nullable(p_raw))
    WHEN 'INVALID_LOCAL_TIME'  THEN format('%s does not exist in the service''s time zone (daylight-saving gap)', quote_nullable(p_raw))
    WHEN 'NOT_INTEGER'         THEN format('%s is not a whole number', quote_nullable(p_raw))
    WHEN 'NEGATIVE_VALUE'      THEN format('%s is negative', quote_nullable(p_raw))
    WHEN 'OUT_OF_RANGE'        THEN format('%s is out of range', quote_nullable(p_raw))
    WHEN 'UNIQUE_EXCEEDS_NON_UNIQUE' THEN format('unique incoming calls %s exceed non-unique incoming calls; C must be >= B', quote_nullable(p_raw))
    WHEN 'DUPLICATE_INTERVAL'  THEN format('interval %s appears more than once with different values; all copies rejected', p_raw)
    WHEN 'DUPLICATE_ROW'       THEN format('interval %s is an exact copy of an earlier row; the first copy is kept', p_raw)
    WHEN 'UNKNOWN_SERVICE'     THEN format('service %s does not exist', quote_nullable(p_raw))
    WHEN 'UNKNOWN_GROUP'       THEN format('group %s does not exist in the row''s service', quote_nullable(p_raw))
    ELSE p_code
END
$$;
COMMENT ON FUNCTION wfm.import_error_message(text, text, text) IS
    'Internal: the readable message of an import error (column, rule, offending value).';
REVOKE ALL ON FUNCTION wfm.import_error_message(text, text, text) FROM PUBLIC;
