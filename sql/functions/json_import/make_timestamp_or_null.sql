-- wfm.make_timestamp_or_null (first defined in sql/040_json_import_validation.sql).
-- Internal cell helper of wfm.stage_import_rows (inlined: no SET clause, single expression).
CREATE OR REPLACE FUNCTION wfm.make_timestamp_or_null(p_y integer, p_m integer, p_d integer,
                                           p_h integer, p_mi integer, p_s numeric)
RETURNS timestamp
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT CASE WHEN p_y BETWEEN 1 AND 9999 AND p_m BETWEEN 1 AND 12 AND p_d BETWEEN 1 AND 31
             AND p_h BETWEEN 0 AND 23 AND p_mi BETWEEN 0 AND 59 AND p_s >= 0 AND p_s < 60 THEN
    CASE WHEN p_d <= 28 OR p_d <= extract(day FROM make_date(p_y, p_m, 1) + interval '1 month - 1 day')
         THEN make_timestamp(p_y, p_m, p_d, p_h, p_mi, p_s::double precision) END
END
$$;
COMMENT ON FUNCTION wfm.make_timestamp_or_null(integer, integer, integer, integer, integer, numeric) IS
    'Internal (inlined): make_timestamp that returns NULL instead of raising for an impossible date or time (31.02., 24:00, ...).';
REVOKE ALL ON FUNCTION wfm.make_timestamp_or_null(integer, integer, integer, integer, integer, numeric) FROM PUBLIC;
