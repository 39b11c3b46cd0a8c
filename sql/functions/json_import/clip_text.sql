-- Internal helper of wfm.stage_import_rows (inlined: no SET clause, single expression).
CREATE OR REPLACE FUNCTION wfm.clip_text(t text, p_limit integer DEFAULT 200) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
-- As the file path's errors.clip: a value longer than p_limit characters is stored and printed
-- as its first p_limit characters plus '…(+N chars)'; a value clipped before is kept as is.
SELECT CASE WHEN t IS NULL OR pg_catalog.length(t) <= p_limit THEN t
            WHEN pg_catalog.substr(t, p_limit + 1) OPERATOR(pg_catalog.~) '^…\(\+[0-9]+ chars\)$' THEN t
            ELSE pg_catalog.substr(t, 1, p_limit) || '…(+' || (pg_catalog.length(t) - p_limit)::text || ' chars)' END
$$;
COMMENT ON FUNCTION wfm.clip_text(text, integer) IS
    'Internal (inlined): a value cut to p_limit characters (default 200) plus …(+N chars), idempotent; bounds what import errors store and return, as the file path does.';
REVOKE ALL ON FUNCTION wfm.clip_text(text, integer) FROM PUBLIC;
