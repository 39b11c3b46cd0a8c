-- Agent state timelines into intervals, for the agents whose events changed (a batch applied or
-- reverted), all set-based. Agent i is (p_services[i], p_agents[i]); its changed events lie in
-- [p_lo[i], p_hi[i]]. What changes is the agent's timeline from the current event before p_lo
-- (its state now ends elsewhere) to the first current event after p_hi:
--   1. ended_at of the current events in that span = the next current event's started_at (NULL
--      for the last event of the timeline: open, never guessed);
--   2. agent_activity of every 15-minute interval the span touches, recomputed from ALL current
--      events overlapping it: per interval, seconds logged in (any state but logged_out), ready,
--      not_ready, talking, post_processing (state_* columns). An interval touched by a state that
--      is still open, or with no logged-in time, has no state figures (NULL): the states say
--      nothing about it. The visible columns are wfm.agent_time_combined of these and the call
--      records' figures already on the row (handling_source = calls).
-- Rows of the span whose state figures go away are deleted unless call records made them (those
-- keep their call figures, state columns NULL). Agents are created on first sight.
-- A row's import_batch_id is the newest batch (apply order) among the events that make it up;
-- p_batch names the batch being applied (no apply_seq yet). Returns transitions re-linked,
-- agent_activity rows written and deleted.
CREATE OR REPLACE FUNCTION wfm.derive_agent_states(p_services integer[], p_agents text[], p_lo timestamptz[],
                                                   p_hi timestamptz[], p_batch uuid)
RETURNS TABLE (transitions_linked integer, rows_written integer, rows_deleted integer)
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_s       integer[];
    v_a       text[];
    v_from    timestamptz[];
    v_to      timestamptz[];
    v_succ    boolean[];
    v_min     timestamptz;
    v_max     timestamptz;
    v_ivlo    timestamptz;
    v_ivhi    timestamptz;
    v_ivend   timestamptz;
