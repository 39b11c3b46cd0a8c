-- requires: functions/aggregates/daily_stats.sql
-- wfm.mv_daily_service_stats: the name readers have used since sql/051 (then a materialized
-- view refreshed in full), now a plain view over the real-time daily aggregate: always current,
-- same columns. For one service and a few days wfm.daily_stats(ids, from, to) reads less.
CREATE OR REPLACE VIEW wfm.mv_daily_service_stats AS
SELECT d.service_id, d.group_id, d.stat_date, d.intervals, d.source_rows, d.unique_incoming,
       d.non_unique_incoming, d.talk_time_total, d.post_processing_time_total, d.answered_calls,
       d.sl_offered_calls, d.answered_within_sl, d.abandon_offered_calls, d.abandoned_calls,
       d.sl_threshold_seconds, d.peak_interval_start, d.peak_non_unique_incoming, d.last_loaded_at,
       d.handled_calls
FROM wfm.daily_stats(NULL, '-infinity', 'infinity') d;
COMMENT ON VIEW wfm.mv_daily_service_stats IS
    'Per service (group_id NULL) and per group, per local calendar day of the service: additive totals and the peak 15-minute interval. Always current: wfm.agg_daily_service_stats for days before the watermark''s (wfm.aggregates) without pending changes, contact_statistics for the rest. Serves api_get_service_summary.';
COMMENT ON COLUMN wfm.mv_daily_service_stats.service_id IS 'Service.';
COMMENT ON COLUMN wfm.mv_daily_service_stats.group_id IS 'Group; NULL = the service total (service-level row per interval when present, else the sum of groups).';
COMMENT ON COLUMN wfm.mv_daily_service_stats.stat_date IS 'Calendar day in the service''s time zone (services.time_zone).';
COMMENT ON COLUMN wfm.mv_daily_service_stats.intervals IS '15-minute intervals with data (92..100 on daylight-saving days).';
COMMENT ON COLUMN wfm.mv_daily_service_stats.source_rows IS 'contact_statistics rows aggregated.';
COMMENT ON COLUMN wfm.mv_daily_service_stats.unique_incoming IS 'Unique incoming calls.';
COMMENT ON COLUMN wfm.mv_daily_service_stats.non_unique_incoming IS 'Non-unique incoming (offered) calls.';
COMMENT ON COLUMN wfm.mv_daily_service_stats.talk_time_total IS 'Talk seconds; avg talk = talk_time_total / handled_calls.';
COMMENT ON COLUMN wfm.mv_daily_service_stats.post_processing_time_total IS 'Post-processing seconds.';
COMMENT ON COLUMN wfm.mv_daily_service_stats.answered_calls IS 'Answered calls where known.';
COMMENT ON COLUMN wfm.mv_daily_service_stats.sl_offered_calls IS 'Offered calls of rows that know answered_within_sl.';
COMMENT ON COLUMN wfm.mv_daily_service_stats.answered_within_sl IS 'Answered within the SL threshold, where known.';
COMMENT ON COLUMN wfm.mv_daily_service_stats.abandon_offered_calls IS 'Offered calls of rows that know abandoned_calls.';
COMMENT ON COLUMN wfm.mv_daily_service_stats.abandoned_calls IS 'Abandoned calls, where known.';
COMMENT ON COLUMN wfm.mv_daily_service_stats.sl_threshold_seconds IS 'SL threshold (the largest when rows differ).';
COMMENT ON COLUMN wfm.mv_daily_service_stats.peak_interval_start IS 'The 15-minute interval of the day with the most non-unique calls (earliest on ties).';
COMMENT ON COLUMN wfm.mv_daily_service_stats.peak_non_unique_incoming IS 'Non-unique calls in the peak interval.';
COMMENT ON COLUMN wfm.mv_daily_service_stats.last_loaded_at IS 'Newest loaded_at of the source rows.';
COMMENT ON COLUMN wfm.mv_daily_service_stats.handled_calls IS 'Calls the averages are per (answered where known, else offered).';
GRANT SELECT ON wfm.mv_daily_service_stats TO wfm_readonly;
