-- Issue 15 (session 6): p_header_rows, elements that are not rows (the compact form's header).
DROP FUNCTION IF EXISTS wfm.check_payload_limits(jsonb, text);
CREATE OR REPLACE FUNCTION wfm.check_payload_limits(p_data jsonb, p_param text, p_header_rows integer DEFAULT 0)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = wfm, pg_catalog, pg_temp
AS $$
-- O(1) checks on the jsonb datum (its size and the array header's element count): they run
-- before any function expands the rows (jsonb_array_elements, staging arrays), which is what
-- costs memory (an 85 MB payload took 1.8 GB of backend memory).
DECLARE
    v_max_rows  integer;
    v_max_bytes bigint;
    v_rows      integer;
    v_bytes     bigint;
BEGIN
    SELECT l.max_rows_per_call, l.max_bytes_per_call INTO v_max_rows, v_max_bytes
    FROM wfm.api_write_limits l WHERE l.singleton;
    v_max_rows := coalesce(v_max_rows, 50000);
    v_max_bytes := coalesce(v_max_bytes, 20971520);
    v_bytes := pg_catalog.pg_column_size(p_data);
    IF pg_catalog.pg_column_compression(p_data) IS NOT NULL THEN
        -- a compressed value (e.g. read from a temporary table): measure what it expands to
        v_bytes := pg_catalog.octet_length(p_data::text);
    END IF;
    IF v_bytes > v_max_bytes THEN
        RAISE EXCEPTION '% is % bytes; one call may send at most % bytes', p_param, v_bytes, v_max_bytes
            USING ERRCODE = 'program_limit_exceeded',
                  HINT = format('Split the rows into several calls of at most %s rows and %s MB each; '
                                'the limits are in wfm.api_write_limits (changed by the schema owner).',
                                v_max_rows, round(v_max_bytes / 1048576.0, 1));
    END IF;
    v_rows := pg_catalog.jsonb_array_length(p_data) - p_header_rows;
    IF v_rows > v_max_rows THEN
        RAISE EXCEPTION '% has % rows; one call may send at most % rows', p_param, v_rows, v_max_rows
            USING ERRCODE = 'program_limit_exceeded',
                  HINT = format('Split the rows into several calls of at most %s rows and %s MB each; '
                                'the limits are in wfm.api_write_limits (changed by the schema owner).',
                                v_max_rows, round(v_max_bytes / 1048576.0, 1));
    END IF;
END
$$;
COMMENT ON FUNCTION wfm.check_payload_limits(jsonb, text, integer) IS
    'Internal: raises program_limit_exceeded (54000) with a HINT when a JSON array payload exceeds wfm.api_write_limits (rows: its elements but p_header_rows, e.g. the header of the compact form; or bytes); O(1), before any row is expanded.';
REVOKE ALL ON FUNCTION wfm.check_payload_limits(jsonb, text, integer) FROM PUBLIC;
