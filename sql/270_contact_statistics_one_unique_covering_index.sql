-- Issue 15 item 4 (api_batch_insert_calls write cost): contact_statistics keeps ONE B-tree
-- instead of two. The unique key (interval_start_time, service_id, group_id) and the covering
-- per-service index of sql/235 (service_id, interval_start_time) INCLUDE (group_id + counters)
-- become one unique covering index (service_id, interval_start_time, group_id) INCLUDE
-- (the counters), under the unique key's old name. Every row written maintains one index.
--
-- * ON CONFLICT (interval_start_time, service_id, group_id) infers it (inference compares the
--   key columns as a set; INCLUDE columns are not keys), NULLS NOT DISTINCT stays.
-- * The per-service reads (wfm.calls_by_quarter_rows: index-only scan; point, realtime,
--   day-of-a-few-services) keep their leading columns; group_id is a key column now.
-- * Time-range scans across all services (month rebuild DELETE, refresh of the aggregates,
--   health checks) used the old key's leading interval_start_time: they scan the month
--   partitions (pruned) instead, or on PG 18 a skip scan over the 20-odd services.
--   Measured in docs/benchmarks.md (api-insert section).
-- * Partitions created later get it from the parent (CREATE TABLE ... PARTITION OF).
-- * Building it rebuilds one index over the whole table (a SHARE lock for the ALTER:
--   loads wait, reads do not); the two old ones are then dropped.
ALTER TABLE wfm.contact_statistics
    ADD CONSTRAINT contact_statistics_service_interval_key
    UNIQUE NULLS NOT DISTINCT (service_id, interval_start_time, group_id)
    INCLUDE (unique_incoming, non_unique_incoming, avg_talk_time, avg_post_processing_time,
             answered_calls, answered_within_sl, abandoned_calls);
ALTER TABLE wfm.contact_statistics DROP CONSTRAINT contact_statistics_interval_key;
DROP INDEX wfm.contact_statistics_service_time_cover_idx;
ALTER TABLE wfm.contact_statistics
    RENAME CONSTRAINT contact_statistics_service_interval_key TO contact_statistics_interval_key;
COMMENT ON CONSTRAINT contact_statistics_interval_key ON wfm.contact_statistics IS
    'One row per interval and service/group (a NULL group is the service-level row).';
COMMENT ON INDEX wfm.contact_statistics_interval_key IS
    'The one index of contact_statistics: the upsert key (service_id, interval_start_time, group_id), NULLS NOT DISTINCT, covering the columns of wfm.calls_by_quarter_rows (the 15-minute read API is an index-only scan); serves per-service lookups and ranges.';
