-- Applying a batch of call records (issue 13), in the transaction that wrote them into
-- wfm.call_records (files: COPY; JSON: api_batch_insert_call_records), all set-based:
--   1. the batch becomes kind 'calls'; the services' apply locks (the order of every write path);
--   2. versions: a call (service, call_id, UTC month of offered_at) sent again replaces the
--      current version (is_current moves to the new row; the old one stays for revert);
--   3. intervals: for every (service, 15-minute interval) the batch's calls or the versions
--      they replaced fall in (calls of outcome other count nowhere, so they touch none), the
--      figures of the current calls (wfm.call_interval_figures) become this batch's history
--      rows; older call batches' derived rows of those intervals are dropped (call batches keep
--      ONE live derived row per interval, always that of the current calls, so a later revert
--      or month rebuild restores the right figures); wfm.apply_import_batch_range makes them current
--      (latest applied batch wins, against Argus rows too) and wfm.resolve_contact_statistics
--      settles intervals whose calls all moved away;
--   4. agent activity: re-derived for each service over the interval range the calls' talk and
--      wrap-up cover (wfm.derive_agent_activity).
-- Fast path: when no other applied call batch of these services overlaps the batch's months
-- (import_batches.first/last_interval), nothing can be replaced and steps 2-3 skip their joins;
-- otherwise those batches' rows are found through the batch indexes (work in proportion to the
-- batch, not to the month).
CREATE OR REPLACE FUNCTION wfm.apply_call_records_batch(p_import_batch_id uuid)
RETURNS TABLE (calls_inserted integer, calls_replaced integer, intervals_inserted integer,
               intervals_updated integer, intervals_deleted integer, agent_rows_written integer,
               agent_rows_deleted integer)
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
    v_mlo      timestamptz;
    v_mhi      timestamptz;
    v_overlap  boolean;
    v_others   uuid[];
    v_stale_s  integer[];
    v_stale_i  timestamptz[];
    v_ks       integer[];
    v_ki       timestamptz[];
    v_as       integer[];
    v_alo      timestamptz[];
    v_ahi      timestamptz[];
    v_ins      integer;
    v_upd      integer;
    v_del      integer;
    v_hfirst   timestamptz;
    v_hlast    timestamptz;
