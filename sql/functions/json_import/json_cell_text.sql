-- Internal cell helper of wfm.stage_import_rows (inlined: no SET clause, single expression).
CREATE OR REPLACE FUNCTION wfm.json_cell_text(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
-- Python's str.strip() set (what the file reader strips from every text cell): ASCII white
-- space, the separators U+001C-U+001F, NEL, NBSP and the Unicode space separators.
SELECT nullif(btrim(t, E' \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000'), '')
$$;
COMMENT ON FUNCTION wfm.json_cell_text(text) IS
    'Internal (inlined): a JSON cell as the file reader sees a text cell: surrounding white space stripped (Python str.strip() set), NULL when nothing is left.';
REVOKE ALL ON FUNCTION wfm.json_cell_text(text) FROM PUBLIC;
