-- wfm.fast_path_bail (first defined in sql/041_json_import_runner.sql).
CREATE OR REPLACE FUNCTION wfm.fast_path_bail(p_type anyelement) RETURNS anyelement
LANGUAGE plpgsql VOLATILE  -- never constant-folded at plan time
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'row needs the full validator' USING ERRCODE = 'WFMFP';
END
$$;
COMMENT ON FUNCTION wfm.fast_path_bail(anyelement) IS
    'Internal: raises (SQLSTATE WFMFP) to abandon the API fast path for a row only the full validator can judge.';
REVOKE ALL ON FUNCTION wfm.fast_path_bail(anyelement) FROM PUBLIC;
