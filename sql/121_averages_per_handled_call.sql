-- requires: functions/views/service_interval_stats.sql
-- Averages per handled call (issue 13). Talk and post-processing averages are per ANSWERED call
-- once answered_calls is known: the stored totals are avg x handled_calls, where
--     handled_calls = coalesce(answered_calls, non_unique_incoming)
-- so a row that does not know answered_calls (every Argus file) keeps the old rule (avg x
-- offered calls) and its totals do not change. Readers divide the totals by handled_calls
-- (AHT, average talk and post-processing); service level stays answered within threshold over
-- offered calls (answered + abandoned) and abandonment abandoned over offered.
--
-- The generated columns cannot be altered in place on PostgreSQL 15/16 (SET EXPRESSION is 17+),
-- so they are dropped and added again. What reads them: wfm.service_interval_stats (required
-- above: its current text computes the totals from the averages and no longer reads these
-- columns) and the two materialized views, which are dropped here and created again as in
-- sql/051 with handled_calls added at the end. A materialized view that was populated is
-- refreshed again here, so readers keep working.

CREATE TEMPORARY TABLE mv_was_populated ON COMMIT DROP AS
SELECT c.oid::regclass::text AS view_name, c.relispopulated AS populated
FROM pg_catalog.pg_class c
WHERE c.oid IN ('wfm.mv_hourly_stats'::regclass, 'wfm.mv_daily_service_stats'::regclass);

-- materialized_views holds regclass values (OIDs): re-registered below.
DELETE FROM wfm.materialized_views
WHERE view_name IN ('wfm.mv_hourly_stats'::regclass, 'wfm.mv_daily_service_stats'::regclass);
DROP MATERIALIZED VIEW wfm.mv_daily_service_stats;
DROP MATERIALIZED VIEW wfm.mv_hourly_stats;

ALTER TABLE wfm.contact_statistics
    DROP COLUMN talk_time_total,
    DROP COLUMN post_processing_time_total;
ALTER TABLE wfm.contact_statistics
    ADD COLUMN handled_calls integer GENERATED ALWAYS AS
        (coalesce(answered_calls, non_unique_incoming)) STORED,
    ADD COLUMN talk_time_total bigint GENERATED ALWAYS AS
        (coalesce(avg_talk_time, 0)::bigint * coalesce(answered_calls, non_unique_incoming)) STORED,
    ADD COLUMN post_processing_time_total bigint GENERATED ALWAYS AS
        (coalesce(avg_post_processing_time, 0)::bigint * coalesce(answered_calls, non_unique_incoming)) STORED;
COMMENT ON COLUMN wfm.contact_statistics.handled_calls IS
    'Calls the averages are per: answered_calls when known, else non_unique_incoming (Argus files: every offered call counts as handled).';
COMMENT ON COLUMN wfm.contact_statistics.talk_time_total IS
    'avg_talk_time x handled_calls: additive talk seconds for exact call-weighted aggregation.';
COMMENT ON COLUMN wfm.contact_statistics.post_processing_time_total IS
    'avg_post_processing_time x handled_calls: additive post-processing seconds.';
COMMENT ON COLUMN wfm.contact_statistics.avg_talk_time IS
    'Argus column D: average talk time per handled call (per answered call when answered_calls is known, else per offered call), seconds; NULL allowed only when there were no calls.';
COMMENT ON COLUMN wfm.contact_statistics.avg_post_processing_time IS
    'Argus column E: average post-processing (wrap-up) time per handled call, seconds.';

-- ---------------------------------------------------------------- the materialized views (sql/051)
CREATE MATERIALIZED VIEW wfm.mv_hourly_stats AS
SELECT si.service_id,
       date_bin(interval '1 hour', si.interval_start_time, timestamptz '2000-01-01 00:00:00+00') AS hour_start,
       count(*)::integer                    AS intervals,
       sum(si.source_rows)::bigint          AS source_rows,
       sum(si.unique_incoming)::bigint      AS unique_incoming,
       sum(si.non_unique_incoming)::bigint  AS non_unique_incoming,
       sum(si.talk_time_total)::bigint      AS talk_time_total,
       sum(si.post_processing_time_total)::bigint AS post_processing_time_total,
       sum(si.answered_calls)::bigint       AS answered_calls,
       sum(si.sl_offered_calls)::bigint     AS sl_offered_calls,
       sum(si.answered_within_sl)::bigint   AS answered_within_sl,
       sum(si.abandon_offered_calls)::bigint AS abandon_offered_calls,
       sum(si.abandoned_calls)::bigint      AS abandoned_calls,
       max(si.sl_threshold_seconds)         AS sl_threshold_seconds,
       max(si.last_loaded_at)               AS last_loaded_at,
       sum(si.handled_calls)::bigint        AS handled_calls
FROM wfm.service_interval_stats si
GROUP BY 1, 2
WITH NO DATA;

CREATE UNIQUE INDEX mv_hourly_stats_key ON wfm.mv_hourly_stats (service_id, hour_start);
COMMENT ON INDEX wfm.mv_hourly_stats_key IS 'Unique key (needed by REFRESH CONCURRENTLY); serves per-service hour ranges.';

COMMENT ON MATERIALIZED VIEW wfm.mv_hourly_stats IS
    'Per service and UTC hour: additive call totals (service-level row preferred over the sum of groups per interval). Refreshed hourly and after loads; see wfm.view_freshness.';
COMMENT ON COLUMN wfm.mv_hourly_stats.service_id IS 'Service.';
COMMENT ON COLUMN wfm.mv_hourly_stats.hour_start IS 'Start of the UTC hour.';
COMMENT ON COLUMN wfm.mv_hourly_stats.intervals IS '15-minute intervals with data in the hour (0..4).';
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

