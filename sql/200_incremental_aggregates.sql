-- requires: functions/aggregates/contact_statistics_log_changes.sql
-- requires: functions/aggregates/contact_statistics_truncated.sql
-- requires: functions/aggregates/services_time_zone_changed.sql
-- Issue 15: aggregates that scale with change, not with history.
--
-- The two materialized views of sql/051 (re-created with handled_calls by sql/121) were
-- recomputed in full on every refresh (13 months at 7.6 M rows: 8-12 s each, whatever changed).
-- They become tables maintained by the product:
--
--   wfm.agg_hourly_stats, wfm.agg_daily_service_stats   the materialized part (same rows the
--                        views held), complete for everything before the watermark
--   wfm.aggregates       per reader view: the watermark (materialized_until), row count, times
--   wfm.aggregate_changes  the change log: every write to wfm.contact_statistics records the
--                        (service, local day) it touched and the UTC hours, in the same
--                        transaction (statement-level triggers below: every present and future
--                        write path through the parent table gets it for free)
--
-- wfm.refresh_aggregates() consumes the log and recomputes only the logged days and hours plus
-- the hours between the old and the new watermark. The reader names stay: wfm.mv_hourly_stats
-- and wfm.mv_daily_service_stats are now plain views (sql/functions/views/) that combine the
-- tables, up to the watermark and without pending changes, with raw rows for the rest, so they
-- are always current and equal to aggregating contact_statistics.

DROP VIEW IF EXISTS wfm.view_freshness;   -- re-created over wfm.aggregates by sql/functions/views/view_freshness.sql
DROP MATERIALIZED VIEW wfm.mv_daily_service_stats;
DROP MATERIALIZED VIEW wfm.mv_hourly_stats;
DROP TABLE wfm.materialized_views;        -- replaced by wfm.aggregates

CREATE TABLE wfm.agg_hourly_stats (
    service_id                 integer NOT NULL,
    hour_start                 timestamptz NOT NULL,
    intervals                  integer NOT NULL,
    source_rows                bigint NOT NULL,
    unique_incoming            bigint,
    non_unique_incoming        bigint,
    talk_time_total            bigint,
    post_processing_time_total bigint,
    answered_calls             bigint,
    sl_offered_calls           bigint,
    answered_within_sl         bigint,
    abandon_offered_calls      bigint,
    abandoned_calls            bigint,
    sl_threshold_seconds       integer,
    last_loaded_at             timestamptz,
    handled_calls              bigint,
    local_hour_aligned         boolean NOT NULL,
    CONSTRAINT agg_hourly_stats_key PRIMARY KEY (service_id, hour_start)
);
COMMENT ON TABLE wfm.agg_hourly_stats IS
    'Materialized part of wfm.mv_hourly_stats: per service and UTC hour before the watermark (wfm.aggregates), additive totals; maintained by wfm.refresh_aggregates(). Read wfm.mv_hourly_stats (always current), not this table.';
