-- Issue 15 (week_hourly_all at 1 client, p95 10.3 ms against 10 ms): the averages and
-- percentages of an hour, stored with its totals.
--
-- 60-minute buckets over past hours are the rows of wfm.agg_hourly_stats as they are
-- (wfm.calls_by_hour_rows). Five ratios per bucket (AHT, talk, post-processing, SL,
-- abandonment) were computed on every read: 16,800 numeric results for a week of 20 services,
-- about 2.3 of 5.7 ms of backend CPU per call. As generated columns they are computed once, when
-- the refresh writes the hour (its INSERTs name the stored columns by position, so they are
-- unchanged), with the raw query's own expression (wfm.calls_by_interval_rows: round(x / y, 2),
-- NULL when y is 0), so a read returns exactly what aggregating the raw rows returns.
-- 190,560 rows at the benchmark's 7.6 M: the table is rewritten once (about 2 s).
ALTER TABLE wfm.agg_hourly_stats
    ADD COLUMN aht numeric GENERATED ALWAYS AS
        (round((talk_time_total + post_processing_time_total)::numeric / nullif(handled_calls, 0), 2)) STORED,
    ADD COLUMN avg_talk_time numeric GENERATED ALWAYS AS
        (round(talk_time_total::numeric / nullif(handled_calls, 0), 2)) STORED,
    ADD COLUMN avg_post_processing_time numeric GENERATED ALWAYS AS
        (round(post_processing_time_total::numeric / nullif(handled_calls, 0), 2)) STORED,
    ADD COLUMN service_level_pct numeric GENERATED ALWAYS AS
        (round(100 * answered_within_sl::numeric / nullif(sl_offered_calls, 0), 2)) STORED,
    ADD COLUMN abandonment_rate_pct numeric GENERATED ALWAYS AS
        (round(100 * abandoned_calls::numeric / nullif(abandon_offered_calls, 0), 2)) STORED;
COMMENT ON COLUMN wfm.agg_hourly_stats.aht IS
    'Average handling time of the hour, seconds per handled call: (talk + post-processing) / handled_calls, 2 decimals (generated).';
COMMENT ON COLUMN wfm.agg_hourly_stats.avg_talk_time IS
    'Talk seconds per handled call, 2 decimals (generated).';
COMMENT ON COLUMN wfm.agg_hourly_stats.avg_post_processing_time IS
    'Post-processing seconds per handled call, 2 decimals (generated).';
COMMENT ON COLUMN wfm.agg_hourly_stats.service_level_pct IS
    'Calls answered within the SL threshold per 100 offered calls that know it, 2 decimals (generated).';
COMMENT ON COLUMN wfm.agg_hourly_stats.abandonment_rate_pct IS
    'Abandoned calls per 100 offered calls that know it, 2 decimals (generated).';