BEGIN
    PERFORM wfm.lock_batch_for_apply(p_import_batch_id, ARRAY['running']);
    UPDATE wfm.import_batches b SET kind = 'calls' WHERE b.import_batch_id = p_import_batch_id;

    -- ONE scan of the batch's calls, ONE aggregation by (service, interval): its services, span
    -- and count, the intervals its calls touch and the agent ranges (all there is to touch
    -- unless it replaces calls: step 3), taken from the ~2,500 pair rows (date_bin is monotonic:
    -- the bin of the min / max is the min / max of the bins)
    WITH per_pair AS MATERIALIZED (
        SELECT n.service_id AS s,
               pg_catalog.date_bin('15 minutes', n.offered_at, timestamptz '2000-01-01 00:00+00') AS iv,
               pg_catalog.min(n.offered_at) AS lo, pg_catalog.max(n.offered_at) AS hi, count(*) AS n,
               -- (a call of outcome other counts nowhere: it touches no interval)
               pg_catalog.bool_or(n.outcome <> 'other') AS counted,
               pg_catalog.min(n.answered_at) FILTER (WHERE n.outcome = 'answered' AND n.agent_code IS NOT NULL) AS alo,
               pg_catalog.max(GREATEST(n.ended_at + pg_catalog.make_interval(secs => coalesce(n.wrap_up_seconds, 0))
                                       - interval '1 microsecond', n.answered_at))
                   FILTER (WHERE n.outcome = 'answered' AND n.agent_code IS NOT NULL) AS ahi
        FROM wfm.call_records n WHERE n.import_batch_id = p_import_batch_id
        GROUP BY 1, 2
    )
    SELECT (SELECT pg_catalog.array_agg(DISTINCT x.s ORDER BY x.s) FROM per_pair x),
           t.lo, t.hi, t.n, k.s, k.iv, a.s, a.lo, a.hi
    INTO v_services, v_first, v_last, v_total, v_ks, v_ki, v_as, v_alo, v_ahi
    FROM (SELECT pg_catalog.min(x.lo) AS lo, pg_catalog.max(x.hi) AS hi, coalesce(pg_catalog.sum(x.n), 0)::integer AS n
          FROM per_pair x) t,
         (SELECT pg_catalog.array_agg(x.s) AS s, pg_catalog.array_agg(x.iv) AS iv FROM per_pair x WHERE x.counted) k,
         (SELECT pg_catalog.array_agg(y.s) AS s, pg_catalog.array_agg(y.lo) AS lo, pg_catalog.array_agg(y.hi) AS hi
          FROM (SELECT x.s,
                       pg_catalog.date_bin('15 minutes', pg_catalog.min(x.alo), timestamptz '2000-01-01 00:00+00') AS lo,
                       pg_catalog.date_bin('15 minutes', pg_catalog.max(x.ahi), timestamptz '2000-01-01 00:00+00') AS hi
                FROM per_pair x WHERE x.alo IS NOT NULL GROUP BY x.s) y) a;

    calls_inserted := 0; calls_replaced := 0; intervals_inserted := 0; intervals_updated := 0;
    intervals_deleted := 0; agent_rows_written := 0; agent_rows_deleted := 0;
    IF v_total = 0 THEN  -- nothing accepted: still an applied (empty) batch
        PERFORM 1 FROM wfm.apply_import_batch(p_import_batch_id);
        RETURN NEXT;
        RETURN;
    END IF;
    PERFORM wfm.lock_services_for_apply(v_services);

    v_mlo := pg_catalog.date_trunc('month', v_first AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    v_mhi := (pg_catalog.date_trunc('month', v_last AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
    -- The other applied call batches of these services in these months (their interval range is
    -- set in the transaction that applied them; the services' locks make them visible here).
    v_others := ARRAY(
        SELECT b.import_batch_id FROM wfm.import_batches b
        WHERE b.kind = 'calls' AND b.import_batch_id <> p_import_batch_id
          AND b.apply_seq IS NOT NULL AND b.status IN ('completed', 'completed_with_errors')
          AND (b.service_id IS NULL OR b.service_id = ANY (v_services))
          AND b.first_interval < v_mhi AND b.last_interval >= v_mlo);
    v_overlap := pg_catalog.cardinality(v_others) > 0;
    IF v_overlap THEN
        -- The joins below (the versions this batch replaces, the intervals it touches) pair its
        -- calls with the month's by (service, call_id): planned without statistics, a fresh
        -- month's second file scanned the month once per call (182 s instead of 2 s for 20,000).
        PERFORM wfm.analyze_partitions_without_statistics('wfm.call_records', v_mlo, v_mhi);
    END IF;

    IF v_overlap THEN
        -- 2. the current versions this batch replaces
        WITH displaced AS (
            UPDATE wfm.call_records o SET is_current = false
            FROM wfm.call_records n
            WHERE n.import_batch_id = p_import_batch_id AND n.offered_at BETWEEN v_first AND v_last
              AND o.service_id = n.service_id AND o.call_id = n.call_id
              AND o.offered_at >= v_mlo AND o.offered_at < v_mhi
              AND pg_catalog.date_trunc('month', o.offered_at AT TIME ZONE 'UTC')
                  = pg_catalog.date_trunc('month', n.offered_at AT TIME ZONE 'UTC')
              AND o.import_batch_id <> p_import_batch_id AND o.is_current
            RETURNING o.service_id, o.call_id, o.offered_at
        )
        SELECT count(*)::integer INTO calls_replaced FROM displaced;
    END IF;
    calls_inserted := v_total - calls_replaced;

    -- 3. the intervals and agent ranges the batch touches: its calls (above) and, when it replaces
    --    calls, every earlier version of them too (a corrected offered_at moves a call out of an
    --    interval)
    IF v_overlap THEN
        SELECT t.services, t.intervals, t.agent_services, t.agent_first, t.agent_last
        INTO v_ks, v_ki, v_as, v_alo, v_ahi
        FROM wfm.call_batch_touched(p_import_batch_id, v_first, v_last, v_mlo, v_mhi) t;
    END IF;

    INSERT INTO wfm.contact_statistics_history (
        interval_start_time, service_id, group_id, unique_incoming, non_unique_incoming,
        avg_talk_time, avg_post_processing_time, answered_calls, answered_within_sl,
        abandoned_calls, sl_threshold_seconds, import_batch_id, source_row_number)
    SELECT f.interval_start_time, f.service_id, f.group_id, f.unique_incoming, f.non_unique_incoming,
           f.avg_talk_time, f.avg_post_processing_time, f.answered_calls, f.answered_within_sl,
           f.abandoned_calls, f.sl_threshold_seconds, p_import_batch_id, NULL
    FROM wfm.call_interval_figures(v_ks, v_ki) f;

    IF v_overlap THEN
        -- older call batches' derived rows of these intervals are superseded by this batch's
        -- (found through the batch index: the history has no index by interval)
        DELETE FROM wfm.contact_statistics_history h
        USING ROWS FROM (pg_catalog.unnest(v_ks), pg_catalog.unnest(v_ki)) AS k(s, iv)
        WHERE h.import_batch_id = ANY (v_others)
          AND h.service_id = k.s AND h.interval_start_time = k.iv
          AND h.interval_start_time BETWEEN v_mlo AND v_mhi;
    END IF;

    -- wfm.apply_import_batch would read the history rows just written back for their span and
    -- services: the span is that of the pairs they were derived from (a superset when a pair
    -- gave no row: the bounds only prune months) and the services are locked already.
    SELECT pg_catalog.min(iv), pg_catalog.max(iv) INTO v_hfirst, v_hlast FROM pg_catalog.unnest(v_ki) AS iv;
    SELECT a.rows_inserted, a.rows_updated INTO intervals_inserted, intervals_updated
    FROM wfm.apply_import_batch_range(p_import_batch_id, v_hfirst, v_hlast, v_services) a;

    IF v_overlap THEN
        -- Keys of these intervals still held by an older call batch (a group whose calls all
        -- moved away, an interval left empty): the latest remaining batch wins, or they go.
        SELECT pg_catalog.array_agg(x.s), pg_catalog.array_agg(x.iv) INTO v_stale_s, v_stale_i
        FROM (SELECT DISTINCT cs.service_id AS s, cs.interval_start_time AS iv
              FROM wfm.contact_statistics cs
              JOIN ROWS FROM (pg_catalog.unnest(v_ks), pg_catalog.unnest(v_ki)) AS k(s, iv)
                ON cs.service_id = k.s AND cs.interval_start_time = k.iv
              WHERE cs.interval_start_time BETWEEN v_mlo AND v_mhi
                AND cs.import_batch_id = ANY (v_others)) x;
        IF v_stale_s IS NOT NULL THEN
            SELECT r.rows_inserted, r.rows_updated, r.rows_deleted INTO v_ins, v_upd, v_del
            FROM wfm.resolve_contact_statistics(v_stale_s, v_stale_i) r;
            intervals_inserted := intervals_inserted + v_ins;
            intervals_updated := intervals_updated + v_upd;
            intervals_deleted := v_del;
        END IF;
    END IF;

    -- 4. agent activity
    SELECT d.rows_written, d.rows_deleted INTO agent_rows_written, agent_rows_deleted
    FROM wfm.derive_agent_activity(v_as, v_alo, v_ahi, p_import_batch_id) d;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION wfm.apply_call_records_batch(uuid) IS
    'Applies a running batch whose call records were written to wfm.call_records in this transaction: replaces earlier versions of its calls, derives the contact_statistics of every (service, group, 15-minute interval) it touches through the history (latest applied batch wins) and re-derives agent_activity; returns calls inserted/replaced, intervals inserted/updated/deleted, agent rows written/deleted. Call in the transaction that wrote the rows.';
REVOKE ALL ON FUNCTION wfm.apply_call_records_batch(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.apply_call_records_batch(uuid) TO wfm_etl;