COMMENT ON COLUMN wfm.agg_hourly_stats.service_id IS 'Service.';
COMMENT ON COLUMN wfm.agg_hourly_stats.hour_start IS 'Start of the UTC hour.';
COMMENT ON COLUMN wfm.agg_hourly_stats.intervals IS '15-minute intervals with data in the hour (1..4).';
COMMENT ON COLUMN wfm.agg_hourly_stats.source_rows IS 'contact_statistics rows aggregated.';
COMMENT ON COLUMN wfm.agg_hourly_stats.unique_incoming IS 'Unique incoming calls.';
COMMENT ON COLUMN wfm.agg_hourly_stats.non_unique_incoming IS 'Non-unique incoming (offered) calls.';
COMMENT ON COLUMN wfm.agg_hourly_stats.talk_time_total IS 'Talk seconds (avg_talk_time x handled calls, summed).';
COMMENT ON COLUMN wfm.agg_hourly_stats.post_processing_time_total IS 'Post-processing seconds.';
COMMENT ON COLUMN wfm.agg_hourly_stats.answered_calls IS 'Answered calls where known.';
COMMENT ON COLUMN wfm.agg_hourly_stats.sl_offered_calls IS 'Offered calls of rows that know answered_within_sl (SL denominator).';
COMMENT ON COLUMN wfm.agg_hourly_stats.answered_within_sl IS 'Answered within the SL threshold, where known.';
COMMENT ON COLUMN wfm.agg_hourly_stats.abandon_offered_calls IS 'Offered calls of rows that know abandoned_calls.';
COMMENT ON COLUMN wfm.agg_hourly_stats.abandoned_calls IS 'Abandoned calls, where known.';
COMMENT ON COLUMN wfm.agg_hourly_stats.sl_threshold_seconds IS 'SL threshold (the largest when rows differ).';
COMMENT ON COLUMN wfm.agg_hourly_stats.last_loaded_at IS 'Newest loaded_at of the source rows.';
COMMENT ON COLUMN wfm.agg_hourly_stats.handled_calls IS 'Calls the averages are per (answered where known, else offered: sql/121); avg talk = talk_time_total / handled_calls.';
COMMENT ON COLUMN wfm.agg_hourly_stats.local_hour_aligned IS
    'The hour''s four intervals fall into one wall-clock hour of the service''s time zone (false for +05:30 zones and inside some DST switches): only then can local 8/12/24-hour buckets be summed from this row.';
