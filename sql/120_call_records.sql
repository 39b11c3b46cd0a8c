-- requires: functions/partitions/rebuild_partition_guards.sql
-- requires: functions/calls/call_records_check_references.sql
-- Call-detail records (issue 13): one row per call offered to a service, monthly-partitioned by
-- offered_at like contact_statistics (guards, premake, on-demand window of partition_config).
-- Intervals (contact_statistics through its history) and per-agent activity are derived from
-- them, set-based, in the transaction that loads them (sql/functions/calls/).
--
-- The error codes of call records are in sql/functions/errors/error_codes.sql, the functions in
-- sql/functions/calls/.
--
-- Versions: re-importing a call (same service, call_id and UTC month of offered_at) adds a new
-- row and clears is_current on the one it replaces; reverting a batch makes the newest remaining
-- version current again. Every version keeps its import_batch_id, so a revert is exact.

-- ---------------------------------------------------------------- batches of call records
ALTER TABLE wfm.import_batches
    ADD COLUMN kind text NOT NULL DEFAULT 'intervals'
        CONSTRAINT import_batches_kind_known CHECK (kind IN ('intervals', 'calls'));
COMMENT ON COLUMN wfm.import_batches.kind IS
    'What the batch carried: intervals (Argus files, interval JSON) or calls (call-detail records; its contact_statistics rows are derived from wfm.call_records). For calls, rows_* count call records (inserted = new calls, updated = calls that replaced an earlier version) and first/last_interval the 15-minute intervals of their offered_at.';

-- ---------------------------------------------------------------- the table
CREATE TABLE wfm.call_records (
    offered_at        timestamptz NOT NULL,
    service_id        integer NOT NULL,
    call_id           text NOT NULL
                      CONSTRAINT call_records_call_id_format CHECK (length(call_id) BETWEEN 1 AND 100),
    answered_at       timestamptz,
    ended_at          timestamptz,
    outcome           text NOT NULL
                      CONSTRAINT call_records_outcome_known CHECK (outcome IN ('answered', 'abandoned', 'other')),
    agent_code        text CONSTRAINT call_records_agent_format CHECK (length(agent_code) BETWEEN 1 AND 100),
    customer_id       text CONSTRAINT call_records_customer_format
                      CHECK (length(customer_id) BETWEEN 1 AND 100 AND customer_id <> '0'),
    wrap_up_seconds   integer CONSTRAINT call_records_wrap_up_range CHECK (wrap_up_seconds BETWEEN 0 AND 86400),
    group_id          integer,
    import_batch_id   uuid NOT NULL,
    source_row_number integer CONSTRAINT call_records_row_positive CHECK (source_row_number >= 1),
    is_current        boolean NOT NULL DEFAULT true,
    loaded_at         timestamptz NOT NULL DEFAULT now(),

    -- The validators' rules (files and JSON), as the last guard.
    CONSTRAINT call_records_answered_complete CHECK (
        outcome <> 'answered' OR (answered_at IS NOT NULL AND ended_at IS NOT NULL)),
    CONSTRAINT call_records_abandoned_complete CHECK (
        outcome <> 'abandoned' OR (answered_at IS NULL AND ended_at IS NOT NULL)),
    CONSTRAINT call_records_answered_after_offered CHECK (
        answered_at >= offered_at AND answered_at - offered_at <= interval '1 day'),
    CONSTRAINT call_records_ended_in_order CHECK (
        ended_at >= coalesce(answered_at, offered_at)
        AND ended_at - coalesce(answered_at, offered_at) <= interval '1 day')
) PARTITION BY RANGE (offered_at);

COMMENT ON TABLE wfm.call_records IS
    'Call-detail records: one row per call offered to a service and import batch (versions), partitioned by UTC month of offered_at (call_records_YYYY_MM). The current version of a call (service_id, call_id, UTC month of offered_at) has is_current; intervals and agent activity are derived from current rows.';
