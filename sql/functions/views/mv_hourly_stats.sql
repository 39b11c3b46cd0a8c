-- requires: functions/aggregates/hourly_stats.sql
-- wfm.mv_hourly_stats: the name readers have used since sql/051 (then a materialized view
-- refreshed in full), now a plain view over the real-time hourly aggregate: always current,
-- same columns. Filters on service_id and hour_start apply to the materialized part's index;
-- for a narrow time range wfm.hourly_stats(service ids, from, to) reads less.
CREATE OR REPLACE VIEW wfm.mv_hourly_stats AS
SELECT h.service_id, h.hour_start, h.intervals, h.source_rows, h.unique_incoming, h.non_unique_incoming,
       h.talk_time_total, h.post_processing_time_total, h.answered_calls, h.sl_offered_calls,
       h.answered_within_sl, h.abandon_offered_calls, h.abandoned_calls, h.sl_threshold_seconds,
       h.last_loaded_at, h.handled_calls
FROM wfm.hourly_stats(NULL, '-infinity', 'infinity') h;
COMMENT ON VIEW wfm.mv_hourly_stats IS
    'Per service and UTC hour: additive call totals (service-level row preferred over the sum of groups per interval). Always current: wfm.agg_hourly_stats up to the watermark (wfm.aggregates) plus contact_statistics for pending changes and after it.';
COMMENT ON COLUMN wfm.mv_hourly_stats.service_id IS 'Service.';
COMMENT ON COLUMN wfm.mv_hourly_stats.hour_start IS 'Start of the UTC hour.';
COMMENT ON COLUMN wfm.mv_hourly_stats.intervals IS '15-minute intervals with data in the hour (1..4).';
COMMENT ON COLUMN wfm.mv_hourly_stats.source_rows IS 'contact_statistics rows aggregated.';
COMMENT ON COLUMN wfm.mv_hourly_stats.unique_incoming IS 'Unique incoming calls.';
COMMENT ON COLUMN wfm.mv_hourly_stats.non_unique_incoming IS 'Non-unique incoming (offered) calls.';
COMMENT ON COLUMN wfm.mv_hourly_stats.talk_time_total IS 'Talk seconds; avg talk = talk_time_total / handled_calls.';
COMMENT ON COLUMN wfm.mv_hourly_stats.post_processing_time_total IS 'Post-processing seconds; AHT = (talk + post-processing) / handled_calls.';
COMMENT ON COLUMN wfm.mv_hourly_stats.answered_calls IS 'Answered calls where known.';
COMMENT ON COLUMN wfm.mv_hourly_stats.sl_offered_calls IS 'Offered calls of rows that know answered_within_sl (SL denominator).';
COMMENT ON COLUMN wfm.mv_hourly_stats.answered_within_sl IS 'Answered within the SL threshold; service level = answered_within_sl / sl_offered_calls.';
COMMENT ON COLUMN wfm.mv_hourly_stats.abandon_offered_calls IS 'Offered calls of rows that know abandoned_calls (abandonment denominator).';
COMMENT ON COLUMN wfm.mv_hourly_stats.abandoned_calls IS 'Abandoned calls; abandonment = abandoned_calls / abandon_offered_calls.';
COMMENT ON COLUMN wfm.mv_hourly_stats.sl_threshold_seconds IS 'SL threshold (the largest when rows differ).';
COMMENT ON COLUMN wfm.mv_hourly_stats.last_loaded_at IS 'Newest loaded_at of the source rows.';
COMMENT ON COLUMN wfm.mv_hourly_stats.handled_calls IS 'Calls the averages are per (answered where known, else offered).';
GRANT SELECT ON wfm.mv_hourly_stats TO wfm_readonly;