-- The reads of local buckets look up the hours that are not (Asia/Kolkata, Lord Howe's DST).
CREATE INDEX agg_hourly_stats_unaligned_idx ON wfm.agg_hourly_stats (service_id, hour_start)
    WHERE NOT local_hour_aligned;
COMMENT ON INDEX wfm.agg_hourly_stats_unaligned_idx IS
    'Hours that do not fall into one local hour: what local-day buckets of api_get_calls_by_interval must read raw.';

CREATE TABLE wfm.agg_daily_service_stats (
    service_id                 integer NOT NULL,
    group_id                   integer,
    stat_date                  date NOT NULL,
    intervals                  integer NOT NULL,
    source_rows                bigint NOT NULL,
    unique_incoming            bigint,
    non_unique_incoming        bigint,
    talk_time_total            bigint,
    post_processing_time_total bigint,
    answered_calls             bigint,
    sl_offered_calls           bigint,
    answered_within_sl         bigint,
    abandon_offered_calls      bigint,
    abandoned_calls            bigint,
    sl_threshold_seconds       integer,
    peak_interval_start        timestamptz,
    peak_non_unique_incoming   bigint,
    last_loaded_at             timestamptz,
    handled_calls              bigint,
    CONSTRAINT agg_daily_service_stats_key UNIQUE NULLS NOT DISTINCT (service_id, stat_date, group_id)
);
COMMENT ON TABLE wfm.agg_daily_service_stats IS
    'Materialized part of wfm.mv_daily_service_stats: per service (group_id NULL) and group, per local day that ended before the watermark; maintained by wfm.refresh_aggregates(). Read wfm.mv_daily_service_stats (always current), not this table.';
COMMENT ON COLUMN wfm.agg_daily_service_stats.service_id IS 'Service.';
COMMENT ON COLUMN wfm.agg_daily_service_stats.group_id IS 'Group; NULL = the service total (service-level row per interval when present, else the sum of groups).';
COMMENT ON COLUMN wfm.agg_daily_service_stats.stat_date IS 'Calendar day in the service''s time zone.';
COMMENT ON COLUMN wfm.agg_daily_service_stats.intervals IS '15-minute intervals with data.';
COMMENT ON COLUMN wfm.agg_daily_service_stats.source_rows IS 'contact_statistics rows aggregated.';
COMMENT ON COLUMN wfm.agg_daily_service_stats.unique_incoming IS 'Unique incoming calls.';
COMMENT ON COLUMN wfm.agg_daily_service_stats.non_unique_incoming IS 'Non-unique incoming (offered) calls.';
COMMENT ON COLUMN wfm.agg_daily_service_stats.talk_time_total IS 'Talk seconds (avg_talk_time x handled calls, summed).';
COMMENT ON COLUMN wfm.agg_daily_service_stats.post_processing_time_total IS 'Post-processing seconds.';
COMMENT ON COLUMN wfm.agg_daily_service_stats.answered_calls IS 'Answered calls where known.';
COMMENT ON COLUMN wfm.agg_daily_service_stats.sl_offered_calls IS 'Offered calls of rows that know answered_within_sl.';
COMMENT ON COLUMN wfm.agg_daily_service_stats.answered_within_sl IS 'Answered within the SL threshold, where known.';
COMMENT ON COLUMN wfm.agg_daily_service_stats.abandon_offered_calls IS 'Offered calls of rows that know abandoned_calls.';
COMMENT ON COLUMN wfm.agg_daily_service_stats.abandoned_calls IS 'Abandoned calls, where known.';
COMMENT ON COLUMN wfm.agg_daily_service_stats.sl_threshold_seconds IS 'SL threshold (the largest when rows differ).';
COMMENT ON COLUMN wfm.agg_daily_service_stats.peak_interval_start IS 'The 15-minute interval of the day with the most non-unique calls (earliest on ties).';
COMMENT ON COLUMN wfm.agg_daily_service_stats.peak_non_unique_incoming IS 'Non-unique calls in the peak interval.';
COMMENT ON COLUMN wfm.agg_daily_service_stats.last_loaded_at IS 'Newest loaded_at of the source rows.';
COMMENT ON COLUMN wfm.agg_daily_service_stats.handled_calls IS 'Calls the averages are per (answered where known, else offered: sql/121).';

CREATE TABLE wfm.aggregate_changes (
    change_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_id   integer NOT NULL,
    stat_date    date NOT NULL,
    range_start  timestamptz NOT NULL,
    range_end    timestamptz NOT NULL,
    source       text NOT NULL,
    logged_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT aggregate_changes_range_not_empty CHECK (range_end > range_start)
);
COMMENT ON TABLE wfm.aggregate_changes IS
    'Change log (invalidation log) of the aggregates: one row per write statement and (service, local day) it touched, written in the writer''s transaction by the triggers on contact_statistics (or wfm.log_changed_ranges). Readers treat logged days/hours as not materialized; wfm.refresh_aggregates() recomputes and removes them.';
COMMENT ON COLUMN wfm.aggregate_changes.change_id IS 'Surrogate key.';
COMMENT ON COLUMN wfm.aggregate_changes.service_id IS 'Service whose data changed.';
COMMENT ON COLUMN wfm.aggregate_changes.stat_date IS 'Local calendar day (service time zone) that changed: the daily aggregate''s unit.';
COMMENT ON COLUMN wfm.aggregate_changes.range_start IS 'Start of the changed UTC hours of that day (hour-aligned, inclusive).';
COMMENT ON COLUMN wfm.aggregate_changes.range_end IS 'End of the changed UTC hours (hour-aligned, exclusive).';
COMMENT ON COLUMN wfm.aggregate_changes.source IS 'What changed it: insert, update, delete (triggers), time_zone, retention, or a caller''s tag.';
COMMENT ON COLUMN wfm.aggregate_changes.logged_at IS 'Start of the writing transaction.';
CREATE INDEX aggregate_changes_service_day_idx ON wfm.aggregate_changes (service_id, stat_date);
COMMENT ON INDEX wfm.aggregate_changes_service_day_idx IS 'Readers: is this service''s day (or hour range) pending?';

CREATE TABLE wfm.aggregates (
    view_name           text PRIMARY KEY,
    table_name          regclass NOT NULL UNIQUE,
    refresh_order       integer NOT NULL UNIQUE,
    materialized_until  timestamptz,
    row_count           bigint NOT NULL DEFAULT 0,
    last_refresh_at     timestamptz,
    last_full_rebuild_at timestamptz
);
COMMENT ON TABLE wfm.aggregates IS
    'The incrementally maintained aggregates: reader view, table, watermark and row count. Both share one watermark (refreshed together by wfm.refresh_aggregates()).';
COMMENT ON COLUMN wfm.aggregates.view_name IS 'The view readers use (schema-qualified): always current, see its comment.';
COMMENT ON COLUMN wfm.aggregates.table_name IS 'The table holding the materialized part.';
COMMENT ON COLUMN wfm.aggregates.refresh_order IS 'Order of the rows in refresh results.';
COMMENT ON COLUMN wfm.aggregates.materialized_until IS
    'Watermark ("materialized up to"): hours before it, and local days that ended before it, are in the table unless wfm.aggregate_changes lists them; NULL = never built (readers aggregate raw rows).';
COMMENT ON COLUMN wfm.aggregates.row_count IS 'Rows in the table after the last refresh.';
COMMENT ON COLUMN wfm.aggregates.last_refresh_at IS 'Start of the transaction of the last refresh.';
COMMENT ON COLUMN wfm.aggregates.last_full_rebuild_at IS 'Start of the transaction of the last full rebuild.';
INSERT INTO wfm.aggregates (view_name, table_name, refresh_order)
VALUES ('wfm.mv_hourly_stats', 'wfm.agg_hourly_stats', 10),
       ('wfm.mv_daily_service_stats', 'wfm.agg_daily_service_stats', 20);

-- The refresh history keeps its rows (one per aggregate and refresh) and says what was done.
ALTER TABLE wfm.view_refresh_history
    ADD COLUMN mode text,
    ADD COLUMN changes_applied integer,
    ADD COLUMN rows_written bigint,
    ADD COLUMN materialized_until timestamptz;
COMMENT ON TABLE wfm.view_refresh_history IS
    'One row per aggregate and refresh (wfm.refresh_aggregates, api_refresh_all_views); before release 0.3 per materialized-view refresh.';
COMMENT ON COLUMN wfm.view_refresh_history.used_concurrently IS
    'true: incremental refresh; false: full rebuild (the first build, or asked for). Readers are never blocked either way. (Before 0.3: REFRESH ... CONCURRENTLY.)';
COMMENT ON COLUMN wfm.view_refresh_history.duration_ms IS 'How long the refresh of this aggregate took, milliseconds.';
COMMENT ON COLUMN wfm.view_refresh_history.row_count IS 'Rows in the aggregate''s table after the refresh.';
COMMENT ON COLUMN wfm.view_refresh_history.mode IS 'incremental or full; NULL for refreshes before 0.3.';
COMMENT ON COLUMN wfm.view_refresh_history.changes_applied IS 'Change-log rows consumed by this refresh.';
COMMENT ON COLUMN wfm.view_refresh_history.rows_written IS 'Aggregate rows (re)computed and written.';
COMMENT ON COLUMN wfm.view_refresh_history.materialized_until IS 'The watermark after this refresh.';

-- Every write through the parent table logs what it touched (statement level: one small
-- aggregate of the transition table per statement, not per row). Writes straight into a
-- partition, DETACH/ATTACH and TRUNCATE fire none of these: see wfm.log_changed_ranges.
CREATE TRIGGER contact_statistics_log_inserts
    AFTER INSERT ON wfm.contact_statistics REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION wfm.contact_statistics_log_changes();
CREATE TRIGGER contact_statistics_log_updates
    AFTER UPDATE ON wfm.contact_statistics REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION wfm.contact_statistics_log_changes();
CREATE TRIGGER contact_statistics_log_deletes
    AFTER DELETE ON wfm.contact_statistics REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION wfm.contact_statistics_log_changes();
CREATE TRIGGER contact_statistics_truncated
    AFTER TRUNCATE ON wfm.contact_statistics
    FOR EACH STATEMENT EXECUTE FUNCTION wfm.contact_statistics_truncated();
-- A new time zone moves every local day of the service.
CREATE TRIGGER services_time_zone_changed
    AFTER UPDATE OF time_zone ON wfm.services
    FOR EACH ROW WHEN (OLD.time_zone IS DISTINCT FROM NEW.time_zone)
    EXECUTE FUNCTION wfm.services_time_zone_changed();
