-- The interval figures of call records, set-based: for each (service, 15-minute interval) pair
-- given, from the CURRENT call records offered in it (outcome other excluded), one service row
-- (group_id NULL: every call of the service) and one row per group that had calls:
--   non_unique_incoming  calls offered (answered + abandoned)
--   unique_incoming      distinct known callers + calls with an unknown caller
--   answered_calls, abandoned_calls
--   avg_talk_time        mean of ended_at - answered_at over answered calls, rounded to the second
--                        (half away from zero); 0 when no call was answered
--   avg_post_processing_time  mean wrap_up_seconds (missing = 0) over answered calls, likewise
--   answered_within_sl   answered calls whose wait (answered_at - offered_at) <= the service's
--                        sl_threshold_seconds; NULL with the threshold when it is 0
--   owner_apply_seq      apply_seq of the newest batch among the calls of the row; NULL when a
--                        call of the batch being applied (apply_seq not yet set) is among them
-- Intervals are UTC-aligned 15-minute bins of offered_at. Pairs without counted calls give no row.
CREATE OR REPLACE FUNCTION wfm.call_interval_figures(p_services integer[], p_intervals timestamptz[])
RETURNS TABLE (service_id integer, group_id integer, interval_start_time timestamptz,
               unique_incoming integer, non_unique_incoming integer, avg_talk_time integer,
               avg_post_processing_time integer, answered_calls integer, answered_within_sl integer,
               abandoned_calls integer, sl_threshold_seconds integer, owner_apply_seq bigint)
LANGUAGE plpgsql STABLE
SET search_path = wfm, pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_lo timestamptz;
    v_hi timestamptz;
BEGIN
    SELECT pg_catalog.min(iv), pg_catalog.max(iv) + interval '15 minutes' INTO v_lo, v_hi
    FROM pg_catalog.unnest(p_intervals) AS iv;
    IF v_lo IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
    WITH batches AS MATERIALIZED (
        -- the batches the calls can belong to (applied call batches and the one being applied),
        -- hashed and joined per call: cheaper than a DISTINCT of (row, batch) and a join back
        SELECT b.import_batch_id, b.apply_seq FROM wfm.import_batches b
        WHERE b.kind = 'calls' OR b.apply_seq IS NULL
    ), figures AS (
        SELECT p.s, c.group_id, p.iv,
               (count(DISTINCT c.customer_id COLLATE "C") + count(*) FILTER (WHERE c.customer_id IS NULL))::integer AS unique_incoming,
               count(*)::integer AS non_unique_incoming,
               -- talk summed as intervals (exact microseconds, no numeric per call), seconds taken once
               coalesce(pg_catalog.round(EXTRACT(epoch FROM pg_catalog.sum(c.talk) FILTER (WHERE c.answered))
                                         / NULLIF(count(*) FILTER (WHERE c.answered), 0)), 0)::integer AS avg_talk,
               coalesce(pg_catalog.round(pg_catalog.sum(c.wrap) FILTER (WHERE c.answered)::numeric
                                         / NULLIF(count(*) FILTER (WHERE c.answered), 0)), 0)::integer AS avg_pp,
               count(*) FILTER (WHERE c.answered)::integer AS answered,
               CASE WHEN p.threshold > 0 THEN count(*) FILTER (WHERE c.within) END::integer AS within_sl,
               count(*) FILTER (WHERE c.abandoned)::integer AS abandoned,
               NULLIF(p.threshold, 0)::integer AS threshold,
               -- the newest batch among the row's calls (NULL: the batch being applied is among them)
               CASE WHEN pg_catalog.bool_or(b.apply_seq IS NULL) THEN NULL ELSE pg_catalog.max(b.apply_seq) END AS seq
        FROM (
            -- the pairs in (service, interval) order with their service's threshold: the calls
            -- come out of the nested loop in that order, so grouping needs only an incremental
            -- sort by group within each pair (no sort of every call, no materialized call rows)
            SELECT x.s, x.iv, sv.sl_threshold_seconds AS threshold,
                   pg_catalog.make_interval(secs => sv.sl_threshold_seconds) AS sl_wait
            FROM (SELECT DISTINCT u.s, u.iv
                  FROM ROWS FROM (pg_catalog.unnest(p_services), pg_catalog.unnest(p_intervals)) AS u(s, iv)) x
            JOIN wfm.services sv ON sv.service_id = x.s
            ORDER BY x.s, x.iv) p
        CROSS JOIN LATERAL (
            -- each pair's calls by its own range scan of (service_id, offered_at): the same plan
            -- whatever the statistics say (a fresh service's rows are not in them yet, and a
            -- one-row estimate once let the planner walk (service_id, call_id, offered_at)
            -- instead); only what the figures need leaves the scan
            SELECT c.group_id, c.customer_id, c.import_batch_id,
                   c.outcome = 'answered' AS answered, c.outcome = 'abandoned' AS abandoned,
                   c.ended_at - c.answered_at AS talk, coalesce(c.wrap_up_seconds, 0) AS wrap,
                   c.outcome = 'answered' AND c.answered_at - c.offered_at <= p.sl_wait AS within
            FROM wfm.call_records c
            WHERE c.service_id = p.s AND c.offered_at >= p.iv AND c.offered_at < p.iv + interval '15 minutes'
              AND c.offered_at >= v_lo AND c.offered_at < v_hi
              AND c.is_current AND c.outcome <> 'other') c
        JOIN batches b ON b.import_batch_id = c.import_batch_id
        GROUP BY GROUPING SETS ((p.s, p.iv, p.threshold), (p.s, p.iv, p.threshold, c.group_id))
        -- the second set's NULL group is the calls without a group: the service row has them
        HAVING GROUPING(c.group_id) = 1 OR c.group_id IS NOT NULL
    )
    SELECT f.s, f.group_id, f.iv, f.unique_incoming, f.non_unique_incoming, f.avg_talk, f.avg_pp,
           f.answered, f.within_sl, f.abandoned, f.threshold, f.seq
    FROM figures f;
END
$$;
COMMENT ON FUNCTION wfm.call_interval_figures(integer[], timestamptz[]) IS
    'Internal: contact_statistics figures derived from the current call records of the given (service, 15-minute interval) pairs: a service row and one row per group, with the apply_seq of the newest batch among the calls (see the file header for every rule).';
REVOKE ALL ON FUNCTION wfm.call_interval_figures(integer[], timestamptz[]) FROM PUBLIC;
