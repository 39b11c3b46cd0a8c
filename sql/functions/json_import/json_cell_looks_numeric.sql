-- Internal cell helper of wfm.stage_import_rows (inlined: no SET clause, single expression).
CREATE OR REPLACE FUNCTION wfm.json_cell_looks_numeric(t text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
-- The file reader's "looks like a count" (wfm_pipeline/argus/reader.py _looks_like_number):
-- decimal digits with an optional sign and one decimal point or comma, white space ignored
-- (Python's str.split() set, as in wfm.json_cell_text).
SELECT pg_catalog.translate(t, E' \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000', '')
       OPERATOR(pg_catalog.~) '^[+-]?([0-9]+([.,][0-9]*)?|[.,][0-9]+)$'
   AND pg_catalog.length(t) <= 40
$$;
COMMENT ON FUNCTION wfm.json_cell_looks_numeric(text) IS
    'Internal (inlined): whether a cell looks like a count (decimal digits, optional sign, one decimal point or comma, white space ignored), as the file reader decides that a row above the first date row is a data row and not a header.';
REVOKE ALL ON FUNCTION wfm.json_cell_looks_numeric(text) FROM PUBLIC;
