-- wfm.partitions (first defined in sql/005_partition_management.sql): real partitions and
-- guards of each partitioned table, with their bounds. Read by the partition functions
-- (sql/functions/partitions/) and wfm.missing_premade_partitions.
CREATE OR REPLACE VIEW wfm.partitions AS
SELECT parent.oid::regclass                                    AS parent_table,
       child.oid::regclass                                     AS partition,
       child.relname                                           AS partition_name,
       child.relname ~ '_nopart_[0-9]+$'                       AS is_guard,
       CASE WHEN bound.lo = 'MINVALUE' THEN NULL ELSE bound.lo::timestamptz END AS range_start,
       CASE WHEN bound.hi = 'MAXVALUE' THEN NULL ELSE bound.hi::timestamptz END AS range_end,
       child.reltuples::bigint                                 AS estimated_rows
FROM pg_catalog.pg_partitioned_table pt
JOIN pg_catalog.pg_class parent ON parent.oid = pt.partrelid
JOIN pg_catalog.pg_namespace ns ON ns.oid = parent.relnamespace AND ns.nspname = 'wfm'
JOIN pg_catalog.pg_inherits inh ON inh.inhparent = parent.oid
JOIN pg_catalog.pg_class child ON child.oid = inh.inhrelid
CROSS JOIN LATERAL (
    SELECT (regexp_match(pg_get_expr(child.relpartbound, child.oid),
                         'FROM \(''?([^'')]+)''?\) TO \(''?([^'')]+)''?\)'))[1] AS lo,
           (regexp_match(pg_get_expr(child.relpartbound, child.oid),
                         'FROM \(''?([^'')]+)''?\) TO \(''?([^'')]+)''?\)'))[2] AS hi
) bound;
COMMENT ON VIEW wfm.partitions IS 'Partitions of the wfm partitioned tables with their ranges; is_guard marks the empty guards covering months without a partition.';
COMMENT ON COLUMN wfm.partitions.parent_table IS 'The partitioned table (one of wfm.partition_config).';
COMMENT ON COLUMN wfm.partitions.partition IS 'The partition (or guard) attached to it.';
COMMENT ON COLUMN wfm.partitions.partition_name IS 'Its name: <table>_YYYY_MM for a month, <table>_nopart_<n> for a guard.';
COMMENT ON COLUMN wfm.partitions.is_guard IS 'True for a guard: an always-empty partition covering months without one, whose trigger rejects rows.';
COMMENT ON COLUMN wfm.partitions.range_start IS 'First instant of the range (inclusive); NULL = unbounded (MINVALUE).';
COMMENT ON COLUMN wfm.partitions.range_end IS 'End of the range (exclusive); NULL = unbounded (MAXVALUE).';
COMMENT ON COLUMN wfm.partitions.estimated_rows IS 'Planner estimate of the rows (pg_class.reltuples; -1 = never analyzed).';
