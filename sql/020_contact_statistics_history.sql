-- requires: functions/partitions/rebuild_partition_guards.sql
-- Batch history of contact statistics: every accepted row of every import batch, kept after
-- later batches overwrite contact_statistics. It is what makes a correction file reversible
-- (wfm.revert_import_batch) and contact_statistics reconstructible month by month
-- (wfm.rebuild_contact_statistics_month). Writers COPY/INSERT a batch's rows here, then call
-- wfm.apply_import_batch in the same transaction (sql/021).

CREATE TABLE wfm.contact_statistics_history (
    interval_start_time        timestamptz NOT NULL,
    service_id                 integer NOT NULL,
    group_id                   integer,
    unique_incoming            integer NOT NULL,
    non_unique_incoming        integer NOT NULL,
    avg_talk_time              integer,
    avg_post_processing_time   integer,
    answered_calls             integer,
    answered_within_sl         integer,
    abandoned_calls            integer,
    sl_threshold_seconds       integer,
    import_batch_id            uuid NOT NULL,
    source_row_number          integer CONSTRAINT contact_statistics_history_row_positive
                                   CHECK (source_row_number >= 1),
    loaded_at                  timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (interval_start_time);

-- No foreign keys and no unique key: rows only arrive in the transaction that applies them
-- to contact_statistics, whose foreign keys, CHECK constraints and unique key reject bad
-- service/group ids, bad values and two rows for one interval in a batch (the apply fails,
-- so the batch's history rows roll back with it). Per-row FK triggers and a four-column
-- unique index here would roughly double the cost of every load.

COMMENT ON TABLE wfm.contact_statistics_history IS
    'Every accepted row of every import batch (the values each batch sent), partitioned by UTC month. contact_statistics holds, per interval, the row of the newest applied non-reverted batch.';
COMMENT ON COLUMN wfm.contact_statistics_history.interval_start_time IS 'Start of the 15-minute interval (UTC instant).';
COMMENT ON COLUMN wfm.contact_statistics_history.service_id IS 'Service of the row.';
COMMENT ON COLUMN wfm.contact_statistics_history.group_id IS 'Group within the service; NULL for a service-level row.';
COMMENT ON COLUMN wfm.contact_statistics_history.unique_incoming IS 'Argus column B as sent by the batch.';
COMMENT ON COLUMN wfm.contact_statistics_history.non_unique_incoming IS 'Argus column C as sent by the batch.';
COMMENT ON COLUMN wfm.contact_statistics_history.avg_talk_time IS 'Argus column D (seconds) as sent by the batch.';
COMMENT ON COLUMN wfm.contact_statistics_history.avg_post_processing_time IS 'Argus column E (seconds) as sent by the batch.';
COMMENT ON COLUMN wfm.contact_statistics_history.answered_calls IS 'Answered calls, when the source sent them.';
COMMENT ON COLUMN wfm.contact_statistics_history.answered_within_sl IS 'Calls answered within the service level, when sent.';
COMMENT ON COLUMN wfm.contact_statistics_history.abandoned_calls IS 'Abandoned calls, when sent.';
COMMENT ON COLUMN wfm.contact_statistics_history.sl_threshold_seconds IS 'Service-level threshold answered_within_sl refers to.';
COMMENT ON COLUMN wfm.contact_statistics_history.import_batch_id IS 'The batch that sent the row (wfm.import_batches).';
COMMENT ON COLUMN wfm.contact_statistics_history.source_row_number IS 'Spreadsheet row (1-based, headers counted) or JSON array position of the row in its input.';
COMMENT ON COLUMN wfm.contact_statistics_history.loaded_at IS 'When the row was written.';

-- A batch's rows, month by month: apply_import_batch and revert_import_batch read exactly
-- one batch. All rows of a batch share the key, so B-tree deduplication keeps this index
-- tiny and cheap to maintain during COPY. (Revert and the month rebuild find the other
-- batches of an interval by the time range, i.e. partition pruning, not by an index.)
CREATE INDEX contact_statistics_history_batch_idx ON wfm.contact_statistics_history (import_batch_id);
COMMENT ON INDEX wfm.contact_statistics_history_batch_idx IS
    'Serves the per-batch reads of apply_import_batch and revert_import_batch (one batch''s rows in each month partition); deduplicated, so small and cheap on COPY.';

-- Applies are ordered by this sequence (taken under a per-service advisory lock), so "the
-- newest batch" means the same thing to apply, revert and rebuild even when batches run
-- concurrently or their created_at timestamps tie.
CREATE SEQUENCE wfm.import_batch_apply_seq AS bigint;
COMMENT ON SEQUENCE wfm.import_batch_apply_seq IS 'Order in which batches were applied to contact_statistics (import_batches.apply_seq).';

ALTER TABLE wfm.import_batches ADD COLUMN apply_seq bigint;
ALTER TABLE wfm.import_batches ADD CONSTRAINT import_batches_apply_seq_unique UNIQUE (apply_seq);
COMMENT ON COLUMN wfm.import_batches.apply_seq IS
    'Position of the batch in the order of applies to contact_statistics (NULL: never applied); the newest non-reverted batch per interval wins.';
COMMENT ON INDEX wfm.import_batches_apply_seq_unique IS
    'Serves "newest applied batch" ordering in revert and month rebuild.';

INSERT INTO wfm.partition_config (table_name) VALUES ('wfm.contact_statistics_history');
SELECT wfm.rebuild_partition_guards('wfm.contact_statistics_history');
