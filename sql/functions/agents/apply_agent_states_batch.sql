-- Applying a batch of agent state events (issue 14), in the transaction that wrote them into
-- wfm.agent_state_transitions (files: COPY; JSON: api_batch_insert_agent_events), set-based:
--   1. the batch becomes kind 'agent_states'; the services' apply locks (the order of every
--      write path);
--   2. versions: an event (service, agent, time) sent again replaces the current version
--      (is_current moves to the new row; the old one stays for revert);
--   3. the timelines of the batch's agents: ended_at re-linked and agent_activity re-derived from
--      the event before the batch's first event of each agent to the event after its last
--      (wfm.derive_agent_states);
--   4. the batch is applied (apply_seq) and its interval range recorded.
-- p_first, p_last, p_events (optional, all or none): the span of the batch's events and their
-- number, as the caller wrote them (the file loader knows them): the batch's events are then
-- read from the months of that span only (planned without the other months' partitions, ~1.5 ms
-- a daily file); a count that differs raises (nothing is applied from a wrong span).
DROP FUNCTION IF EXISTS wfm.apply_agent_states_batch(uuid);
CREATE OR REPLACE FUNCTION wfm.apply_agent_states_batch(p_import_batch_id uuid, p_first timestamptz DEFAULT NULL,
                                                        p_last timestamptz DEFAULT NULL, p_events integer DEFAULT NULL)
RETURNS TABLE (events_inserted integer, events_replaced integer, transitions_linked integer,
               agent_rows_written integer, agent_rows_deleted integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_services integer[];
    v_first    timestamptz;
    v_last     timestamptz;
    v_total    integer;
    v_s        integer[];
    v_a        text[];
    v_lo       timestamptz[];
    v_hi       timestamptz[];
    v_bounded  boolean;   -- the caller gave the span and count
BEGIN
    PERFORM wfm.lock_batch_for_apply(p_import_batch_id, ARRAY['running']);
    UPDATE wfm.import_batches b SET kind = 'agent_states' WHERE b.import_batch_id = p_import_batch_id;

    -- the batch's agents, the span of each one's events in it, and the batch's services, span
    -- and number of events: one read of the batch's events (from the span's months only when
    -- the caller gave it). One statement for both cases: PL/pgSQL plans it with each call's values
    -- (a custom plan every call, measured), where the filter folds to the span's BETWEEN (the
    -- span's partitions only) or away (every month), as the two statements it replaced did, at
    -- the same CPU. A generic plan would not prune it, but none is used, and a forced one read a
    -- daily file in 1.1-1.4 ms against 5.8-9.3 ms for the bounded statement's pruned generic plan.
    -- Not -infinity..infinity bounds: prunable in both plan kinds, but the unbounded read cost
    -- 9-21 % more CPU (docs/benchmarks.md, session 7).
    v_bounded := p_first IS NOT NULL AND p_last IS NOT NULL AND p_events IS NOT NULL;
    SELECT pg_catalog.array_agg(DISTINCT x.service_id ORDER BY x.service_id), pg_catalog.min(x.lo),
           pg_catalog.max(x.hi), coalesce(pg_catalog.sum(x.n), 0)::integer,
           pg_catalog.array_agg(x.service_id), pg_catalog.array_agg(x.agent_code),
           pg_catalog.array_agg(x.lo), pg_catalog.array_agg(x.hi)
    INTO v_services, v_first, v_last, v_total, v_s, v_a, v_lo, v_hi
    FROM (SELECT t.service_id, t.agent_code, pg_catalog.min(t.started_at) AS lo, pg_catalog.max(t.started_at) AS hi,
                 count(*) AS n
          FROM wfm.agent_state_transitions t
          WHERE t.import_batch_id = p_import_batch_id
            AND (NOT v_bounded OR t.started_at BETWEEN p_first AND p_last)
          GROUP BY t.service_id, t.agent_code) x;
    IF v_bounded AND v_total <> p_events THEN
        RAISE EXCEPTION 'import batch % has % events from % to %, not the % its caller wrote',
            p_import_batch_id, v_total, p_first, p_last, p_events
            USING ERRCODE = 'data_exception',
                  HINT = 'Pass the first and last started_at of the events written and their number, or none of them.';
    END IF;

    events_inserted := 0; events_replaced := 0; transitions_linked := 0;
    agent_rows_written := 0; agent_rows_deleted := 0;
    IF v_total > 0 THEN
        PERFORM wfm.lock_services_for_apply(v_services);

        -- 2. the current versions this batch replaces: the other batches' current events in each
        --    agent's span (one range of the timeline index per agent; events appended after the
        --    stored ones have none), each looked up among the batch's events
        WITH candidates AS MATERIALIZED (
            SELECT o.service_id, o.agent_code, o.started_at
            FROM ROWS FROM (pg_catalog.unnest(v_s), pg_catalog.unnest(v_a), pg_catalog.unnest(v_lo),
                            pg_catalog.unnest(v_hi)) AS x(s, a, lo, hi)
            JOIN wfm.agent_state_transitions o
              ON o.service_id = x.s AND o.agent_code = x.a AND o.started_at BETWEEN x.lo AND x.hi
            WHERE o.started_at BETWEEN v_first AND v_last
              AND o.import_batch_id <> p_import_batch_id AND o.is_current
        ), displaced AS (
            UPDATE wfm.agent_state_transitions o SET is_current = false, ended_at = NULL
            FROM candidates c
            WHERE o.service_id = c.service_id AND o.agent_code = c.agent_code AND o.started_at = c.started_at
              AND o.started_at BETWEEN v_first AND v_last
              AND o.import_batch_id <> p_import_batch_id AND o.is_current
              AND EXISTS (SELECT 1 FROM wfm.agent_state_transitions n
                          WHERE n.service_id = c.service_id AND n.agent_code = c.agent_code
                            AND n.started_at = c.started_at AND n.started_at BETWEEN v_first AND v_last
                            AND n.import_batch_id = p_import_batch_id)
            RETURNING 1
        )
        SELECT count(*)::integer INTO events_replaced FROM displaced;
        events_inserted := v_total - events_replaced;

        -- 3. the timelines
        SELECT d.transitions_linked, d.rows_written, d.rows_deleted
        INTO transitions_linked, agent_rows_written, agent_rows_deleted
        FROM wfm.derive_agent_states(v_s, v_a, v_lo, v_hi, p_import_batch_id) d;
    END IF;

    -- 4. applied: apply order and the batch's interval range
    UPDATE wfm.import_batches b
    SET apply_seq = pg_catalog.nextval('wfm.import_batch_apply_seq'),
        first_interval = pg_catalog.date_bin('15 minutes', v_first, timestamptz '2000-01-01 00:00+00'),
        last_interval = pg_catalog.date_bin('15 minutes', v_last, timestamptz '2000-01-01 00:00+00')
    WHERE b.import_batch_id = p_import_batch_id;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION wfm.apply_agent_states_batch(uuid, timestamptz, timestamptz, integer) IS
    'Applies a running batch whose agent state events were written to wfm.agent_state_transitions in this transaction: replaces earlier versions of its events, re-links the state intervals (ended_at) of its agents and re-derives their agent_activity (wfm.derive_agent_states); returns events inserted/replaced, transitions re-linked, agent rows written/deleted. Call in the transaction that wrote the rows; p_first, p_last, p_events (optional): the span and number of the events written, read from those months only.';
REVOKE ALL ON FUNCTION wfm.apply_agent_states_batch(uuid, timestamptz, timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.apply_agent_states_batch(uuid, timestamptz, timestamptz, integer) TO wfm_etl;
