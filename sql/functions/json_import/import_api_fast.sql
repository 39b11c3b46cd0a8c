CREATE OR REPLACE FUNCTION wfm.import_api_fast(p_calls jsonb, p_batch uuid,
                                               OUT rows_total integer, OUT first_interval timestamptz,
                                               OUT last_interval timestamptz, OUT months text[],
                                               OUT rows_inserted integer, OUT rows_updated integer)
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog, pg_temp
AS $$
-- Optimistic load of a clean API batch in ONE typed pass (jsonb_to_recordset in C) inside a
-- subtransaction: history insert + wfm.apply_import_batch.
--
-- The guard: every cell is read as TEXT, and a row goes in only when all its cells have a
-- shape the full validator (wfm.stage_import_rows) accepts with the same value, so no
-- PostgreSQL input function decides anything on its own (integer input takes 0x10, 0o17,
-- 0b1000 and 1_000; timestamptz input takes 24:00, :60 leap seconds, year 0001, offsets up to
-- 15:59 and DateStyle-dependent 06/04/2024). Integers: ASCII digits only (int4in rejects
-- empty and too long ones). Times: exactly YYYY-MM-DD[T ]HH:MM:SS(Z|+HH:MM|-HH:MM), hour not
-- 24, second not 60, offset hour not 15 (larger ones, impossible days, hours, minutes and
-- seconds make timestamptz input fail); years 1679-2260 (inside the validator's 1678-2261,
-- offsets included), checked on the batch's first/last interval. One CASE per
-- row holds the guard: a row that fails it bails (wfm.fast_path_bail), which aborts the
-- whole statement, so the casts of its other cells never reach the table.
-- The rules a cast cannot break are the tables' own: CHECKs (C >= B, alignment, ranges),
-- NOT NULL, the reference triggers (unknown service/group), the upsert's unique key (an
-- interval twice), and the guard partitions (a month without partition): any failure rolls
-- the subtransaction back and returns NULLs. No partition is ever created here.
-- Set-based: one exception block per call, none per row; the guard is one translate, one
-- ltrim and a few comparisons per row in the same statement (benchmarked: wfm bench api-insert).
BEGIN
    WITH ins AS (
        INSERT INTO wfm.contact_statistics_history (
            interval_start_time, service_id, group_id, unique_incoming, non_unique_incoming,
            avg_talk_time, avg_post_processing_time, answered_calls, answered_within_sl,
            abandoned_calls, sl_threshold_seconds, import_batch_id, source_row_number)
        SELECT x.t::timestamptz, x.svc::integer, x.grp::integer, x.b::integer, x.c::integer, x.d::integer,
               x.e::integer, x.ans::integer, x.sl::integer, x.abd::integer,
               CASE WHEN x.thr::integer > 86400 THEN wfm.fast_path_bail(NULL::integer) ELSE x.thr::integer END,
               p_batch,
               -- the guard, once per row (any bail aborts the whole statement, so the casts of a
               -- row that fails it never reach the table)
               CASE WHEN ltrim(concat(x.svc, x.grp, x.b, x.c, x.d, x.e, x.ans, x.sl, x.abd, x.thr), '0123456789') = ''
                         AND translate(x.t, '0123456789', '0000000000') IN (
                             '0000-00-00T00:00:00+00:00', '0000-00-00T00:00:00-00:00', '0000-00-00T00:00:00Z',
                             '0000-00-00 00:00:00+00:00', '0000-00-00 00:00:00-00:00', '0000-00-00 00:00:00Z')
                         -- 24:00, a leap second :60 and a +-15:MM offset (PostgreSQL takes them all)
                         AND x.t NOT LIKE '___________24%' AND x.t NOT LIKE '_________________60%'
                         AND x.t NOT LIKE '____________________15%'
                    THEN x.n ELSE wfm.fast_path_bail(NULL::bigint) END
        FROM ROWS FROM (jsonb_to_recordset(p_calls) AS (
                 service_id text, group_id text, interval_start text, unique_incoming text,
                 non_unique_incoming text, avg_talk_time text, avg_post_processing_time text,
                 answered_calls text, answered_within_sl text, abandoned_calls text,
                 sl_threshold_seconds text)) WITH ORDINALITY
             AS x(svc, grp, t, b, c, d, e, ans, sl, abd, thr, n)
        RETURNING interval_start_time
    )
    SELECT count(*)::integer, min(i.interval_start_time), max(i.interval_start_time),
           array_agg(DISTINCT to_char(i.interval_start_time AT TIME ZONE 'UTC', 'YYYY-MM'))
    INTO rows_total, first_interval, last_interval, months
    FROM ins i;
    IF rows_total = 0 THEN
        RAISE EXCEPTION 'empty batch' USING ERRCODE = 'WFMFP';
    END IF;
    -- the supported years (validator: 1678-2261), checked once on the batch's range
    IF first_interval < timestamptz '1679-01-01 00:00+00' OR last_interval >= timestamptz '2261-01-01 00:00+00' THEN
        RAISE EXCEPTION 'interval outside the supported years' USING ERRCODE = 'WFMFP';
    END IF;
    SELECT a.rows_inserted, a.rows_updated INTO rows_inserted, rows_updated
    FROM wfm.apply_import_batch(p_batch) a;
EXCEPTION WHEN OTHERS THEN
    -- any problem (a bail, a CHECK, a guard partition, ...): the validator takes over
    rows_total := NULL; first_interval := NULL; last_interval := NULL; months := NULL;
    rows_inserted := NULL; rows_updated := NULL;
END
$$;
COMMENT ON FUNCTION wfm.import_api_fast(jsonb, uuid) IS
    'Internal: optimistic one-pass load of a clean API batch (history + apply) in a subtransaction, only for cells whose shape the full validator accepts with the same value (decimal integers, ISO 8601 times with offset in range); NULLs when any row needs the full validator. Never creates partitions. One exception block per call, none per row.';
REVOKE ALL ON FUNCTION wfm.import_api_fast(jsonb, uuid) FROM PUBLIC;
