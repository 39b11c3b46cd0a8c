-- wfm.earliest_instant_of_local (first defined in sql/040_json_import_validation.sql).
-- Internal cell helper of wfm.stage_import_rows (inlined: no SET clause, single expression).
CREATE OR REPLACE FUNCTION wfm.earliest_instant_of_local(p_local timestamp, p_zone text) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
-- PostgreSQL resolves an ambiguous wall-clock time (DST fall-back) to the later instant. The
-- earlier one, if any, uses the UTC offset in force a day before (or after) that instant.
SELECT least(
    p_local AT TIME ZONE p_zone,
    CASE WHEN ((p_local - (((p_local AT TIME ZONE p_zone) - interval '1 day') AT TIME ZONE p_zone
                           - ((p_local AT TIME ZONE p_zone) - interval '1 day') AT TIME ZONE 'UTC'))
               AT TIME ZONE 'UTC') AT TIME ZONE p_zone = p_local
         THEN (p_local - (((p_local AT TIME ZONE p_zone) - interval '1 day') AT TIME ZONE p_zone
                          - ((p_local AT TIME ZONE p_zone) - interval '1 day') AT TIME ZONE 'UTC'))
              AT TIME ZONE 'UTC' END,
    CASE WHEN ((p_local - (((p_local AT TIME ZONE p_zone) + interval '1 day') AT TIME ZONE p_zone
                           - ((p_local AT TIME ZONE p_zone) + interval '1 day') AT TIME ZONE 'UTC'))
               AT TIME ZONE 'UTC') AT TIME ZONE p_zone = p_local
         THEN (p_local - (((p_local AT TIME ZONE p_zone) + interval '1 day') AT TIME ZONE p_zone
                          - ((p_local AT TIME ZONE p_zone) + interval '1 day') AT TIME ZONE 'UTC'))
              AT TIME ZONE 'UTC' END)
$$;
COMMENT ON FUNCTION wfm.earliest_instant_of_local(timestamp, text) IS
    'Internal (inlined): the earliest instant whose wall-clock time in p_zone is p_local (differs from p_local AT TIME ZONE p_zone only for an ambiguous fall-back time).';
REVOKE ALL ON FUNCTION wfm.earliest_instant_of_local(timestamp, text) FROM PUBLIC;
