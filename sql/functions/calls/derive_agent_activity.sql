-- Agent activity derived from call records, per service over a range of 15-minute intervals
-- [p_lo[i], p_hi[i]] (inclusive interval starts) of service p_services[i]. From the CURRENT
-- answered calls with an agent:
--   talk_seconds             overlap of [answered_at, ended_at) with the interval (a long call
--                            spreads over intervals), summed, rounded to the second
--   post_processing_seconds  overlap of [ended_at, ended_at + wrap_up_seconds) likewise
--   calls_handled            calls answered in the interval
-- Issue 14: the call figures are combined with what agent states put on the row (state_*
-- columns, wfm.derive_agent_states) by wfm.agent_time_combined (logged_in / ready / not_ready
-- stay NULL where the states say nothing); handling_source = 'calls'. Rows of the ranges that no
-- call makes up any more are deleted, or, when agent states filled them, keep their state seconds
-- with talk and post-processing from the talking / post_processing states (handling_source
-- 'states'). The rows' import_batch_id is the newest batch (apply
-- order) among their calls; p_pending names the batch being applied (apply_seq not yet set).
-- Ranges with no agent_activity row yet (a new service-month) are written by a plain INSERT.
-- A call's activity ends at most 3 days after it was offered (wait, talk and wrap-up are each at
-- most 24 hours: the validators and call_records' CHECKs), which bounds the scan.
CREATE OR REPLACE FUNCTION wfm.derive_agent_activity(p_services integer[], p_lo timestamptz[], p_hi timestamptz[],
                                                     p_pending uuid DEFAULT NULL)
RETURNS TABLE (rows_written integer, rows_deleted integer)
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_lo      timestamptz;
    v_hi      timestamptz;
    -- the figures per agent code, service and interval (agents are created between computing
    -- them and writing them)
    v_code    text[];
    v_service integer[];
    v_iv      timestamptz[];
    v_talk    integer[];
    v_pp      integer[];
    v_handled integer[];
    v_owner   bigint[];
    v_sort    text;
