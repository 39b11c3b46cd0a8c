-- Monthly range partitions (UTC months) for the time-series tables, created ahead of time
-- (premake, as pg_partman does) and on demand by every import path. No DEFAULT partition:
-- instead every range without a partition is covered by an empty "guard" partition whose
-- trigger rejects a row with an error that names the missing month. The view wfm.partitions
-- and the partition functions live in sql/functions/partitions/.

CREATE TABLE wfm.partition_config (
    table_name         regclass PRIMARY KEY,
    premake_months     integer NOT NULL DEFAULT 3 CHECK (premake_months BETWEEN 1 AND 60),
    retention_months   integer NOT NULL DEFAULT 13 CHECK (retention_months >= 1),
    retention_enabled  boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE wfm.partition_config IS 'The monthly-partitioned tables and their premake and retention settings.';
COMMENT ON COLUMN wfm.partition_config.table_name IS 'Partitioned parent table.';
COMMENT ON COLUMN wfm.partition_config.premake_months IS 'Months ahead of the current one that must always exist.';
COMMENT ON COLUMN wfm.partition_config.retention_months IS 'Months kept when retention is enabled; older partitions are detached, never dropped.';
COMMENT ON COLUMN wfm.partition_config.retention_enabled IS 'Retention is off unless switched on here.';
