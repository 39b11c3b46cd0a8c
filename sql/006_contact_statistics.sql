-- requires: functions/partitions/rebuild_partition_guards.sql
-- Primary time series: one row per service (group_id NULL) or group per 15-minute interval.
-- Argus exports per-call averages; the stored totals (average x calls) are what makes
-- aggregation over groups, hours and days exact (call-weighted, never an average of averages).

CREATE TABLE wfm.contact_statistics (
    interval_start_time        timestamptz NOT NULL,
    service_id                 integer NOT NULL REFERENCES wfm.services (service_id),
    group_id                   integer,
    unique_incoming            integer NOT NULL,
    non_unique_incoming        integer NOT NULL,
    avg_talk_time              integer,
    avg_post_processing_time   integer,
    talk_time_total            bigint GENERATED ALWAYS AS
                                   (coalesce(avg_talk_time, 0)::bigint * non_unique_incoming) STORED,
    post_processing_time_total bigint GENERATED ALWAYS AS
                                   (coalesce(avg_post_processing_time, 0)::bigint * non_unique_incoming) STORED,
    answered_calls             integer,
    answered_within_sl         integer,
    abandoned_calls            integer,
    sl_threshold_seconds       integer,
    import_batch_id            uuid NOT NULL,
    loaded_at                  timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT contact_statistics_group_of_service
        FOREIGN KEY (group_id, service_id) REFERENCES wfm.groups (group_id, service_id),
    CONSTRAINT contact_statistics_interval_aligned
        CHECK (extract(epoch FROM interval_start_time)::numeric % 900 = 0),
    CONSTRAINT contact_statistics_unique_not_negative CHECK (unique_incoming >= 0),
    CONSTRAINT contact_statistics_unique_le_non_unique CHECK (non_unique_incoming >= unique_incoming),
    CONSTRAINT contact_statistics_times_in_range CHECK (
        avg_talk_time BETWEEN 0 AND 86400 AND avg_post_processing_time BETWEEN 0 AND 86400),
    CONSTRAINT contact_statistics_times_present_when_calls CHECK (
        non_unique_incoming = 0 OR (avg_talk_time IS NOT NULL AND avg_post_processing_time IS NOT NULL)),
    CONSTRAINT contact_statistics_answered_in_range CHECK (
        answered_calls BETWEEN 0 AND non_unique_incoming),
    CONSTRAINT contact_statistics_within_sl_in_range CHECK (
        answered_within_sl >= 0 AND answered_within_sl <= coalesce(answered_calls, non_unique_incoming)),
    CONSTRAINT contact_statistics_abandoned_in_range CHECK (
        abandoned_calls BETWEEN 0 AND non_unique_incoming),
    CONSTRAINT contact_statistics_sl_threshold_positive CHECK (sl_threshold_seconds > 0),
    CONSTRAINT contact_statistics_sl_needs_threshold CHECK (
        answered_within_sl IS NULL OR sl_threshold_seconds IS NOT NULL),
    -- One row per interval and service/group; NULL group_id (service level) is a value here.
    CONSTRAINT contact_statistics_interval_key
        UNIQUE NULLS NOT DISTINCT (interval_start_time, service_id, group_id)
) PARTITION BY RANGE (interval_start_time);

COMMENT ON TABLE wfm.contact_statistics IS
    'Call statistics per 15-minute interval per service (group_id NULL) or group; partitioned by UTC month (contact_statistics_YYYY_MM).';
COMMENT ON COLUMN wfm.contact_statistics.interval_start_time IS 'Start of the 15-minute interval (converted from the service''s local wall-clock time).';
COMMENT ON COLUMN wfm.contact_statistics.service_id IS 'Service of the row.';
COMMENT ON COLUMN wfm.contact_statistics.group_id IS 'Group within the service; NULL for a service-level row.';
COMMENT ON COLUMN wfm.contact_statistics.unique_incoming IS 'Argus column B: unique incoming calls (distinct callers).';
COMMENT ON COLUMN wfm.contact_statistics.non_unique_incoming IS 'Argus column C: all incoming calls including repeats (>= unique).';
COMMENT ON COLUMN wfm.contact_statistics.avg_talk_time IS 'Argus column D: average talk time per call, seconds; NULL allowed only when there were no calls.';
COMMENT ON COLUMN wfm.contact_statistics.avg_post_processing_time IS 'Argus column E: average post-processing (wrap-up) time per call, seconds.';
COMMENT ON COLUMN wfm.contact_statistics.talk_time_total IS 'avg_talk_time x non_unique_incoming: additive talk seconds for exact call-weighted aggregation.';
COMMENT ON COLUMN wfm.contact_statistics.post_processing_time_total IS 'avg_post_processing_time x non_unique_incoming: additive post-processing seconds.';
COMMENT ON COLUMN wfm.contact_statistics.answered_calls IS 'Calls answered, when the source knows it.';
COMMENT ON COLUMN wfm.contact_statistics.answered_within_sl IS 'Calls answered within sl_threshold_seconds, when known.';
COMMENT ON COLUMN wfm.contact_statistics.abandoned_calls IS 'Calls abandoned before answer, when known.';
COMMENT ON COLUMN wfm.contact_statistics.sl_threshold_seconds IS 'Service-level threshold (e.g. 20 s) that answered_within_sl refers to.';
COMMENT ON COLUMN wfm.contact_statistics.import_batch_id IS 'The import batch that wrote the current values (wfm.import_batches).';
COMMENT ON COLUMN wfm.contact_statistics.loaded_at IS 'When the current values were written.';

-- The unique key's index (interval_start_time, service_id, group_id) serves time-range scans
-- over all services (view refresh, month aggregation) and the upsert's conflict check.
COMMENT ON INDEX wfm.contact_statistics_interval_key IS
    'Upsert key; serves time-range scans over all services (views, month aggregation).';

-- Per-service lookups: point queries, one-day ranges for a few services, day summaries.
CREATE INDEX contact_statistics_service_time_idx
    ON wfm.contact_statistics (service_id, interval_start_time);
COMMENT ON INDEX wfm.contact_statistics_service_time_idx IS
    'Serves per-service queries (api_get_calls_by_interval with p_service_ids, realtime stats, point lookups): direct range per service within the pruned partitions.';

INSERT INTO wfm.partition_config (table_name) VALUES ('wfm.contact_statistics');
SELECT wfm.rebuild_partition_guards('wfm.contact_statistics');
