-- Issue 15 (day_3_services at 50 clients): the per-service index of contact_statistics covers
-- the columns the 15-minute read needs, so that read is an index-only scan.
--
-- A day of 3 services is 2,880 rows (10 groups x 96 intervals each). Fetched from the heap
-- they cost about 1 ms of CPU a query (215 buffers); from this index 34 buffers and no heap
-- (partitions vacuumed: the visibility map; a page written since falls back to the heap).
-- The key stays (service_id, interval_start_time), so every plan that used
-- contact_statistics_service_time_idx uses this one; the old index goes, so a write still
-- maintains two indexes, only a wider one. Measured (shared 2-core machine, noisy): one month
-- (576,000 rows) inserted into a copy of the table with the key and this index vs the key and
-- the old index, alternating order, two rounds: INSERT 2.90 s vs 2.68 s on average (+8 %; single
-- pairs -12 % .. +26 %), an UPDATE of 57,600 rows 425 vs 408 ms (+4 %). Size at 7.6 M rows:
-- 492 MB instead of 132 MB: both indexes 723 MB instead of 363 MB, heap (916 MB) and indexes
-- together +28 % bytes (and WAL) per row.
-- Building it takes about 13 s at 7.6 M rows (a SHARE lock: loads wait, reads do not).
-- Used by wfm.calls_by_quarter_rows (sql/functions/read_api/calls_by_quarter_rows.sql).
CREATE INDEX contact_statistics_service_time_cover_idx
    ON wfm.contact_statistics (service_id, interval_start_time)
    INCLUDE (group_id, unique_incoming, non_unique_incoming, avg_talk_time, avg_post_processing_time,
             answered_calls, answered_within_sl, abandoned_calls);
COMMENT ON INDEX wfm.contact_statistics_service_time_cover_idx IS
    'Per-service lookups (point queries, one-day ranges, day summaries, refresh ranges), and the columns of wfm.calls_by_quarter_rows: the 15-minute read API is an index-only scan.';
DROP INDEX wfm.contact_statistics_service_time_idx;
