-- wfm.is_digits (first defined in sql/040_json_import_validation.sql).
-- Internal cell helper of wfm.stage_import_rows (inlined: no SET clause, single expression).
CREATE OR REPLACE FUNCTION wfm.is_digits(t text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT t <> '' AND ltrim(t, '0123456789') = '' $$;
COMMENT ON FUNCTION wfm.is_digits(text) IS
    'Internal (inlined): the text is one or more ASCII digits (ltrim is several times cheaper than a regex).';
REVOKE ALL ON FUNCTION wfm.is_digits(text) FROM PUBLIC;
