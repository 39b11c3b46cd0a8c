-- wfm.view_freshness (first defined in sql/051_materialized_views.sql; over wfm.aggregates since
-- sql/200): each aggregate behind a reader view, its watermark, last refresh and backlog.
CREATE OR REPLACE VIEW wfm.view_freshness AS
SELECT a.view_name,
       a.materialized_until IS NOT NULL AS populated,
       last.started_at    AS last_refreshed_at,
       last.duration_ms   AS last_duration_ms,
       a.row_count        AS row_count,
       now() - last.started_at AS age,
       a.materialized_until,
       (SELECT count(*) FROM wfm.aggregate_changes) AS pending_changes
FROM wfm.aggregates a
LEFT JOIN LATERAL (
    SELECT l.started_at, l.duration_ms FROM wfm.view_refresh_history l
    WHERE l.view_name = a.view_name ORDER BY l.started_at DESC LIMIT 1
) last ON true;
COMMENT ON VIEW wfm.view_freshness IS
    'Each aggregate (by its reader view): built yet?, last refresh time, duration, rows, age, watermark (materialized up to) and change-log rows waiting for the next refresh (for health checks, Dagster metadata, `wfm views status`).';
GRANT SELECT ON wfm.view_freshness TO wfm_readonly;
