-- requires: functions/partitions/rebuild_partition_guards.sql
-- requires: functions/agents/agent_state_transitions_check_references.sql
-- Agent states (issue 14): state events (files with a header row, or
-- wfm.api_batch_insert_agent_events) become intervals in wfm.agent_state_transitions (each state
-- held until the agent's next event), and those become per-interval seconds in wfm.agent_activity
-- next to the talk and post-processing time of call records. The functions are in
-- sql/functions/agents/, the error codes in sql/functions/errors/error_codes.sql.
--
-- Versions, as for call records: an event sent again (same service, agent and time) adds a row and
-- clears is_current on the one it replaces; reverting a batch makes the newest remaining version
-- current again. Every version keeps its import_batch_id, so a revert is exact.

-- ---------------------------------------------------------------- batches of agent states
ALTER TABLE wfm.import_batches DROP CONSTRAINT import_batches_kind_known;
ALTER TABLE wfm.import_batches ADD CONSTRAINT import_batches_kind_known
    CHECK (kind IN ('intervals', 'calls', 'agent_states'));
COMMENT ON COLUMN wfm.import_batches.kind IS
    'What the batch carried: intervals (Argus files, interval JSON), calls (call-detail records; its contact_statistics rows are derived from wfm.call_records) or agent_states (agent state events: wfm.agent_state_transitions, agent_activity derived). For calls and agent_states, rows_* count records (inserted = new, updated = replaced an earlier version); first/last_interval are the 15-minute intervals of their times.';

-- ---------------------------------------------------------------- the transitions
-- The table of sql/007 had no way in (nothing ever wrote it): it is replaced by a monthly-
-- partitioned one that keeps the events' versions and their batches.
DROP TABLE wfm.agent_state_transitions;

CREATE TABLE wfm.agent_state_transitions (
    started_at        timestamptz NOT NULL,
    service_id        integer NOT NULL,
    agent_code        text NOT NULL
                      CONSTRAINT agent_state_transitions_agent_format CHECK (length(agent_code) BETWEEN 1 AND 100),
    state             text NOT NULL
                      CONSTRAINT agent_state_transitions_state_known CHECK (
                          state IN ('logged_in', 'ready', 'not_ready', 'talking', 'post_processing', 'logged_out')),
    ended_at          timestamptz,
    reason            text CONSTRAINT agent_state_transitions_reason_format CHECK (length(reason) BETWEEN 1 AND 100),
    group_id          integer,
    import_batch_id   uuid NOT NULL,
    source_row_number integer CONSTRAINT agent_state_transitions_row_positive CHECK (source_row_number >= 1),
    is_current        boolean NOT NULL DEFAULT true,
    loaded_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT agent_state_transitions_order CHECK (ended_at > started_at)
) PARTITION BY RANGE (started_at);

COMMENT ON TABLE wfm.agent_state_transitions IS
    'Agent state events as intervals: each row is a state an agent held for a service from started_at (the event) until ended_at (the agent''s next current event for that service; NULL = still in it, or not current). Versions: one row per event and import batch; is_current marks the one that counts. Partitioned by UTC month of started_at (agent_state_transitions_YYYY_MM).';
COMMENT ON COLUMN wfm.agent_state_transitions.started_at IS 'When the agent entered the state (the event''s time in whole seconds, local times converted with the service''s time zone; the n-th of several states of an agent in one second is placed n-1 microseconds later, keeping the input''s order).';
COMMENT ON COLUMN wfm.agent_state_transitions.service_id IS 'Service whose events these are: an agent''s timeline is per service.';
COMMENT ON COLUMN wfm.agent_state_transitions.agent_code IS 'Agent code (wfm.agents.code; agents are created on first sight when activity is derived).';
COMMENT ON COLUMN wfm.agent_state_transitions.state IS 'logged_in, ready, not_ready, talking, post_processing or logged_out.';
COMMENT ON COLUMN wfm.agent_state_transitions.ended_at IS 'Start of the agent''s next current event (same service); NULL while the state is open (no later event yet: never guessed) or for a version that is not current.';
COMMENT ON COLUMN wfm.agent_state_transitions.reason IS 'Reason code sent with the event (not-ready reason), if any.';
COMMENT ON COLUMN wfm.agent_state_transitions.group_id IS 'Group of the service named by the event, if any.';
COMMENT ON COLUMN wfm.agent_state_transitions.import_batch_id IS 'The import batch that sent this version of the event (wfm.import_batches, kind agent_states).';
COMMENT ON COLUMN wfm.agent_state_transitions.source_row_number IS 'Spreadsheet row (1-based, header counted) or JSON array position of the event in its input.';
COMMENT ON COLUMN wfm.agent_state_transitions.is_current IS 'True for the version that counts: the newest applied, non-reverted batch''s row of the event.';
COMMENT ON COLUMN wfm.agent_state_transitions.loaded_at IS 'When the row was written.';

CREATE INDEX agent_state_transitions_timeline_idx
    ON wfm.agent_state_transitions (service_id, agent_code, started_at);
COMMENT ON INDEX wfm.agent_state_transitions_timeline_idx IS
    'Serves an agent''s timeline: the events around a batch (previous and next event), re-linking ended_at, deriving intervals, finding the versions of an event.';
CREATE INDEX agent_state_transitions_batch_idx ON wfm.agent_state_transitions (import_batch_id);
COMMENT ON INDEX wfm.agent_state_transitions_batch_idx IS
    'Serves the per-batch reads of apply_agent_states_batch and revert_agent_states_batch.';

INSERT INTO wfm.partition_config (table_name) VALUES ('wfm.agent_state_transitions');
SELECT wfm.rebuild_partition_guards('wfm.agent_state_transitions');

-- Service and group references, checked once per statement (as call_records does).
CREATE TRIGGER agent_state_transitions_references_on_insert
    AFTER INSERT ON wfm.agent_state_transitions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION wfm.agent_state_transitions_check_references();
CREATE TRIGGER agent_state_transitions_references_on_update
    AFTER UPDATE ON wfm.agent_state_transitions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION wfm.agent_state_transitions_check_references();

-- ---------------------------------------------------------------- one parsed event
CREATE TYPE wfm.staged_agent_event AS (
    row_number   integer,
    service_id   integer,
    agent_code   text,
    state        text,
    at           timestamptz,
    reason       text,
    group_id     integer,
    errors       wfm.import_row_error[]
);
COMMENT ON TYPE wfm.staged_agent_event IS
    'One parsed and validated agent state event (files and JSON: wfm.stage_agent_events): values (at in UTC, whole seconds) and its problems (empty = accepted; only DUPLICATE_ROW = skipped copy).';

-- ---------------------------------------------------------------- agent activity from states
-- What each source says, kept apart, so either can be re-derived without the other's input:
-- state_* are the seconds the agent state timeline gives (NULL = the states say nothing about
-- the interval: no events, logged out, or a state still open); handling_source says whether
-- talk/post-processing/calls_handled come from call records. logged_in/ready/not_ready/talk/
-- post-processing are the combination (wfm.agent_time_combined, docs/import.md).
ALTER TABLE wfm.agent_activity
    ADD COLUMN state_logged_in_seconds integer,
    ADD COLUMN state_ready_seconds integer,
    ADD COLUMN state_not_ready_seconds integer,
    ADD COLUMN state_talking_seconds integer,
    ADD COLUMN state_post_processing_seconds integer,
    ADD COLUMN handling_source text NOT NULL DEFAULT 'calls'
        CONSTRAINT agent_activity_handling_source_known CHECK (handling_source IN ('calls', 'states'));
ALTER TABLE wfm.agent_activity ADD CONSTRAINT agent_activity_state_seconds CHECK (
    state_logged_in_seconds BETWEEN 1 AND 900
    AND state_ready_seconds >= 0 AND state_not_ready_seconds >= 0
    AND state_talking_seconds >= 0 AND state_post_processing_seconds >= 0
    AND state_ready_seconds + state_not_ready_seconds + state_talking_seconds + state_post_processing_seconds
        <= state_logged_in_seconds);
ALTER TABLE wfm.agent_activity ADD CONSTRAINT agent_activity_state_seconds_together CHECK (
    (state_logged_in_seconds IS NULL) = (state_ready_seconds IS NULL)
    AND (state_logged_in_seconds IS NULL) = (state_not_ready_seconds IS NULL)
    AND (state_logged_in_seconds IS NULL) = (state_talking_seconds IS NULL)
    AND (state_logged_in_seconds IS NULL) = (state_post_processing_seconds IS NULL));

COMMENT ON COLUMN wfm.agent_activity.state_logged_in_seconds IS
    'Seconds the agent state events put the agent in any state but logged_out in this interval; NULL = the states say nothing (no events, or a state still open).';
COMMENT ON COLUMN wfm.agent_activity.state_ready_seconds IS 'Seconds in state ready (from the events; NULL with state_logged_in_seconds).';
COMMENT ON COLUMN wfm.agent_activity.state_not_ready_seconds IS 'Seconds in state not_ready (from the events).';
COMMENT ON COLUMN wfm.agent_activity.state_talking_seconds IS 'Seconds in state talking (from the events; sources that send it).';
COMMENT ON COLUMN wfm.agent_activity.state_post_processing_seconds IS 'Seconds in state post_processing (from the events; sources that send it).';
COMMENT ON COLUMN wfm.agent_activity.handling_source IS
    'calls: talk_seconds, post_processing_seconds and calls_handled come from call records; states: from the talking/post_processing states (no call records for the agent in the interval).';
COMMENT ON COLUMN wfm.agent_activity.logged_in_seconds IS
    'Seconds logged in (0-900): the states'' figure, raised to the handling time when calls show the agent on the phone longer than the states had them logged in; NULL = unknown (no state events).';
COMMENT ON COLUMN wfm.agent_activity.ready_seconds IS
    'Seconds available and idle, waiting for a call: time in ready/talking/post_processing states minus the handling time (talk + post-processing); NULL = unknown.';
COMMENT ON COLUMN wfm.agent_activity.not_ready_seconds IS
    'Seconds logged in but not ready (breaks, meetings), less any handling time beyond the ready states (after-call work reported as not ready); NULL = unknown.';
COMMENT ON COLUMN wfm.agent_activity.talk_seconds IS
    'Seconds talking: from call records when the agent has any in the interval, else from the talking state.';
COMMENT ON COLUMN wfm.agent_activity.post_processing_seconds IS
    'Seconds in post-call work: from call records (wrap_up_seconds) when the agent has any in the interval, else from the post_processing state.';
COMMENT ON TABLE wfm.agent_activity IS
    'Seconds per agent, service and 15-minute interval in each state; partitioned by UTC month (agent_activity_YYYY_MM). Talk, post-processing and calls handled from call records (else from talking/post_processing states); logged-in, ready and not-ready from agent state events (NULL = unknown). The state_* columns keep what the states alone say.';

-- ---------------------------------------------------------------- staffing tolerance
ALTER TABLE wfm.services
    ADD COLUMN understaffing_tolerance numeric(5, 4) NOT NULL DEFAULT 0.10
        CONSTRAINT services_understaffing_tolerance_range CHECK (understaffing_tolerance >= 0 AND understaffing_tolerance < 1);
COMMENT ON COLUMN wfm.services.understaffing_tolerance IS
    'Share of the required agents an interval may lack before plan versus actual calls it understaffed (0.10: available agents below 90% of required).';