COMMENT ON COLUMN wfm.call_records.offered_at IS 'When the call was offered to the queue (the source''s local time converted with the service''s time zone, or an instant with offset).';
COMMENT ON COLUMN wfm.call_records.service_id IS 'Service the call was offered to.';
COMMENT ON COLUMN wfm.call_records.call_id IS 'The source system''s call identifier, unique per service within a (UTC) month.';
COMMENT ON COLUMN wfm.call_records.answered_at IS 'When an agent answered; NULL unless answered.';
COMMENT ON COLUMN wfm.call_records.ended_at IS 'End of talk; for an abandoned call, when the caller hung up.';
COMMENT ON COLUMN wfm.call_records.outcome IS 'answered, abandoned, or other (not a real offer: kept, never counted).';
COMMENT ON COLUMN wfm.call_records.agent_code IS 'Code of the agent who answered (wfm.agents.code); NULL when the source lost it.';
COMMENT ON COLUMN wfm.call_records.customer_id IS 'Caller identifier; NULL = unknown caller (the file''s empty or 0).';
COMMENT ON COLUMN wfm.call_records.wrap_up_seconds IS 'Post-call work after ended_at, seconds; NULL = not sent (counts as 0).';
COMMENT ON COLUMN wfm.call_records.group_id IS 'Group of the service the call was offered to (from the group code), NULL = none.';
COMMENT ON COLUMN wfm.call_records.import_batch_id IS 'The import batch that sent this version of the call (wfm.import_batches, kind calls).';
COMMENT ON COLUMN wfm.call_records.source_row_number IS 'Spreadsheet row (1-based, header counted) or JSON array position of the call in its input.';
COMMENT ON COLUMN wfm.call_records.is_current IS 'True for the version that counts: the newest applied, non-reverted batch''s row of the call.';
COMMENT ON COLUMN wfm.call_records.loaded_at IS 'When the row was written.';

-- A batch's rows (apply, revert): deduplicated, so cheap on COPY, as the history's batch index.
CREATE INDEX call_records_batch_idx ON wfm.call_records (import_batch_id);
COMMENT ON INDEX wfm.call_records_batch_idx IS
    'Serves the per-batch reads of apply_call_records_batch and revert_call_records_batch.';
-- Replacing and restoring versions: the earlier versions of a batch's calls.
CREATE INDEX call_records_call_idx ON wfm.call_records (service_id, call_id);
COMMENT ON INDEX wfm.call_records_call_idx IS
    'Serves finding the versions of a call (re-import replaces, revert restores) and call look-ups by id.';
-- Time ranges (re-derivation, patience, reads): rows arrive in time order per file, so a BRIN
-- index answers them at a tiny fraction of a B-tree's cost on every COPY.
CREATE INDEX call_records_offered_brin ON wfm.call_records USING brin (offered_at);
COMMENT ON INDEX wfm.call_records_offered_brin IS
    'Serves time-range scans (re-deriving intervals, wfm.estimate_patience); files arrive in time order.';

INSERT INTO wfm.partition_config (table_name) VALUES ('wfm.call_records');
SELECT wfm.rebuild_partition_guards('wfm.call_records');

-- Service and group references, checked once per statement (as contact_statistics does,
-- sql/010): per-row foreign-key triggers would cost a third of a COPY of millions of calls.
CREATE TRIGGER call_records_references_on_insert
    AFTER INSERT ON wfm.call_records
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION wfm.call_records_check_references();
CREATE TRIGGER call_records_references_on_update
    AFTER UPDATE ON wfm.call_records
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION wfm.call_records_check_references();

-- ---------------------------------------------------------------- agent activity from calls
-- Seconds logged in / ready / not ready are unknown until agent states arrive: NULL says so
-- (0 would claim the agent was logged out).
ALTER TABLE wfm.agent_activity
    ALTER COLUMN logged_in_seconds DROP NOT NULL,
    ALTER COLUMN ready_seconds DROP NOT NULL,
    ALTER COLUMN ready_seconds DROP DEFAULT,
    ALTER COLUMN not_ready_seconds DROP NOT NULL,
    ALTER COLUMN not_ready_seconds DROP DEFAULT;