BEGIN
    SELECT pg_catalog.min(l), pg_catalog.max(h) INTO v_lo, v_hi
    FROM ROWS FROM (pg_catalog.unnest(p_lo), pg_catalog.unnest(p_hi)) AS x(l, h);
    rows_written := 0;
    rows_deleted := 0;
    IF v_lo IS NULL THEN
        RETURN NEXT;
        RETURN;
    END IF;

    -- The figures are grouped by hashing, not by sorting every piece by (agent code, service,
    -- interval): the planner expects a few hundred pieces (it cannot see how many a call's
    -- generate_series gives, nor how the batches join keeps them all) and picks a sort, which for
    -- the ~67,000 pieces of a service-month was the largest single cost of the derivation (same
    -- groups, same sums either way). Restored right after: SET LOCAL would last the transaction.
    v_sort := pg_catalog.current_setting('enable_sort');
    PERFORM pg_catalog.set_config('enable_sort', 'off', true);
    WITH ranges AS MATERIALIZED (
        SELECT r.s, r.lo, r.hi FROM ROWS FROM (pg_catalog.unnest(p_services), pg_catalog.unnest(p_lo), pg_catalog.unnest(p_hi)) AS r(s, lo, hi)
    ), calls AS (
        SELECT c.agent_code, c.service_id, c.answered_at, c.ended_at,
               c.ended_at + pg_catalog.make_interval(secs => coalesce(c.wrap_up_seconds, 0)) AS act_end,
               pg_catalog.date_bin('15 minutes', c.answered_at, timestamptz '2000-01-01 00:00+00') AS first_bin,
               c.import_batch_id, r.lo, r.hi
        FROM ranges r
        JOIN wfm.call_records c ON c.service_id = r.s
        WHERE c.offered_at >= v_lo - interval '3 days' AND c.offered_at < v_hi + interval '15 minutes'
          AND c.is_current AND c.outcome = 'answered' AND c.agent_code IS NOT NULL
          AND c.answered_at < r.hi + interval '15 minutes'
          AND c.offered_at >= r.lo - interval '3 days'
    ), pieces AS (
        -- each call's overlap with every interval of the range its talk and wrap-up cover (a
        -- set-returning function in the select list: no tuplestore per call, as a lateral
        -- function scan has; most calls lie in one interval and give one row)
        SELECT x.agent_code, x.service_id, x.iv, x.import_batch_id,
               GREATEST(LEAST(x.ended_at, x.iv + interval '15 minutes') - GREATEST(x.answered_at, x.iv), interval '0') AS talk,
               GREATEST(LEAST(x.act_end, x.iv + interval '15 minutes') - GREATEST(x.ended_at, x.iv), interval '0') AS pp,
               (x.first_bin = x.iv) AS handled
        FROM (SELECT c.agent_code, c.service_id, c.answered_at, c.ended_at, c.act_end, c.first_bin, c.import_batch_id,
                     pg_catalog.generate_series(
                         GREATEST(c.first_bin, c.lo),
                         LEAST(pg_catalog.date_bin('15 minutes', GREATEST(c.act_end - interval '1 microsecond', c.answered_at),
                                                   timestamptz '2000-01-01 00:00+00'), c.hi),
                         interval '15 minutes') AS iv
              FROM calls c) x
    ), batches AS MATERIALIZED (
        -- the batches the calls can belong to (applied call batches and the one being applied),
        -- hashed and joined per piece: one aggregation instead of one per batch and a join back
        SELECT b.import_batch_id, b.apply_seq FROM wfm.import_batches b
        WHERE b.kind = 'calls' OR b.apply_seq IS NULL
    ), per_code AS (
        SELECT p.agent_code, p.service_id, p.iv,
               -- intervals summed (whole microseconds, no numeric per piece), seconds taken once
               pg_catalog.round(EXTRACT(epoch FROM pg_catalog.sum(p.talk)))::integer AS talk_seconds,
               pg_catalog.round(EXTRACT(epoch FROM pg_catalog.sum(p.pp)))::integer AS pp_seconds,
               (count(*) FILTER (WHERE p.handled))::integer AS calls_handled,
               CASE WHEN pg_catalog.bool_or(b.apply_seq IS NULL) THEN NULL ELSE pg_catalog.max(b.apply_seq) END AS owner_seq
        FROM pieces p
        JOIN batches b ON b.import_batch_id = p.import_batch_id
        GROUP BY p.agent_code, p.service_id, p.iv
        HAVING pg_catalog.sum(p.talk) > interval '0' OR pg_catalog.sum(p.pp) > interval '0'
            OR count(*) FILTER (WHERE p.handled) > 0
    )
    SELECT pg_catalog.array_agg(pc.agent_code), pg_catalog.array_agg(pc.service_id), pg_catalog.array_agg(pc.iv),
           pg_catalog.array_agg(pc.talk_seconds), pg_catalog.array_agg(pc.pp_seconds),
           pg_catalog.array_agg(pc.calls_handled), pg_catalog.array_agg(pc.owner_seq)
    INTO v_code, v_service, v_iv, v_talk, v_pp, v_handled, v_owner
    FROM per_code pc;
    PERFORM pg_catalog.set_config('enable_sort', v_sort, true);

    -- Agents are created on first sight (their code is all a call record knows): once per code
    -- among the figures, not per call.
    INSERT INTO wfm.agents (code)
    SELECT DISTINCT x.code
    FROM pg_catalog.unnest(v_code) AS x(code)
    WHERE NOT EXISTS (SELECT 1 FROM wfm.agents a WHERE a.code = x.code)
    ORDER BY 1
    ON CONFLICT (code) DO NOTHING;

    -- Fresh ranges (the usual new service-month: no row of these services and intervals yet, the
    -- services' apply locks keep it so): a plain INSERT, no conflict arbitration per row, nothing
    -- to delete or fall back.
    IF NOT EXISTS (
        SELECT 1
        FROM ROWS FROM (pg_catalog.unnest(p_services), pg_catalog.unnest(p_lo), pg_catalog.unnest(p_hi)) AS r(s, lo, hi)
        CROSS JOIN LATERAL (SELECT 1 FROM wfm.agent_activity aa
                            WHERE aa.service_id = r.s AND aa.interval_start_time BETWEEN r.lo AND r.hi
                              AND aa.interval_start_time BETWEEN v_lo AND v_hi
                            LIMIT 1) x) THEN
        INSERT INTO wfm.agent_activity (interval_start_time, agent_id, service_id, group_id, logged_in_seconds,
                                        ready_seconds, talk_seconds, post_processing_seconds, not_ready_seconds,
                                        calls_handled, import_batch_id, loaded_at, handling_source)
        SELECT f.iv, a.agent_id, f.service_id, NULL, NULL, NULL, f.talk_seconds, f.pp_seconds, NULL,
               f.calls_handled, coalesce(ob.import_batch_id, p_pending), pg_catalog.now(), 'calls'
        FROM ROWS FROM (pg_catalog.unnest(v_code), pg_catalog.unnest(v_service), pg_catalog.unnest(v_iv),
                        pg_catalog.unnest(v_talk), pg_catalog.unnest(v_pp), pg_catalog.unnest(v_handled),
                        pg_catalog.unnest(v_owner)) AS f(code, service_id, iv, talk_seconds, pp_seconds, calls_handled, owner_seq)
        JOIN wfm.agents a ON a.code = f.code
        LEFT JOIN wfm.import_batches ob ON ob.apply_seq = f.owner_seq
        -- in (service, interval) order: the (service_id, interval_start_time) index and the
        -- heap take the rows in order instead of at random (~0.02 s less a service-month)
        ORDER BY f.service_id, f.iv, a.agent_id;
        GET DIAGNOSTICS rows_written = ROW_COUNT;
        RETURN NEXT;
        RETURN;
    END IF;

    WITH ranges AS MATERIALIZED (
        SELECT r.s, r.lo, r.hi FROM ROWS FROM (pg_catalog.unnest(p_services), pg_catalog.unnest(p_lo), pg_catalog.unnest(p_hi)) AS r(s, lo, hi)
    ), figures AS MATERIALIZED (
        SELECT a.agent_id, f.service_id, f.iv, f.talk_seconds, f.pp_seconds, f.calls_handled, f.owner_seq
        FROM ROWS FROM (pg_catalog.unnest(v_code), pg_catalog.unnest(v_service), pg_catalog.unnest(v_iv),
                        pg_catalog.unnest(v_talk), pg_catalog.unnest(v_pp), pg_catalog.unnest(v_handled),
                        pg_catalog.unnest(v_owner)) AS f(code, service_id, iv, talk_seconds, pp_seconds, calls_handled, owner_seq)
        JOIN wfm.agents a ON a.code = f.code
    ), owned AS (
        SELECT f.*, coalesce(ob.import_batch_id, p_pending) AS owner
        FROM figures f
        LEFT JOIN wfm.import_batches ob ON ob.apply_seq = f.owner_seq
    ), written AS (
        -- the call figures, combined with what agent states say about the row (wfm.agent_time_combined)
        INSERT INTO wfm.agent_activity AS aa (interval_start_time, agent_id, service_id, group_id,
                                              logged_in_seconds, ready_seconds, talk_seconds,
                                              post_processing_seconds, not_ready_seconds, calls_handled,
                                              import_batch_id, loaded_at, handling_source)
        SELECT o.iv, o.agent_id, o.service_id, NULL, NULL, NULL, o.talk_seconds, o.pp_seconds, NULL,
               o.calls_handled, o.owner, pg_catalog.now(), 'calls'
        FROM owned o
        ON CONFLICT (agent_id, service_id, interval_start_time) DO UPDATE SET
            (logged_in_seconds, ready_seconds, not_ready_seconds, talk_seconds, post_processing_seconds) = (
                SELECT c.logged_in_seconds, c.ready_seconds, c.not_ready_seconds, c.talk_seconds,
                       c.post_processing_seconds
                FROM wfm.agent_time_combined(
                    aa.state_logged_in_seconds, aa.state_ready_seconds, aa.state_not_ready_seconds,
                    aa.state_talking_seconds, aa.state_post_processing_seconds,
                    EXCLUDED.talk_seconds, EXCLUDED.post_processing_seconds) c),
            calls_handled = EXCLUDED.calls_handled,
            handling_source = 'calls',
            import_batch_id = EXCLUDED.import_batch_id,
            loaded_at = pg_catalog.now()
        WHERE (aa.talk_seconds, aa.post_processing_seconds, aa.calls_handled, aa.import_batch_id, aa.handling_source)
              IS DISTINCT FROM (EXCLUDED.talk_seconds, EXCLUDED.post_processing_seconds, EXCLUDED.calls_handled,
                                EXCLUDED.import_batch_id, 'calls')
        RETURNING 1
    ), gone AS (
        DELETE FROM wfm.agent_activity aa
        USING ranges r
        WHERE aa.service_id = r.s AND aa.interval_start_time BETWEEN r.lo AND r.hi
          AND aa.interval_start_time BETWEEN v_lo AND v_hi
          AND aa.state_logged_in_seconds IS NULL
          AND NOT EXISTS (SELECT 1 FROM figures f
                          WHERE f.agent_id = aa.agent_id AND f.service_id = aa.service_id AND f.iv = aa.interval_start_time)
        RETURNING 1
    ), zeroed AS (
        -- rows agent states filled keep their state seconds; talk and post-processing fall back
        -- to the talking / post_processing states
        UPDATE wfm.agent_activity aa
        SET (logged_in_seconds, ready_seconds, not_ready_seconds, talk_seconds, post_processing_seconds) = (
                SELECT c.logged_in_seconds, c.ready_seconds, c.not_ready_seconds, c.talk_seconds,
                       c.post_processing_seconds
                FROM wfm.agent_time_combined(
                    aa.state_logged_in_seconds, aa.state_ready_seconds, aa.state_not_ready_seconds,
                    aa.state_talking_seconds, aa.state_post_processing_seconds, NULL, NULL) c),
            calls_handled = 0, handling_source = 'states', loaded_at = pg_catalog.now()
        FROM ranges r
        WHERE aa.service_id = r.s AND aa.interval_start_time BETWEEN r.lo AND r.hi
          AND aa.interval_start_time BETWEEN v_lo AND v_hi
          AND aa.state_logged_in_seconds IS NOT NULL
          AND aa.handling_source = 'calls'
          AND NOT EXISTS (SELECT 1 FROM figures f
                          WHERE f.agent_id = aa.agent_id AND f.service_id = aa.service_id AND f.iv = aa.interval_start_time)
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM written)::integer + (SELECT count(*) FROM zeroed)::integer,
           (SELECT count(*) FROM gone)::integer
    INTO rows_written, rows_deleted;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION wfm.derive_agent_activity(integer[], timestamptz[], timestamptz[], uuid) IS
    'Internal: re-derives agent_activity (talk, post-processing, calls handled per agent, service and 15-minute interval) from the current call records for per-service interval ranges, combined with the rows'' agent-state seconds (wfm.agent_time_combined); writes only rows that change, deletes rows neither calls nor states make up any more. Returns rows written and deleted.';
REVOKE ALL ON FUNCTION wfm.derive_agent_activity(integer[], timestamptz[], timestamptz[], uuid) FROM PUBLIC;
