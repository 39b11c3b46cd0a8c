-- wfm.view_freshness (first defined in sql/051_materialized_views.sql).
CREATE OR REPLACE VIEW wfm.view_freshness AS
SELECT format('%I.%I', n.nspname, c.relname) AS view_name,
       c.relispopulated   AS populated,
       last.started_at    AS last_refreshed_at,
       last.duration_ms   AS last_duration_ms,
       last.row_count     AS row_count,
       now() - last.started_at AS age
FROM wfm.materialized_views mv
JOIN pg_catalog.pg_class c ON c.oid = mv.view_name
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN LATERAL (
    SELECT l.started_at, l.duration_ms, l.row_count FROM wfm.view_refresh_history l
    WHERE l.view_name = format('%I.%I', n.nspname, c.relname) ORDER BY l.started_at DESC LIMIT 1
) last ON true;
COMMENT ON VIEW wfm.view_freshness IS 'Each materialized view: populated?, last refresh time, duration, rows and age (for health checks and Dagster metadata).';
GRANT SELECT ON wfm.view_freshness TO wfm_readonly;
