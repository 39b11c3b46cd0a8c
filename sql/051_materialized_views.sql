-- requires: functions/views/service_interval_stats.sql
-- Read side, part 2: materialized views for aggregations, their refresh log and refresh
-- functions. Both views hold additive quantities only (ratios are derived when reading) and
-- have a unique index on plain columns so REFRESH ... CONCURRENTLY works (readers are never
-- blocked by a refresh). The refresh functions and the plain views live in sql/functions/views/.

-- Per service and UTC hour. date_bin with an explicit UTC origin (not date_trunc, which
-- follows the session TimeZone) keeps the view's content independent of who refreshes it.
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
       max(si.last_loaded_at)               AS last_loaded_at
FROM wfm.service_interval_stats si
GROUP BY 1, 2
WITH NO DATA;

CREATE UNIQUE INDEX mv_hourly_stats_key ON wfm.mv_hourly_stats (service_id, hour_start);
COMMENT ON INDEX wfm.mv_hourly_stats_key IS 'Unique key (needed by REFRESH CONCURRENTLY); serves per-service hour ranges.';
-- No separate hour_start index: nothing in the product reads the view across services by
-- hour (run_all_validations flagged it as never scanned at 7.6 M rows), and an index that
-- nothing uses only slows every refresh.

COMMENT ON MATERIALIZED VIEW wfm.mv_hourly_stats IS
    'Per service and UTC hour: additive call totals (service-level row preferred over the sum of groups per interval). Refreshed hourly and after loads; see wfm.view_freshness.';
COMMENT ON COLUMN wfm.mv_hourly_stats.service_id IS 'Service.';
COMMENT ON COLUMN wfm.mv_hourly_stats.hour_start IS 'Start of the UTC hour.';
COMMENT ON COLUMN wfm.mv_hourly_stats.intervals IS '15-minute intervals with data in the hour (0..4).';
COMMENT ON COLUMN wfm.mv_hourly_stats.source_rows IS 'contact_statistics rows aggregated.';
COMMENT ON COLUMN wfm.mv_hourly_stats.unique_incoming IS 'Unique incoming calls.';
COMMENT ON COLUMN wfm.mv_hourly_stats.non_unique_incoming IS 'Non-unique incoming (offered) calls.';
COMMENT ON COLUMN wfm.mv_hourly_stats.talk_time_total IS 'Talk seconds; avg talk = talk_time_total / non_unique_incoming.';
COMMENT ON COLUMN wfm.mv_hourly_stats.post_processing_time_total IS 'Post-processing seconds; AHT = (talk + post-processing) / non_unique_incoming.';
COMMENT ON COLUMN wfm.mv_hourly_stats.answered_calls IS 'Answered calls where known.';
COMMENT ON COLUMN wfm.mv_hourly_stats.sl_offered_calls IS 'Offered calls of rows that know answered_within_sl (SL denominator).';
COMMENT ON COLUMN wfm.mv_hourly_stats.answered_within_sl IS 'Answered within the SL threshold; service level = answered_within_sl / sl_offered_calls.';
COMMENT ON COLUMN wfm.mv_hourly_stats.abandon_offered_calls IS 'Offered calls of rows that know abandoned_calls (abandonment denominator).';
COMMENT ON COLUMN wfm.mv_hourly_stats.abandoned_calls IS 'Abandoned calls; abandonment = abandoned_calls / abandon_offered_calls.';
COMMENT ON COLUMN wfm.mv_hourly_stats.sl_threshold_seconds IS 'SL threshold (the largest when rows differ).';
COMMENT ON COLUMN wfm.mv_hourly_stats.last_loaded_at IS 'Newest loaded_at of the source rows.';

-- Per service (group_id NULL) and per group, per LOCAL calendar day of the service
-- (services.time_zone): what a call-centre manager calls "the day". The peak is the
-- 15-minute interval with the most non-unique calls (earliest on ties). Two aggregations
-- UNIONed (not one over a UNION of inputs) so each is a hash aggregate: 2.5x faster refresh.
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
       -- Peak without sorting: arrays compare element by element, so the maximum of
       -- [calls, -epoch] is the busiest interval, the earliest one on ties.
       to_timestamp(-(max(ARRAY[non_unique_incoming::bigint,
                                -extract(epoch FROM interval_start_time)::bigint]))[2]) AS peak_interval_start,
       max(non_unique_incoming)::bigint     AS peak_non_unique_incoming,
       max(last_loaded_at)                  AS last_loaded_at
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
       max(cs.loaded_at)
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

-- Refresh history: freshness and durations for Dagster metadata and api_get_service_summary.
CREATE TABLE wfm.view_refresh_history (
    refresh_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    view_name     text NOT NULL,
    started_at    timestamptz NOT NULL,
    duration_ms   numeric NOT NULL,
    used_concurrently  boolean NOT NULL,
    row_count     bigint NOT NULL
);
COMMENT ON TABLE wfm.view_refresh_history IS 'One row per materialized-view refresh (wfm.refresh_view / api_refresh_all_views).';
COMMENT ON COLUMN wfm.view_refresh_history.refresh_id IS 'Surrogate key.';
COMMENT ON COLUMN wfm.view_refresh_history.view_name IS 'Materialized view refreshed (schema-qualified).';
COMMENT ON COLUMN wfm.view_refresh_history.started_at IS 'When the refresh started (clock time).';
COMMENT ON COLUMN wfm.view_refresh_history.duration_ms IS 'How long REFRESH took, milliseconds.';
COMMENT ON COLUMN wfm.view_refresh_history.used_concurrently IS 'Whether REFRESH ... CONCURRENTLY was used (false for the first population).';
COMMENT ON COLUMN wfm.view_refresh_history.row_count IS 'Rows in the view after the refresh.';
CREATE INDEX view_refresh_history_view_idx ON wfm.view_refresh_history (view_name, started_at DESC);
COMMENT ON INDEX wfm.view_refresh_history_view_idx IS 'Serves wfm.view_freshness (latest refresh per view).';

CREATE TABLE wfm.materialized_views (
    view_name   regclass PRIMARY KEY,
    refresh_order integer NOT NULL UNIQUE
);
COMMENT ON TABLE wfm.materialized_views IS 'The materialized views api_refresh_all_views() refreshes, in order.';
COMMENT ON COLUMN wfm.materialized_views.view_name IS 'Materialized view.';
COMMENT ON COLUMN wfm.materialized_views.refresh_order IS 'Refresh order (ascending).';
INSERT INTO wfm.materialized_views VALUES ('wfm.mv_hourly_stats', 10), ('wfm.mv_daily_service_stats', 20);

GRANT SELECT ON wfm.mv_hourly_stats, wfm.mv_daily_service_stats TO wfm_readonly;
