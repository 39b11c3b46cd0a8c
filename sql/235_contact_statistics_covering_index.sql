-- Issue 15 (day_3_services at 50 clients): the per-service index of contact_statistics covers
-- the columns the 15-minute read needs, so that read is an index-only scan.
--
-- A day of 3 services is 2,880 rows (10 groups x 96 intervals each). Fetched from the heap
-- they cost about 1 ms of CPU a query (215 buffers); from this index 34 buffers and no heap
-- (partitions vacuumed: the visibility map; a page written since falls back to the heap).
-- The key stays (service_id, interval_start_time), so every plan that used
-- contact_statistics_service_time_idx uses this one; the old index goes, so a write still
-- maintains two indexes, only a wider one: measured on one month (576,000 rows) copied into a
-- table with the two indexes, INSERT 2.33 s -> 2.61-2.86 s (+12-22 %), an UPDATE of 28,800
-- rows 155 -> 201 ms (+30 %). Size at 7.6 M rows: 492 MB instead of 132 MB (heap 916 MB).
-- Building it takes about 13 s at 7.6 M rows (a SHARE lock: loads wait, reads do not).
-- Used by wfm.calls_by_quarter_rows (sql/functions/read_api/calls_by_quarter_rows.sql).
CREATE INDEX contact_statistics_service_time_cover_idx
    ON wfm.contact_statistics (service_id, interval_start_time)
    INCLUDE (group_id, unique_incoming, non_unique_incoming, avg_talk_time, avg_post_processing_time,
             answered_calls, answered_within_sl, abandoned_calls);
COMMENT ON INDEX wfm.contact_statistics_service_time_cover_idx IS
    'Per-service lookups (point queries, one-day ranges, day summaries, refresh ranges), and the columns of wfm.calls_by_quarter_rows: the 15-minute read API is an index-only scan.';
DROP INDEX wfm.contact_statistics_service_time_idx;