-- The known states must fit in the login time: unknown (NULL) ready / not-ready count as 0 here,
-- and an unknown login time bounds nothing.
ALTER TABLE wfm.agent_activity DROP CONSTRAINT agent_activity_states_within_login;
ALTER TABLE wfm.agent_activity ADD CONSTRAINT agent_activity_states_within_login CHECK (
    coalesce(ready_seconds, 0) + talk_seconds + post_processing_seconds + coalesce(not_ready_seconds, 0)
    <= logged_in_seconds);
-- An agent can take calls of several services in one interval: one row per service.
ALTER TABLE wfm.agent_activity DROP CONSTRAINT agent_activity_pkey;
ALTER TABLE wfm.agent_activity ADD CONSTRAINT agent_activity_pkey
    PRIMARY KEY (agent_id, service_id, interval_start_time);
COMMENT ON INDEX wfm.agent_activity_pkey IS
    'One row per agent, service and interval; serves per-agent history.';
CREATE INDEX agent_activity_service_time_idx ON wfm.agent_activity (service_id, interval_start_time);
COMMENT ON INDEX wfm.agent_activity_service_time_idx IS
    'Serves api_get_agent_stats (one service, a day) and re-derivation of a service''s intervals.';

COMMENT ON TABLE wfm.agent_activity IS
    'Seconds per agent, service and 15-minute interval in each state; partitioned by UTC month (agent_activity_YYYY_MM). From call records: talk, post-processing and calls handled; logged-in, ready and not-ready stay NULL (unknown) until agent states arrive.';
COMMENT ON COLUMN wfm.agent_activity.logged_in_seconds IS 'Seconds logged in (0-900); NULL = unknown (derived from call records only).';
COMMENT ON COLUMN wfm.agent_activity.ready_seconds IS 'Seconds available, waiting for a call; NULL = unknown.';
COMMENT ON COLUMN wfm.agent_activity.talk_seconds IS 'Seconds talking: overlap of [answered_at, ended_at) of the agent''s calls with the interval.';
COMMENT ON COLUMN wfm.agent_activity.post_processing_seconds IS 'Seconds in post-call work: overlap of [ended_at, ended_at + wrap_up_seconds) with the interval.';
COMMENT ON COLUMN wfm.agent_activity.not_ready_seconds IS 'Seconds logged in but not ready (breaks, meetings); NULL = unknown.';
COMMENT ON COLUMN wfm.agent_activity.calls_handled IS 'Calls the agent answered in the interval (counted where answered_at falls).';
COMMENT ON COLUMN wfm.agent_activity.import_batch_id IS 'The batch that wrote the row: for rows derived from call records, the newest batch whose calls make it up.';
COMMENT ON COLUMN wfm.agent_activity.group_id IS 'Group within the service, if known (NULL for rows derived from call records: an agent''s calls of one interval may span groups).';

-- ---------------------------------------------------------------- staged JSON rows
CREATE TYPE wfm.staged_call_record AS (
    row_number        integer,
    service_id        integer,
    call_id           text,
    offered_at        timestamptz,
    answered_at       timestamptz,
    ended_at          timestamptz,
    outcome           text,
    agent_code        text,
    customer_id       text,
    wrap_up_seconds   integer,
    group_id          integer,
    errors            wfm.import_row_error[]
);
COMMENT ON TYPE wfm.staged_call_record IS
    'One parsed and validated call record of a JSON import: values (instants in UTC) and its problems (empty = accepted; only DUPLICATE_ROW = skipped copy).';

-- ---------------------------------------------------------------- patience
COMMENT ON COLUMN wfm.services.patience_seconds IS
    'Mean caller patience in seconds; when set, staffing uses Erlang A (abandonment) instead of Erlang C. wfm services set-patience --from-calls estimates it from call records (wfm.estimate_patience).';
