-- wfm.refresh_aggregates: incremental refresh of wfm.agg_hourly_stats and
-- wfm.agg_daily_service_stats (TimescaleDB's continuous aggregates are the model).
--
-- Watermark W (wfm.aggregates.materialized_until): the tables hold every UTC hour before W and
-- every local day whose local date is before W's, except what wfm.aggregate_changes lists. A
-- refresh moves W to the start of the current hour (or p_until's) and recomputes, per service:
--   hours: the logged hour spans before the old W, plus [old W, new W)
--   days:  the logged days before the old W's local date, plus [old W's date, new W's date)
-- set-based: one DELETE and one INSERT ... SELECT per table over (service, range) pairs, each
-- range an index range scan of contact_statistics. Nothing else is read, so the cost follows
-- the change, not the history. p_full (and the first build) recompute everything instead.
-- The hourly INSERTs name their columns: the table has generated columns (sql/250) between
-- wfm.hourly_rows' columns and local_start (sql/290). The hourly step also rewrites the same
-- ranges of wfm.agg_quarter_stats (sql/291, the 15-minute series: wfm.quarter_rows), so its
-- time and the log it consumed are reported with the hourly aggregate; its rows are not counted
-- in wfm.aggregates.row_count (the hourly table's).
--
-- Correctness with concurrent loads (they never wait for a refresh, nor a refresh for them):
-- the log is consumed by the FIRST statement; the recompute runs in LATER statements (READ
-- COMMITTED: newer snapshots), so every change whose log row was consumed is in the recompute.
-- A change committed after the consuming statement keeps its log row, so readers keep reading
-- those days raw and the next refresh recomputes them. Readers see the refresh atomically (one
-- transaction). Refreshes are serialized by an advisory lock; running one twice changes nothing.

CREATE OR REPLACE FUNCTION wfm.refresh_aggregates(p_full boolean DEFAULT false, p_until timestamptz DEFAULT NULL)
RETURNS TABLE (view_name text, mode text, duration_ms numeric, changes_applied integer, rows_deleted bigint,
               rows_written bigint, row_count bigint, materialized_until timestamptz)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    c_hourly  constant text := 'wfm.mv_hourly_stats';
    c_daily   constant text := 'wfm.mv_daily_service_stats';
    v_started timestamptz := clock_timestamp();
    v_t       timestamptz;
    v_old     timestamptz;
    v_new     timestamptz;
    v_full    boolean;
    v_changes integer := 0;
    v_ids     integer[];
    v_hours   tstzmultirange[];   -- per service (v_ids order): the hours to recompute
    v_days    datemultirange[];   -- per service: the local days to recompute
    v_h_del   bigint := 0;
    v_h_ins   bigint := 0;
    v_d_del   bigint := 0;
    v_d_ins   bigint := 0;
    v_h_ms    numeric;
    v_d_ms    numeric;
    v_log_ms  numeric;
BEGIN
    -- One refresh at a time (a second caller waits, then finds little left to do). Loads never
    -- take this lock: they only append to the change log.
    PERFORM pg_advisory_xact_lock(hashtext('wfm.refresh_aggregates'));
    SELECT a.materialized_until INTO v_old FROM wfm.aggregates a WHERE a.view_name = c_hourly FOR UPDATE;
    v_new := date_bin(interval '1 hour', coalesce(p_until, now()), timestamptz '2000-01-01 00:00:00+00');
    IF v_old IS NOT NULL AND v_new < v_old THEN
        v_new := v_old;   -- the watermark never moves back
    END IF;
    v_full := coalesce(p_full, false) OR v_old IS NULL;
    v_ids := ARRAY(SELECT s.service_id FROM wfm.services s ORDER BY s.service_id);

    IF v_full THEN
        DELETE FROM wfm.aggregate_changes;
        GET DIAGNOSTICS v_changes = ROW_COUNT;
        v_log_ms := extract(epoch FROM clock_timestamp() - v_started)::numeric * 1000;
        v_t := clock_timestamp();
        DELETE FROM wfm.agg_hourly_stats;
        GET DIAGNOSTICS v_h_del = ROW_COUNT;
        -- Computed by CREATE TABLE AS, then inserted: an INSERT ... SELECT never runs in parallel
        -- workers, CREATE TABLE AS (as REFRESH MATERIALIZED VIEW did) does, about 2x faster on 2
        -- cores. EXECUTE with literals: planned for these values (a scan of every partition).
        EXECUTE format('CREATE TEMP TABLE wfm_rebuild_hourly ON COMMIT DROP AS '
                       'SELECT * FROM wfm.hourly_rows(%L::integer[], ''-infinity'', %L::timestamptz)', v_ids, v_new);
        -- In key order: a service's hours then share pages (a week of one service is a few
        -- pages, not 168 scattered ones, for the readers' range scans).
        INSERT INTO wfm.agg_hourly_stats (
            service_id, hour_start, intervals, source_rows, unique_incoming, non_unique_incoming, talk_time_total,
            post_processing_time_total, answered_calls, sl_offered_calls, answered_within_sl, abandon_offered_calls,
            abandoned_calls, sl_threshold_seconds, last_loaded_at, handled_calls, local_hour_aligned, local_start)
        SELECT service_id, hour_start, intervals, source_rows, unique_incoming, non_unique_incoming, talk_time_total,
               post_processing_time_total, answered_calls, sl_offered_calls, answered_within_sl, abandon_offered_calls,
               abandoned_calls, sl_threshold_seconds, last_loaded_at, handled_calls, local_hour_aligned, local_start
        FROM pg_temp.wfm_rebuild_hourly ORDER BY service_id, hour_start;
        GET DIAGNOSTICS v_h_ins = ROW_COUNT;
        -- The hours' quarters (sql/291), the same way.
        DELETE FROM wfm.agg_quarter_stats;
        EXECUTE format('CREATE TEMP TABLE wfm_rebuild_quarter ON COMMIT DROP AS '
                       'SELECT * FROM wfm.quarter_rows(%L::integer[], ''-infinity'', %L::timestamptz)', v_ids, v_new);
        INSERT INTO wfm.agg_quarter_stats (
            service_id, interval_start, local_start, unique_incoming, non_unique_incoming, talk_time_total,
            post_processing_time_total, handled_calls, answered_calls, answered_within_sl, sl_offered_calls,
            abandoned_calls, abandon_offered_calls)
        SELECT service_id, interval_start, local_start, unique_incoming, non_unique_incoming, talk_time_total,
               post_processing_time_total, handled_calls, answered_calls, answered_within_sl, sl_offered_calls,
               abandoned_calls, abandon_offered_calls
        FROM pg_temp.wfm_rebuild_quarter ORDER BY service_id, interval_start;
        ANALYZE wfm.agg_quarter_stats;
        v_h_ms := extract(epoch FROM clock_timestamp() - v_t)::numeric * 1000;
        v_t := clock_timestamp();
        DELETE FROM wfm.agg_daily_service_stats;
        GET DIAGNOSTICS v_d_del = ROW_COUNT;
        -- Every interval before the watermark; its local day is cut, so only earlier days are kept.
        EXECUTE format('CREATE TEMP TABLE wfm_rebuild_daily ON COMMIT DROP AS '
                       'SELECT * FROM wfm.daily_rows(%L::integer[], ''-infinity'', ''infinity'', ''-infinity'', %L::timestamptz)',
                       v_ids, v_new);
        INSERT INTO wfm.agg_daily_service_stats
        SELECT x.* FROM pg_temp.wfm_rebuild_daily x
        JOIN wfm.services s ON s.service_id = x.service_id
        WHERE x.stat_date < (v_new AT TIME ZONE s.time_zone)::date
        ORDER BY x.service_id, x.stat_date, x.group_id NULLS FIRST;
        GET DIAGNOSTICS v_d_ins = ROW_COUNT;
        ANALYZE wfm.agg_hourly_stats;
        ANALYZE wfm.agg_daily_service_stats;
        v_d_ms := extract(epoch FROM clock_timestamp() - v_t)::numeric * 1000;
    ELSE
        -- 1. Consume the log and turn it, with the watermark's move, into work per service.
        WITH consumed AS (
            DELETE FROM wfm.aggregate_changes c
            RETURNING c.service_id, c.stat_date, c.range_start, c.range_end
        ), logged AS (
            SELECT c.service_id,
                   range_agg(tstzrange(c.range_start, c.range_end)) AS hours,
                   range_agg(daterange(c.stat_date, c.stat_date, '[]')) AS days,
                   count(*) AS n
            FROM consumed c GROUP BY c.service_id
        ), work AS (
            SELECT s.service_id,
                   (coalesce(l.hours, '{}') + wfm.tstz_span(v_old, 'infinity'))
                       * wfm.tstz_span('-infinity', v_new) AS hours,
                   (coalesce(l.days, '{}') + wfm.date_span((v_old AT TIME ZONE s.time_zone)::date, 'infinity'))
                       * wfm.date_span('-infinity', (v_new AT TIME ZONE s.time_zone)::date) AS days
            FROM wfm.services s
            LEFT JOIN logged l ON l.service_id = s.service_id
        )
        SELECT coalesce((SELECT sum(l.n) FROM logged l), 0)::integer,
               array_agg(w.service_id ORDER BY w.service_id),
               array_agg(w.hours ORDER BY w.service_id),
               array_agg(w.days ORDER BY w.service_id)
        INTO v_changes, v_ids, v_hours, v_days
        FROM work w
        WHERE NOT (isempty(w.hours) AND isempty(w.days));
        v_log_ms := extract(epoch FROM clock_timestamp() - v_started)::numeric * 1000;

        -- 2. Hourly: drop the rows of the work ranges, insert them recomputed.
        v_t := clock_timestamp();
        WITH w AS (
            SELECT u.service_id, lower(r) AS lo, upper(r) AS hi
            FROM unnest(v_ids, v_hours) AS u(service_id, hours) CROSS JOIN LATERAL unnest(u.hours) AS r
        ), d AS (
            DELETE FROM wfm.agg_hourly_stats h USING w
            WHERE h.service_id = w.service_id AND h.hour_start >= w.lo AND h.hour_start < w.hi
            RETURNING 1
        )
        SELECT count(*) INTO v_h_del FROM d;
        INSERT INTO wfm.agg_hourly_stats (
            service_id, hour_start, intervals, source_rows, unique_incoming, non_unique_incoming, talk_time_total,
            post_processing_time_total, answered_calls, sl_offered_calls, answered_within_sl, abandon_offered_calls,
            abandoned_calls, sl_threshold_seconds, last_loaded_at, handled_calls, local_hour_aligned, local_start)
        SELECT x.service_id, x.hour_start, x.intervals, x.source_rows, x.unique_incoming, x.non_unique_incoming,
               x.talk_time_total, x.post_processing_time_total, x.answered_calls, x.sl_offered_calls,
               x.answered_within_sl, x.abandon_offered_calls, x.abandoned_calls, x.sl_threshold_seconds,
               x.last_loaded_at, x.handled_calls, x.local_hour_aligned, x.local_start
        FROM unnest(v_ids, v_hours) AS u(service_id, hours)
        CROSS JOIN LATERAL unnest(u.hours) AS r
        CROSS JOIN LATERAL wfm.hourly_rows(ARRAY[u.service_id], lower(r), upper(r)) AS x;
        GET DIAGNOSTICS v_h_ins = ROW_COUNT;
        -- The same ranges' quarters (sql/291): a quarter row exists exactly when its hour's does.
        DELETE FROM wfm.agg_quarter_stats q
        USING unnest(v_ids, v_hours) AS u(service_id, hours) CROSS JOIN LATERAL unnest(u.hours) AS r
        WHERE q.service_id = u.service_id AND q.interval_start >= lower(r) AND q.interval_start < upper(r);
        INSERT INTO wfm.agg_quarter_stats (
            service_id, interval_start, local_start, unique_incoming, non_unique_incoming, talk_time_total,
            post_processing_time_total, handled_calls, answered_calls, answered_within_sl, sl_offered_calls,
            abandoned_calls, abandon_offered_calls)
        SELECT x.service_id, x.interval_start, x.local_start, x.unique_incoming, x.non_unique_incoming,
               x.talk_time_total, x.post_processing_time_total, x.handled_calls, x.answered_calls,
               x.answered_within_sl, x.sl_offered_calls, x.abandoned_calls, x.abandon_offered_calls
        FROM unnest(v_ids, v_hours) AS u(service_id, hours)
        CROSS JOIN LATERAL unnest(u.hours) AS r
        CROSS JOIN LATERAL wfm.quarter_rows(ARRAY[u.service_id], lower(r), upper(r)) AS x;
        v_h_ms := extract(epoch FROM clock_timestamp() - v_t)::numeric * 1000;

        -- 3. Daily: the same over local days.
        v_t := clock_timestamp();
        WITH w AS (
            SELECT u.service_id, lower(r) AS lo, upper(r) AS hi
            FROM unnest(v_ids, v_days) AS u(service_id, days) CROSS JOIN LATERAL unnest(u.days) AS r
        ), d AS (
            DELETE FROM wfm.agg_daily_service_stats x USING w
            WHERE x.service_id = w.service_id AND x.stat_date >= w.lo AND x.stat_date < w.hi
            RETURNING 1
        )
        SELECT count(*) INTO v_d_del FROM d;
        INSERT INTO wfm.agg_daily_service_stats
        SELECT x.*
        FROM unnest(v_ids, v_days) AS u(service_id, days)
        CROSS JOIN LATERAL unnest(u.days) AS r
        CROSS JOIN LATERAL wfm.daily_rows(ARRAY[u.service_id], lower(r), upper(r)) AS x;
        GET DIAGNOSTICS v_d_ins = ROW_COUNT;
        v_d_ms := extract(epoch FROM clock_timestamp() - v_t)::numeric * 1000;
    END IF;

    -- 4. The new state, and one history row per aggregate.
    UPDATE wfm.aggregates a
    SET materialized_until = v_new,
        row_count = CASE WHEN v_full THEN 0 ELSE a.row_count END
                    + CASE a.view_name WHEN c_hourly THEN v_h_ins - CASE WHEN v_full THEN 0 ELSE v_h_del END
                                       ELSE v_d_ins - CASE WHEN v_full THEN 0 ELSE v_d_del END END,
        last_refresh_at = now(),
        last_full_rebuild_at = CASE WHEN v_full THEN now() ELSE a.last_full_rebuild_at END;

    FOR view_name, mode, duration_ms, changes_applied, rows_deleted, rows_written, row_count, materialized_until IN
        SELECT a.view_name, CASE WHEN v_full THEN 'full' ELSE 'incremental' END,
               -- the log's share (consuming it) counts once, with the hourly aggregate
               round(CASE a.view_name WHEN c_hourly THEN v_log_ms + v_h_ms ELSE v_d_ms END, 1),
               CASE a.view_name WHEN c_hourly THEN v_changes ELSE 0 END,
               CASE a.view_name WHEN c_hourly THEN v_h_del ELSE v_d_del END,
               CASE a.view_name WHEN c_hourly THEN v_h_ins ELSE v_d_ins END,
               a.row_count, a.materialized_until
        FROM wfm.aggregates a ORDER BY a.refresh_order
    LOOP
        INSERT INTO wfm.view_refresh_history (view_name, started_at, duration_ms, used_concurrently, row_count,
                                              mode, changes_applied, rows_written, materialized_until)
        VALUES (view_name, v_started, duration_ms, NOT v_full, row_count, mode, changes_applied, rows_written,
                materialized_until);
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION wfm.refresh_aggregates(boolean, timestamptz) IS
    'Refreshes the aggregates behind wfm.mv_hourly_stats and wfm.mv_daily_service_stats: recomputes only the (service, day/hour) ranges in wfm.aggregate_changes and the hours since the last watermark, then moves the watermark to the start of the current hour (p_until: of that instant; never backwards). p_full => true (and the first build) recomputes everything. Serialized by an advisory lock, never blocks loads or readers; idempotent. One row per aggregate: mode, ms, log rows consumed, rows deleted/written, rows now, new watermark.';
REVOKE ALL ON FUNCTION wfm.refresh_aggregates(boolean, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.refresh_aggregates(boolean, timestamptz) TO wfm_etl;