CREATE MATERIALIZED VIEW wfm.mv_daily_service_stats AS
WITH service_intervals AS (
    SELECT si.*, (si.interval_start_time AT TIME ZONE s.time_zone)::date AS stat_date
    FROM wfm.service_interval_stats si
    JOIN wfm.services s ON s.service_id = si.service_id
)
SELECT service_id,
       NULL::integer                        AS group_id,
       stat_date,
       count(*)::integer                    AS intervals,
       sum(source_rows)::bigint             AS source_rows,
       sum(unique_incoming)::bigint         AS unique_incoming,
       sum(non_unique_incoming)::bigint     AS non_unique_incoming,
       sum(talk_time_total)::bigint         AS talk_time_total,
       sum(post_processing_time_total)::bigint AS post_processing_time_total,
       sum(answered_calls)::bigint          AS answered_calls,
       sum(sl_offered_calls)::bigint        AS sl_offered_calls,
       sum(answered_within_sl)::bigint      AS answered_within_sl,
       sum(abandon_offered_calls)::bigint   AS abandon_offered_calls,
       sum(abandoned_calls)::bigint         AS abandoned_calls,
       max(sl_threshold_seconds)            AS sl_threshold_seconds,
       to_timestamp(-(max(ARRAY[non_unique_incoming::bigint,
                                -extract(epoch FROM interval_start_time)::bigint]))[2]) AS peak_interval_start,
       max(non_unique_incoming)::bigint     AS peak_non_unique_incoming,
       max(last_loaded_at)                  AS last_loaded_at,
       sum(handled_calls)::bigint           AS handled_calls
FROM service_intervals
GROUP BY service_id, stat_date
UNION ALL
SELECT cs.service_id,
       cs.group_id,
       (cs.interval_start_time AT TIME ZONE s.time_zone)::date,
       count(*)::integer,
       count(*)::bigint,
       sum(cs.unique_incoming)::bigint,
       sum(cs.non_unique_incoming)::bigint,
       sum(cs.talk_time_total)::bigint,
       sum(cs.post_processing_time_total)::bigint,
       sum(cs.answered_calls)::bigint,
       sum(cs.non_unique_incoming) FILTER (WHERE cs.answered_within_sl IS NOT NULL)::bigint,
       sum(cs.answered_within_sl)::bigint,
       sum(cs.non_unique_incoming) FILTER (WHERE cs.abandoned_calls IS NOT NULL)::bigint,
       sum(cs.abandoned_calls)::bigint,
       max(cs.sl_threshold_seconds),
       to_timestamp(-(max(ARRAY[cs.non_unique_incoming::bigint,
                                -extract(epoch FROM cs.interval_start_time)::bigint]))[2]),
       max(cs.non_unique_incoming)::bigint,
       max(cs.loaded_at),
       sum(cs.handled_calls)::bigint
FROM wfm.contact_statistics cs
JOIN wfm.services s ON s.service_id = cs.service_id
WHERE cs.group_id IS NOT NULL
GROUP BY cs.service_id, cs.group_id, 3
WITH NO DATA;

CREATE UNIQUE INDEX mv_daily_service_stats_key
    ON wfm.mv_daily_service_stats (service_id, stat_date, group_id) NULLS NOT DISTINCT;
COMMENT ON INDEX wfm.mv_daily_service_stats_key IS
    'Unique key (REFRESH CONCURRENTLY; NULL group = service total); serves api_get_service_summary and per-service date ranges.';

COMMENT ON MATERIALIZED VIEW wfm.mv_daily_service_stats IS
    'Per service (group_id NULL) and per group, per local calendar day of the service: additive totals and the peak 15-minute interval. Serves api_get_service_summary.';
COMMENT ON COLUMN wfm.mv_daily_service_stats.service_id IS 'Service.';
COMMENT ON COLUMN wfm.mv_daily_service_stats.group_id IS 'Group; NULL = the service total (service-level row per interval when present, else the sum of groups).';
COMMENT ON COLUMN wfm.mv_daily_service_stats.stat_date IS 'Calendar day in the service''s time zone (services.time_zone).';
COMMENT ON COLUMN wfm.mv_daily_service_stats.intervals IS '15-minute intervals with data (92..100 on daylight-saving days).';
COMMENT ON COLUMN wfm.mv_daily_service_stats.source_rows IS 'contact_statistics rows aggregated.';
COMMENT ON COLUMN wfm.mv_daily_service_stats.unique_incoming IS 'Unique incoming calls.';
COMMENT ON COLUMN wfm.mv_daily_service_stats.non_unique_incoming IS 'Non-unique incoming (offered) calls.';
COMMENT ON COLUMN wfm.mv_daily_service_stats.talk_time_total IS 'Talk seconds.';
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

INSERT INTO wfm.materialized_views VALUES ('wfm.mv_hourly_stats', 10), ('wfm.mv_daily_service_stats', 20);
GRANT SELECT ON wfm.mv_hourly_stats, wfm.mv_daily_service_stats TO wfm_readonly;

-- Views that held data before hold it again (a reader must not meet "not populated").
DO $$
BEGIN
    IF (SELECT populated FROM mv_was_populated WHERE view_name = 'wfm.mv_hourly_stats') THEN
        REFRESH MATERIALIZED VIEW wfm.mv_hourly_stats;
    END IF;
    IF (SELECT populated FROM mv_was_populated WHERE view_name = 'wfm.mv_daily_service_stats') THEN
        REFRESH MATERIALIZED VIEW wfm.mv_daily_service_stats;
    END IF;
END
$$;
