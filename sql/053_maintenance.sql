-- Maintenance run by the Dagster schedules (and by hand): statistics of the partitioned
-- parents and retention. Retention DETACHES old partitions into schema wfm_archive (never
-- drops them); an operator drops or dumps them deliberately.
-- The functions live in sql/functions/maintenance/ since release 0.2.

CREATE SCHEMA IF NOT EXISTS wfm_archive;
COMMENT ON SCHEMA wfm_archive IS
    'Partitions detached by retention (wfm.detach_expired_partitions): kept intact, no longer read by the API; drop or dump them deliberately.';
REVOKE ALL ON SCHEMA wfm_archive FROM PUBLIC;

CREATE TABLE wfm.detached_partitions (
    detached_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parent_table    text NOT NULL,
    partition_name  text NOT NULL,
    archived_as     text NOT NULL,
    range_start     timestamptz NOT NULL,
    range_end       timestamptz NOT NULL,
    estimated_rows  bigint,
    detached_at     timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE wfm.detached_partitions IS 'Audit of retention: every partition detached from a wfm table and where it was moved.';
COMMENT ON COLUMN wfm.detached_partitions.detached_id IS 'Surrogate key.';
COMMENT ON COLUMN wfm.detached_partitions.parent_table IS 'Partitioned table it belonged to.';
COMMENT ON COLUMN wfm.detached_partitions.partition_name IS 'Its name while attached.';
COMMENT ON COLUMN wfm.detached_partitions.archived_as IS 'Schema-qualified name of the detached table now (in wfm_archive).';
COMMENT ON COLUMN wfm.detached_partitions.range_start IS 'Start of its range (inclusive).';
COMMENT ON COLUMN wfm.detached_partitions.range_end IS 'End of its range (exclusive).';
COMMENT ON COLUMN wfm.detached_partitions.estimated_rows IS 'pg_class.reltuples when detached.';
COMMENT ON COLUMN wfm.detached_partitions.detached_at IS 'When it was detached.';
