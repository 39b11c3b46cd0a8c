-- wfm.log_changed_ranges: the change log for writers that bypass the triggers on
-- wfm.contact_statistics: retention (DETACH PARTITION), ATTACH of a filled table, writes
-- straight into a partition. Logs every local day of each service that overlaps
-- [p_from, p_to), each with the whole changed span of UTC hours (a superset is always safe: it
-- costs a larger recompute, never a wrong read).

CREATE OR REPLACE FUNCTION wfm.log_changed_ranges(
    p_service_ids integer[], p_from timestamptz, p_to timestamptz, p_source text DEFAULT 'manual')
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_rows integer;
BEGIN
    IF p_from IS NULL OR p_to IS NULL OR p_source IS NULL THEN
        RAISE EXCEPTION 'log_changed_ranges: p_from, p_to and p_source must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT (isfinite(p_from) AND isfinite(p_to)) OR p_to <= p_from THEN
        RAISE EXCEPTION 'log_changed_ranges: [%, %) is not a finite, non-empty range', p_from, p_to
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'To rebuild everything run SELECT * FROM wfm.refresh_aggregates(p_full => true);';
    END IF;
    INSERT INTO wfm.aggregate_changes (service_id, stat_date, range_start, range_end, source)
    SELECT s.service_id, d.day::date,
           date_bin(interval '1 hour', p_from, timestamptz '2000-01-01 00:00:00+00'),
           date_bin(interval '1 hour', p_to + interval '59 minutes 59.999999 seconds',
                    timestamptz '2000-01-01 00:00:00+00'),
           p_source
    FROM wfm.services s
    CROSS JOIN LATERAL generate_series((p_from AT TIME ZONE s.time_zone)::date::timestamp,
                                       ((p_to - interval '1 microsecond') AT TIME ZONE s.time_zone)::date::timestamp,
                                       interval '1 day') AS d(day)
    WHERE p_service_ids IS NULL OR s.service_id = ANY (p_service_ids);
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_rows;
END
$$;
COMMENT ON FUNCTION wfm.log_changed_ranges(integer[], timestamptz, timestamptz, text) IS
    'Records that the data of the given services (NULL = all) in [p_from, p_to) changed, for write paths the triggers on contact_statistics do not see (DETACH/ATTACH PARTITION, writes straight into a partition). Call it in the writing transaction. Returns the log rows written (one per service and local day).';
REVOKE ALL ON FUNCTION wfm.log_changed_ranges(integer[], timestamptz, timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.log_changed_ranges(integer[], timestamptz, timestamptz, text) TO wfm_etl;