BEGIN
    transitions_linked := 0; rows_written := 0; rows_deleted := 0;
    IF p_services IS NULL OR pg_catalog.cardinality(p_services) = 0 THEN
        RETURN NEXT;
        RETURN;
    END IF;

    -- The span of each agent: from the event before its changed ones to the event after them.
    WITH r AS (
        SELECT r.s, r.a, r.lo, r.hi
        FROM ROWS FROM (pg_catalog.unnest(p_services), pg_catalog.unnest(p_agents), pg_catalog.unnest(p_lo),
                        pg_catalog.unnest(p_hi)) AS r(s, a, lo, hi)
    ), b AS (
        SELECT r.s, r.a,
               coalesce((SELECT t.started_at FROM wfm.agent_state_transitions t
                         WHERE t.service_id = r.s AND t.agent_code = r.a AND t.started_at < r.lo AND t.is_current
                         ORDER BY t.started_at DESC LIMIT 1), r.lo) AS from_at,
               (SELECT t.started_at FROM wfm.agent_state_transitions t
                WHERE t.service_id = r.s AND t.agent_code = r.a AND t.started_at > r.hi AND t.is_current
                ORDER BY t.started_at LIMIT 1) AS succ,
               r.hi
        FROM r
    )
    SELECT pg_catalog.array_agg(b.s), pg_catalog.array_agg(b.a), pg_catalog.array_agg(b.from_at),
           pg_catalog.array_agg(coalesce(b.succ, b.hi)), pg_catalog.array_agg(b.succ IS NOT NULL),
           pg_catalog.min(b.from_at), pg_catalog.max(coalesce(b.succ, b.hi))
    INTO v_s, v_a, v_from, v_to, v_succ, v_min, v_max
    FROM b;
    v_ivlo := pg_catalog.date_bin('15 minutes', v_min, timestamptz '2000-01-01 00:00+00');
    v_ivhi := pg_catalog.date_bin('15 minutes', v_max, timestamptz '2000-01-01 00:00+00');
    -- the end of the last interval, as a value: "v_ivhi + interval" is only stable (time zone
    -- rules), so the planner could not leave out the partitions of the months after it
    v_ivend := v_ivhi + interval '15 minutes';

    -- 1. ended_at: the next current event (the span's last event keeps its own when it is the
    --    event after the changed ones; otherwise it is the timeline's last: open)
    WITH spans AS (
        SELECT x.s, x.a, x.f, x.t, x.succ
        FROM ROWS FROM (pg_catalog.unnest(v_s), pg_catalog.unnest(v_a), pg_catalog.unnest(v_from),
                        pg_catalog.unnest(v_to), pg_catalog.unnest(v_succ)) AS x(s, a, f, t, succ)
    ), nexts AS (
        SELECT e.service_id, e.agent_code, e.started_at, e.ended_at, sp.t, sp.succ,
               pg_catalog.lead(e.started_at) OVER (PARTITION BY e.service_id, e.agent_code ORDER BY e.started_at) AS next_at
        FROM spans sp
        JOIN wfm.agent_state_transitions e
          ON e.service_id = sp.s AND e.agent_code = sp.a AND e.started_at BETWEEN sp.f AND sp.t
        WHERE e.is_current AND e.started_at BETWEEN v_min AND v_max
    ), changed AS MATERIALIZED (
        -- only the events whose end moves are looked up again (a file's events mostly arrive
        -- linked already: the loader sends each one's end as far as the file knows)
        SELECT n.service_id, n.agent_code, n.started_at, n.next_at
        FROM nexts n
        WHERE (n.started_at < n.t OR NOT n.succ) AND n.ended_at IS DISTINCT FROM n.next_at
    ), linked AS (
        UPDATE wfm.agent_state_transitions t SET ended_at = n.next_at
        FROM changed n
        WHERE t.service_id = n.service_id AND t.agent_code = n.agent_code AND t.started_at = n.started_at
          AND t.started_at BETWEEN v_min AND v_max AND t.is_current
          AND t.ended_at IS DISTINCT FROM n.next_at
        RETURNING 1
    )
    SELECT count(*)::integer INTO transitions_linked FROM linked;

    INSERT INTO wfm.agents (code)
    SELECT DISTINCT x.a FROM pg_catalog.unnest(v_a) AS x(a)
    WHERE NOT EXISTS (SELECT 1 FROM wfm.agents g WHERE g.code = x.a)
    ORDER BY 1
    ON CONFLICT (code) DO NOTHING;

    -- 2. the intervals of each span, from every current event overlapping them
    WITH spans AS MATERIALIZED (
        SELECT x.s, x.a, g.agent_id,
               pg_catalog.date_bin('15 minutes', x.f, timestamptz '2000-01-01 00:00+00') AS ivlo,
               pg_catalog.date_bin('15 minutes', x.t, timestamptz '2000-01-01 00:00+00') AS ivhi
        FROM ROWS FROM (pg_catalog.unnest(v_s), pg_catalog.unnest(v_a), pg_catalog.unnest(v_from),
                        pg_catalog.unnest(v_to)) AS x(s, a, f, t)
        JOIN wfm.agents g ON g.code = x.a
    ), events AS (
        SELECT sp.s, sp.agent_id, sp.ivlo, sp.ivhi, e.state, e.started_at, e.ended_at, e.import_batch_id
        FROM spans sp
        JOIN wfm.agent_state_transitions e
          ON e.service_id = sp.s AND e.agent_code = sp.a
         AND e.started_at >= sp.ivlo AND e.started_at < sp.ivhi + interval '15 minutes'
        WHERE e.is_current AND e.started_at >= v_ivlo AND e.started_at < v_ivend
        UNION ALL
        -- the state the agent was in when the first interval began
        SELECT sp.s, sp.agent_id, sp.ivlo, sp.ivhi, p.state, p.started_at, p.ended_at, p.import_batch_id
        FROM spans sp
        CROSS JOIN LATERAL (
            SELECT e.state, e.started_at, e.ended_at, e.import_batch_id FROM wfm.agent_state_transitions e
            WHERE e.service_id = sp.s AND e.agent_code = sp.a AND e.started_at < sp.ivlo AND e.is_current
              AND e.started_at < v_ivhi   -- (sp.ivlo <= v_ivhi: prunes the months after the spans)
            ORDER BY e.started_at DESC LIMIT 1) p
    ), pieces AS (
        SELECT ev.s, ev.agent_id, g.iv, ev.state, (ev.ended_at IS NULL) AS open, ev.import_batch_id,
               -- one exact (numeric) EXTRACT of the piece's length, rounded to whole seconds
               CASE WHEN ev.ended_at IS NULL THEN 0 ELSE
                   EXTRACT(epoch FROM LEAST(ev.ended_at, g.iv + interval '15 minutes')
                                      - GREATEST(ev.started_at, g.iv))::integer END AS secs
        FROM events ev
        CROSS JOIN LATERAL pg_catalog.generate_series(
            GREATEST(pg_catalog.date_bin('15 minutes', ev.started_at, timestamptz '2000-01-01 00:00+00'), ev.ivlo),
            LEAST(pg_catalog.date_bin('15 minutes', coalesce(ev.ended_at - interval '1 second', ev.started_at),
                                      timestamptz '2000-01-01 00:00+00'), ev.ivhi),
            interval '15 minutes') AS g(iv)
        WHERE ev.state <> 'logged_out' AND (ev.ended_at IS NULL OR ev.ended_at > ev.ivlo)
    ), figures AS MATERIALIZED (
        SELECT p.s, p.agent_id, p.iv,
               pg_catalog.sum(p.secs)::integer AS logged_in,
               coalesce(pg_catalog.sum(p.secs) FILTER (WHERE p.state = 'ready'), 0)::integer AS ready,
               coalesce(pg_catalog.sum(p.secs) FILTER (WHERE p.state = 'not_ready'), 0)::integer AS not_ready,
               coalesce(pg_catalog.sum(p.secs) FILTER (WHERE p.state = 'talking'), 0)::integer AS talking,
               coalesce(pg_catalog.sum(p.secs) FILTER (WHERE p.state = 'post_processing'), 0)::integer AS post,
               -- the row's batch: the newest (apply order) among its events; the batch being
               -- applied has no apply_seq yet
               CASE WHEN pg_catalog.bool_or(b.apply_seq IS NULL) THEN NULL ELSE pg_catalog.max(b.apply_seq) END AS owner_seq
        FROM pieces p
        JOIN wfm.import_batches b ON b.import_batch_id = p.import_batch_id
        GROUP BY p.s, p.agent_id, p.iv
        HAVING NOT pg_catalog.bool_or(p.open) AND pg_catalog.sum(p.secs) > 0
    ), existing AS MATERIALIZED (
        -- the spans' stored rows, read once: per span one range of the primary key (agent,
        -- service, time), in its order (a join planned freely took the (service, time) index or
        -- a scan of the whole month). Every key the figures can have lies in its span's range.
        -- No other transaction writes them meanwhile: every writer of a service's agent_activity
        -- holds its apply lock (wfm.lock_services_for_apply), so a plain INSERT of the keys not
        -- found here cannot conflict (ON CONFLICT's speculative insertion cost ~1/3 of the write).
        SELECT aa.agent_id, aa.service_id, aa.interval_start_time, aa.handling_source, aa.talk_seconds,
               aa.post_processing_seconds, aa.import_batch_id, aa.state_logged_in_seconds, aa.state_ready_seconds,
               aa.state_not_ready_seconds, aa.state_talking_seconds, aa.state_post_processing_seconds
        FROM spans sp
        CROSS JOIN LATERAL (
            SELECT a.agent_id, a.service_id, a.interval_start_time, a.handling_source, a.talk_seconds,
                   a.post_processing_seconds, a.import_batch_id, a.state_logged_in_seconds, a.state_ready_seconds,
                   a.state_not_ready_seconds, a.state_talking_seconds, a.state_post_processing_seconds
            FROM wfm.agent_activity a
            WHERE a.agent_id = sp.agent_id AND a.service_id = sp.s
              AND a.interval_start_time BETWEEN sp.ivlo AND sp.ivhi
              AND a.interval_start_time BETWEEN v_ivlo AND v_ivhi
            ORDER BY a.agent_id, a.service_id, a.interval_start_time) aa
    ), inserted AS (
        INSERT INTO wfm.agent_activity (
            interval_start_time, agent_id, service_id, group_id, logged_in_seconds, ready_seconds, talk_seconds,
            post_processing_seconds, not_ready_seconds, calls_handled, import_batch_id, loaded_at,
            state_logged_in_seconds, state_ready_seconds, state_not_ready_seconds, state_talking_seconds,
            state_post_processing_seconds, handling_source)
        SELECT f.iv, f.agent_id, f.s, NULL, c.logged_in_seconds, c.ready_seconds, c.talk_seconds,
               c.post_processing_seconds, c.not_ready_seconds, 0, coalesce(ob.import_batch_id, p_batch), pg_catalog.now(),
               f.logged_in, f.ready, f.not_ready, f.talking, f.post, 'states'
        FROM figures f
        LEFT JOIN wfm.import_batches ob ON ob.apply_seq = f.owner_seq
        CROSS JOIN LATERAL wfm.agent_time_combined(f.logged_in, f.ready, f.not_ready, f.talking, f.post,
                                                   NULL, NULL) c
        WHERE NOT EXISTS (SELECT 1 FROM existing e
                          WHERE e.agent_id = f.agent_id AND e.service_id = f.s AND e.interval_start_time = f.iv)
        RETURNING 1
    ), updated AS (
        -- stored rows whose state figures change: the calls' talk and post-processing (rows the
        -- call records made) stay and are combined with the new states, and so does their batch
        UPDATE wfm.agent_activity aa SET
            state_logged_in_seconds = f.logged_in, state_ready_seconds = f.ready,
            state_not_ready_seconds = f.not_ready, state_talking_seconds = f.talking,
            state_post_processing_seconds = f.post,
            logged_in_seconds = c.logged_in_seconds, ready_seconds = c.ready_seconds,
            not_ready_seconds = c.not_ready_seconds, talk_seconds = c.talk_seconds,
            post_processing_seconds = c.post_processing_seconds,
            import_batch_id = CASE WHEN e.handling_source = 'calls' THEN e.import_batch_id
                                   ELSE coalesce(ob.import_batch_id, p_batch) END,
            loaded_at = pg_catalog.now()
        FROM figures f
        JOIN existing e ON e.agent_id = f.agent_id AND e.service_id = f.s AND e.interval_start_time = f.iv
        LEFT JOIN wfm.import_batches ob ON ob.apply_seq = f.owner_seq
        CROSS JOIN LATERAL wfm.agent_time_combined(
            f.logged_in, f.ready, f.not_ready, f.talking, f.post,
            CASE WHEN e.handling_source = 'calls' THEN e.talk_seconds END,
            CASE WHEN e.handling_source = 'calls' THEN e.post_processing_seconds END) c
        WHERE aa.agent_id = e.agent_id AND aa.service_id = e.service_id
          AND aa.interval_start_time = e.interval_start_time
          AND aa.interval_start_time BETWEEN v_ivlo AND v_ivhi
          AND (e.state_logged_in_seconds, e.state_ready_seconds, e.state_not_ready_seconds,
               e.state_talking_seconds, e.state_post_processing_seconds)
              IS DISTINCT FROM (f.logged_in, f.ready, f.not_ready, f.talking, f.post)
        RETURNING 1
    ), stale AS (
        -- rows of the spans the states no longer fill
        SELECT e.agent_id, e.service_id, e.interval_start_time, e.handling_source
        FROM existing e
        WHERE e.state_logged_in_seconds IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM figures f
                          WHERE f.agent_id = e.agent_id AND f.s = e.service_id AND f.iv = e.interval_start_time)
    ), gone AS (
        DELETE FROM wfm.agent_activity aa
        USING stale st
        WHERE aa.agent_id = st.agent_id AND aa.service_id = st.service_id
          AND aa.interval_start_time = st.interval_start_time
          AND aa.interval_start_time BETWEEN v_ivlo AND v_ivhi
          AND st.handling_source = 'states'
        RETURNING 1
    ), cleared AS (
        -- call records made these rows: they keep the calls' figures, the states say nothing now
        UPDATE wfm.agent_activity aa
        SET state_logged_in_seconds = NULL, state_ready_seconds = NULL, state_not_ready_seconds = NULL,
            state_talking_seconds = NULL, state_post_processing_seconds = NULL,
            logged_in_seconds = NULL, ready_seconds = NULL, not_ready_seconds = NULL,
            loaded_at = pg_catalog.now()
        FROM stale st
        WHERE aa.agent_id = st.agent_id AND aa.service_id = st.service_id
          AND aa.interval_start_time = st.interval_start_time
          AND aa.interval_start_time BETWEEN v_ivlo AND v_ivhi
          AND st.handling_source = 'calls'
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM inserted)::integer + (SELECT count(*) FROM updated)::integer
           + (SELECT count(*) FROM cleared)::integer,
           (SELECT count(*) FROM gone)::integer
    INTO rows_written, rows_deleted;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION wfm.derive_agent_states(integer[], text[], timestamptz[], timestamptz[], uuid) IS
    'Internal: for agents (service, agent code) whose events in [p_lo, p_hi] changed, re-links ended_at of their current events from the event before to the event after, and re-derives the agent_activity of the intervals in between (state_* seconds and their combination with the call records'' figures, wfm.agent_time_combined); rows the states no longer fill are deleted, or keep only their call figures. Returns transitions re-linked, rows written and deleted.';
REVOKE ALL ON FUNCTION wfm.derive_agent_states(integer[], text[], timestamptz[], timestamptz[], uuid) FROM PUBLIC;
