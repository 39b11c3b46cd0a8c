-- wfm.contact_statistics_truncated: TRUNCATE has no transition table, so the aggregates forget
-- everything they materialized: readers aggregate raw rows until the next (full) refresh.

CREATE OR REPLACE FUNCTION wfm.contact_statistics_truncated() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE wfm.aggregates SET materialized_until = NULL, row_count = 0;
    DELETE FROM wfm.agg_hourly_stats;
    DELETE FROM wfm.agg_quarter_stats;
    DELETE FROM wfm.agg_daily_service_stats;
    DELETE FROM wfm.aggregate_changes;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION wfm.contact_statistics_truncated() IS
    'Trigger (AFTER TRUNCATE on contact_statistics): empties the aggregates and clears their watermark, so readers aggregate raw rows until the next refresh rebuilds them.';
REVOKE ALL ON FUNCTION wfm.contact_statistics_truncated() FROM PUBLIC;
