-- requires: functions/aggregates/quarter_rows.sql
-- Issue 15 (day_3_services at 50 clients closed loop: p95 96 ms against 100 ms, throughput-bound
-- on 2 cores, so p95 follows the server CPU per call): the per-service 15-minute series
-- (wfm.service_interval_stats: the service-level row when present, else the sum of the groups),
-- materialized with the hourly aggregate.
--
-- A one-day read of 3 services through the raw rows (wfm.calls_by_quarter_rows) reads 2,880
-- index tuples and aggregates them into 288 intervals, then computes five ratios and a local
-- time per interval: ~1.45 ms of backend CPU. A past, hour-aligned range whose every hour is
-- materialized and not pending (wfm.aggregated_hours, as for 60-minute buckets) is now answered
-- by this table's rows as they are (wfm.calls_by_quarter_agg_rows): 288 rows of one index range
-- scan per service, ratios and local start stored with the row.
--
-- Maintained by wfm.refresh_aggregates() together with wfm.agg_hourly_stats: same watermark,
-- same (service, hour) ranges recomputed, so a quarter row exists exactly when its hour's row
-- does; the time-zone trigger, which logs every materialized hour of the service, covers its
-- quarters too (local_start depends on the zone). Not listed in wfm.aggregates (it has no
-- reader view of its own: it is the hourly aggregate's finer part).
-- At the benchmark's 7.6 M rows: 762,240 rows, about 130 MB with its key.
CREATE TABLE wfm.agg_quarter_stats (
    service_id                 integer NOT NULL,
    interval_start             timestamptz NOT NULL,
    local_start                timestamp NOT NULL,
    unique_incoming            bigint,
    non_unique_incoming        bigint,
    talk_time_total            bigint,
    post_processing_time_total bigint,
    handled_calls              bigint,
    answered_calls             bigint,
    answered_within_sl         bigint,
    sl_offered_calls           bigint,
    abandoned_calls            bigint,
    abandon_offered_calls      bigint,
    -- the raw query's own expressions (wfm.calls_by_interval_rows), computed once per row
    aht numeric GENERATED ALWAYS AS
        (round((talk_time_total + post_processing_time_total)::numeric / nullif(handled_calls, 0), 2)) STORED,
    avg_talk_time numeric GENERATED ALWAYS AS
        (round(talk_time_total::numeric / nullif(handled_calls, 0), 2)) STORED,
    avg_post_processing_time numeric GENERATED ALWAYS AS
        (round(post_processing_time_total::numeric / nullif(handled_calls, 0), 2)) STORED,
    service_level_pct numeric GENERATED ALWAYS AS
        (round(100 * answered_within_sl::numeric / nullif(sl_offered_calls, 0), 2)) STORED,
    abandonment_rate_pct numeric GENERATED ALWAYS AS
        (round(100 * abandoned_calls::numeric / nullif(abandon_offered_calls, 0), 2)) STORED,
    CONSTRAINT agg_quarter_stats_key PRIMARY KEY (service_id, interval_start)
);
COMMENT ON TABLE wfm.agg_quarter_stats IS
    'Materialized 15-minute series per service (wfm.service_interval_stats'' rows) before the hourly aggregate''s watermark, except what wfm.aggregate_changes lists; maintained by wfm.refresh_aggregates() with wfm.agg_hourly_stats. Read by api_get_calls_by_interval (15-minute buckets over past, hour-aligned ranges); readers use the API or wfm.service_interval_stats.';
COMMENT ON COLUMN wfm.agg_quarter_stats.service_id IS 'Service.';
COMMENT ON COLUMN wfm.agg_quarter_stats.interval_start IS 'Start of the 15-minute interval (UTC-aligned).';
COMMENT ON COLUMN wfm.agg_quarter_stats.local_start IS 'Start of the interval in the service''s time zone; a zone change logs the service''s hours as changed until the refresh rewrites them.';
COMMENT ON COLUMN wfm.agg_quarter_stats.unique_incoming IS 'Unique incoming calls.';
COMMENT ON COLUMN wfm.agg_quarter_stats.non_unique_incoming IS 'Non-unique incoming (offered) calls.';
COMMENT ON COLUMN wfm.agg_quarter_stats.talk_time_total IS 'Talk seconds (avg_talk_time x handled calls, summed).';
COMMENT ON COLUMN wfm.agg_quarter_stats.post_processing_time_total IS 'Post-processing seconds.';
COMMENT ON COLUMN wfm.agg_quarter_stats.handled_calls IS 'Calls the averages are per (answered where known, else offered).';
COMMENT ON COLUMN wfm.agg_quarter_stats.answered_calls IS 'Answered calls where known.';
COMMENT ON COLUMN wfm.agg_quarter_stats.answered_within_sl IS 'Answered within the SL threshold, where known.';
COMMENT ON COLUMN wfm.agg_quarter_stats.sl_offered_calls IS 'Offered calls of rows that know answered_within_sl (SL denominator).';
COMMENT ON COLUMN wfm.agg_quarter_stats.abandoned_calls IS 'Abandoned calls, where known.';
COMMENT ON COLUMN wfm.agg_quarter_stats.abandon_offered_calls IS 'Offered calls of rows that know abandoned_calls.';
COMMENT ON COLUMN wfm.agg_quarter_stats.aht IS 'Average handling time, seconds per handled call, 2 decimals (generated).';
COMMENT ON COLUMN wfm.agg_quarter_stats.avg_talk_time IS 'Talk seconds per handled call, 2 decimals (generated).';
COMMENT ON COLUMN wfm.agg_quarter_stats.avg_post_processing_time IS 'Post-processing seconds per handled call, 2 decimals (generated).';
COMMENT ON COLUMN wfm.agg_quarter_stats.service_level_pct IS 'Answered within SL per 100 offered calls that know it, 2 decimals (generated).';
COMMENT ON COLUMN wfm.agg_quarter_stats.abandonment_rate_pct IS 'Abandoned per 100 offered calls that know it, 2 decimals (generated).';

-- What the hourly aggregate holds now, its quarters too (pending ranges included: the log keeps
-- them pending, and the next refresh rewrites them). In key order, one service at a time.
INSERT INTO wfm.agg_quarter_stats (
    service_id, interval_start, local_start, unique_incoming, non_unique_incoming, talk_time_total,
    post_processing_time_total, handled_calls, answered_calls, answered_within_sl, sl_offered_calls,
    abandoned_calls, abandon_offered_calls)
SELECT x.*
FROM wfm.services s
CROSS JOIN wfm.aggregates a
CROSS JOIN LATERAL wfm.quarter_rows(ARRAY[s.service_id], '-infinity', a.materialized_until) x
WHERE a.view_name = 'wfm.mv_hourly_stats' AND a.materialized_until IS NOT NULL
ORDER BY s.service_id, x.interval_start;
ANALYZE wfm.agg_quarter_stats;
