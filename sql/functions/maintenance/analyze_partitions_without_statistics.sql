-- wfm.analyze_partitions_without_statistics: planner statistics for month partitions that have
-- none, before a statement that joins them (session 9).
--
-- A month partition has no column statistics until its first ANALYZE (autovacuum's, up to a
-- naptime after 50 + 10 % of its rows changed, or wfm.analyze_touched_partitions after an
-- import). Until then the planner takes default selectivities: for the call-record apply's join
-- of a batch's calls with the month's earlier versions (same service and call_id) it estimated
-- one row on each side and chose the (service_id, offered_at) index with call_id as a filter,
-- so every new call scanned all the service's calls of the month: the second 20,000-call file
-- of a fresh month took 182 s instead of 2 s (and grows with the square of the file). The
-- statistics that fix the choice are any at all (call_id then looks unique).
--
-- ANALYZE runs in the caller's transaction and samples its own uncommitted rows too. It holds
-- the partition's SHARE UPDATE EXCLUSIVE lock until the transaction ends, so a concurrent load
-- of the same month waits for it here, once per partition: it too needs the statistics, which
-- become visible to it when this transaction commits. Returns the partitions analyzed.
CREATE OR REPLACE FUNCTION wfm.analyze_partitions_without_statistics(
    p_table regclass,
    p_from timestamptz,
    p_to timestamptz
) RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER  -- ANALYZE needs the table owner
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_part     regclass;
    v_analyzed integer := 0;
BEGIN
    FOR v_part IN
        -- the months' partitions by name (wfm.partition_name), not the wfm.partitions view: that
        -- parses the bounds of every partition of every table, and this runs in each apply that
        -- meets earlier batches
        SELECT pg_catalog.to_regclass('wfm.' || n.name)
        FROM pg_catalog.generate_series(pg_catalog.date_trunc('month', p_from AT TIME ZONE 'UTC'),
                                        p_to AT TIME ZONE 'UTC' - interval '1 microsecond',
                                        interval '1 month') AS m(month)
        CROSS JOIN LATERAL (SELECT wfm.partition_name(p_table, m.month::date) AS name) AS n
        WHERE pg_catalog.to_regclass('wfm.' || n.name) IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stats s   -- readable by an owner that is no superuser
                          WHERE s.schemaname = 'wfm' AND s.tablename = n.name)
        ORDER BY m.month
    LOOP
        EXECUTE pg_catalog.format('ANALYZE %s', v_part);
        v_analyzed := v_analyzed + 1;
    END LOOP;
    RETURN v_analyzed;
END
$$;
COMMENT ON FUNCTION wfm.analyze_partitions_without_statistics(regclass, timestamptz, timestamptz) IS
    'Internal: ANALYZE the month partitions of p_table overlapping [p_from, p_to) that have no column statistics yet (never analyzed, or analyzed while empty), in the caller''s transaction, so a join over them is not planned with default selectivities. Returns the number analyzed.';
REVOKE ALL ON FUNCTION wfm.analyze_partitions_without_statistics(regclass, timestamptz, timestamptz) FROM PUBLIC;
