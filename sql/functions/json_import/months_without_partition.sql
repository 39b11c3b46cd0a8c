CREATE OR REPLACE FUNCTION wfm.months_without_partition(p_months timestamptz[]) RETURNS timestamptz[]
LANGUAGE sql STABLE
SET search_path = wfm, pg_catalog, pg_temp
AS $$
-- Attached monthly partitions (not guards) of both tables a JSON import writes: the history
-- first, then contact_statistics. wfm.partitions is a view: its catalog references were bound
-- when it was created, so no temporary table can stand in for them.
WITH parts AS MATERIALIZED (
    SELECT p.parent_table, p.range_start, p.range_end
    FROM wfm.partitions p
    WHERE NOT p.is_guard
      AND p.parent_table IN ('wfm.contact_statistics'::regclass, 'wfm.contact_statistics_history'::regclass)
)
SELECT coalesce(array_agg(DISTINCT m.month ORDER BY m.month), '{}')
FROM unnest(p_months) AS m(month)
WHERE m.month IS NOT NULL
  AND EXISTS (SELECT 1
              FROM (VALUES ('wfm.contact_statistics'::regclass), ('wfm.contact_statistics_history'::regclass)) t(tbl)
              WHERE NOT EXISTS (SELECT 1 FROM parts p
                                WHERE p.parent_table = t.tbl AND p.range_start <= m.month AND p.range_end > m.month))
$$;
COMMENT ON FUNCTION wfm.months_without_partition(timestamptz[]) IS
    'Internal: those of the given instants (month starts, UTC) whose month lacks an attached partition of wfm.contact_statistics or wfm.contact_statistics_history. Reads the catalog only; creates nothing.';
REVOKE ALL ON FUNCTION wfm.months_without_partition(timestamptz[]) FROM PUBLIC;
