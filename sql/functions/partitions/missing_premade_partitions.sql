-- requires: functions/partitions/partitions.sql
-- The one definition of "a premade partition is missing" (moved from sql/011), shared by the
-- Dagster partition check (warehouse/partitions.py) and wfm.database_health_check(): the
-- window premake keeps, retention window back through premake_months ahead.
CREATE OR REPLACE VIEW wfm.missing_premade_partitions AS
SELECT c.table_name, m::date AS month
FROM wfm.partition_config c
CROSS JOIN LATERAL generate_series(
    date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => c.retention_months - 1),
    date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => c.premake_months),
    interval '1 month') AS m
-- Attached partitions, not names: a detached table keeps its name but serves no rows.
WHERE NOT EXISTS (
    SELECT 1 FROM wfm.partitions p
    WHERE p.parent_table = c.table_name AND NOT p.is_guard
      AND p.range_start <= m AT TIME ZONE 'UTC' AND p.range_end > m AT TIME ZONE 'UTC');
COMMENT ON VIEW wfm.missing_premade_partitions IS
    'Months (UTC) of the premade window - retention_months - 1 before the current one through premake_months ahead - that have no attached partition; empty when premake is healthy.';
