-- wfm.service_interval_stats (first defined in sql/050_service_interval_stats.sql): the
-- per-service 15-minute series every read function and view builds on.
--
-- A service can have a service-level row (group_id NULL: Argus' own total for the service)
-- and group rows for the same interval. Summing both would count calls twice, so per
-- interval the service-level row is authoritative when it exists; otherwise the service's
-- figures are the sum of its groups. Quantities stay additive (counts and second totals);
-- ratios are derived only when reading. Averages are per handled call (issue 13): answered where
-- a row knows it, else offered (handled_calls).
--
-- The materialized views of sql/051 read it: CREATE OR REPLACE VIEW may add columns at the
-- end but not change or drop one while they exist.
CREATE OR REPLACE VIEW wfm.service_interval_stats AS
SELECT cs.service_id,
       cs.interval_start_time,
       count(*)                                   AS source_rows,
       bool_or(cs.group_id IS NULL)               AS from_service_row,
       CASE WHEN bool_or(cs.group_id IS NULL)
            THEN sum(cs.unique_incoming) FILTER (WHERE cs.group_id IS NULL)
            ELSE sum(cs.unique_incoming) END      AS unique_incoming,
       CASE WHEN bool_or(cs.group_id IS NULL)
            THEN sum(cs.non_unique_incoming) FILTER (WHERE cs.group_id IS NULL)
            ELSE sum(cs.non_unique_incoming) END  AS non_unique_incoming,
       -- talk and post-processing seconds: average x handled calls (= contact_statistics'
       -- talk_time_total / post_processing_time_total since sql/121; computed here so that the
       -- view does not depend on those generated columns, which sql/121 redefines)
       CASE WHEN bool_or(cs.group_id IS NULL)
            THEN sum(coalesce(cs.avg_talk_time, 0)::bigint * coalesce(cs.answered_calls, cs.non_unique_incoming))
                     FILTER (WHERE cs.group_id IS NULL)
            ELSE sum(coalesce(cs.avg_talk_time, 0)::bigint * coalesce(cs.answered_calls, cs.non_unique_incoming))
            END                                   AS talk_time_total,
       CASE WHEN bool_or(cs.group_id IS NULL)
            THEN sum(coalesce(cs.avg_post_processing_time, 0)::bigint * coalesce(cs.answered_calls, cs.non_unique_incoming))
                     FILTER (WHERE cs.group_id IS NULL)
            ELSE sum(coalesce(cs.avg_post_processing_time, 0)::bigint * coalesce(cs.answered_calls, cs.non_unique_incoming))
            END                                   AS post_processing_time_total,
       CASE WHEN bool_or(cs.group_id IS NULL)
            THEN sum(cs.answered_calls) FILTER (WHERE cs.group_id IS NULL)
            ELSE sum(cs.answered_calls) END       AS answered_calls,
       CASE WHEN bool_or(cs.group_id IS NULL)
            THEN sum(cs.non_unique_incoming) FILTER (WHERE cs.group_id IS NULL AND cs.answered_within_sl IS NOT NULL)
            ELSE sum(cs.non_unique_incoming) FILTER (WHERE cs.answered_within_sl IS NOT NULL) END AS sl_offered_calls,
       CASE WHEN bool_or(cs.group_id IS NULL)
            THEN sum(cs.answered_within_sl) FILTER (WHERE cs.group_id IS NULL)
            ELSE sum(cs.answered_within_sl) END   AS answered_within_sl,
       CASE WHEN bool_or(cs.group_id IS NULL)
            THEN sum(cs.non_unique_incoming) FILTER (WHERE cs.group_id IS NULL AND cs.abandoned_calls IS NOT NULL)
            ELSE sum(cs.non_unique_incoming) FILTER (WHERE cs.abandoned_calls IS NOT NULL) END AS abandon_offered_calls,
       CASE WHEN bool_or(cs.group_id IS NULL)
            THEN sum(cs.abandoned_calls) FILTER (WHERE cs.group_id IS NULL)
            ELSE sum(cs.abandoned_calls) END      AS abandoned_calls,
       max(cs.sl_threshold_seconds)               AS sl_threshold_seconds,
       max(cs.loaded_at)                          AS last_loaded_at,
       CASE WHEN bool_or(cs.group_id IS NULL)
            THEN sum(coalesce(cs.answered_calls, cs.non_unique_incoming)) FILTER (WHERE cs.group_id IS NULL)
            ELSE sum(coalesce(cs.answered_calls, cs.non_unique_incoming)) END AS handled_calls
FROM wfm.contact_statistics cs
GROUP BY cs.service_id, cs.interval_start_time;
COMMENT ON VIEW wfm.service_interval_stats IS
    'Per service and 15-minute interval, additive totals: the service-level row (group_id NULL) when present, else the sum of the groups. Averages divide by handled_calls. Filters on service_id / interval_start_time are pushed down (partition pruning, index use).';
COMMENT ON COLUMN wfm.service_interval_stats.service_id IS 'Service.';
COMMENT ON COLUMN wfm.service_interval_stats.interval_start_time IS 'Start of the 15-minute interval.';
COMMENT ON COLUMN wfm.service_interval_stats.source_rows IS 'contact_statistics rows of the interval (service row and groups).';
COMMENT ON COLUMN wfm.service_interval_stats.from_service_row IS 'True when the figures come from the service-level row, false when summed over groups.';
COMMENT ON COLUMN wfm.service_interval_stats.unique_incoming IS 'Unique incoming calls.';
COMMENT ON COLUMN wfm.service_interval_stats.non_unique_incoming IS 'Non-unique incoming (offered) calls.';
COMMENT ON COLUMN wfm.service_interval_stats.talk_time_total IS 'Talk seconds (avg_talk_time x handled calls, summed).';
COMMENT ON COLUMN wfm.service_interval_stats.post_processing_time_total IS 'Post-processing seconds (summed).';
COMMENT ON COLUMN wfm.service_interval_stats.answered_calls IS 'Answered calls where known (NULL when no row knows it).';
COMMENT ON COLUMN wfm.service_interval_stats.sl_offered_calls IS 'Offered calls of the rows that know answered_within_sl: the service-level denominator.';
COMMENT ON COLUMN wfm.service_interval_stats.answered_within_sl IS 'Calls answered within the SL threshold, where known.';
COMMENT ON COLUMN wfm.service_interval_stats.abandon_offered_calls IS 'Offered calls of the rows that know abandoned_calls: the abandonment denominator.';
COMMENT ON COLUMN wfm.service_interval_stats.abandoned_calls IS 'Abandoned calls, where known.';
COMMENT ON COLUMN wfm.service_interval_stats.sl_threshold_seconds IS 'SL threshold in seconds (the largest when rows differ).';
COMMENT ON COLUMN wfm.service_interval_stats.last_loaded_at IS 'When the newest of the rows was written.';
COMMENT ON COLUMN wfm.service_interval_stats.handled_calls IS 'Calls the averages are per (answered where known, else offered): AHT = (talk + post-processing) / handled_calls.';
GRANT SELECT ON wfm.service_interval_stats TO wfm_readonly;
