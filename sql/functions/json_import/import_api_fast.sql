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
-- The guard: every cell is read as TEXT and cast only when its shape is one the full
-- validator (wfm.stage_import_rows) accepts with the same value, so no PostgreSQL input
-- function decides anything on its own (integer input takes 0x10, 0o17, 0b1000 and 1_000;
-- timestamptz input takes 24:00, :60 leap seconds, year 0001 and DateStyle-dependent
-- 06/04/2024). Integers: 1-9 ASCII digits. Times: YYYY-MM-DD[T ]HH:MM:SS(Z|+HH:MM|-HH:MM) with
-- fields in range and years 1679-2260 (inside the validator's 1678-2261, offsets included).
-- Anything else abandons the attempt (wfm.fast_path_bail) and the validator judges the batch.
-- The rules a cast cannot break are the tables' own: CHECKs (C >= B, alignment, ranges),
-- NOT NULL, the reference triggers (unknown service/group), the upsert's unique key (an
-- interval twice), and the guard partitions (a month without partition): any failure rolls
-- the subtransaction back and returns NULLs. No partition is ever created here.
-- Set-based: one exception block per call, none per row; the guard is a few string
-- comparisons per cell in the same statement.
BEGIN
    WITH ins AS (
        INSERT INTO wfm.contact_statistics_history (
            interval_start_time, service_id, group_id, unique_incoming, non_unique_incoming,
            avg_talk_time, avg_post_processing_time, answered_calls, answered_within_sl,
            abandoned_calls, sl_threshold_seconds, import_batch_id, source_row_number)
        SELECT CASE WHEN (length(x.t) = 25 AND substr(x.t, 20, 1) IN ('+', '-') AND substr(x.t, 23, 1) = ':'
                          AND wfm.is_digits(substr(x.t, 21, 2) || substr(x.t, 24, 2))
                          AND substr(x.t, 21, 2) COLLATE "C" <= '14' AND substr(x.t, 24, 2) COLLATE "C" <= '59'
                          OR length(x.t) = 20 AND substr(x.t, 20, 1) = 'Z')
                         AND substr(x.t, 5, 1) = '-' AND substr(x.t, 8, 1) = '-' AND substr(x.t, 11, 1) IN ('T', ' ')
                         AND substr(x.t, 14, 1) = ':' AND substr(x.t, 17, 1) = ':'
                         AND wfm.is_digits(substr(x.t, 1, 4) || substr(x.t, 6, 2) || substr(x.t, 9, 2)
                                           || substr(x.t, 12, 2) || substr(x.t, 15, 2) || substr(x.t, 18, 2))
                         AND substr(x.t, 1, 4) COLLATE "C" BETWEEN '1679' AND '2260'
                         AND substr(x.t, 6, 2) COLLATE "C" BETWEEN '01' AND '12'
                         AND substr(x.t, 9, 2) COLLATE "C" BETWEEN '01' AND '31'
                         AND substr(x.t, 12, 2) COLLATE "C" <= '23' AND substr(x.t, 15, 2) COLLATE "C" <= '59'
                         AND substr(x.t, 18, 2) COLLATE "C" <= '59'
                    THEN x.t::timestamptz ELSE wfm.fast_path_bail(NULL::timestamptz) END,
               CASE WHEN length(x.svc) <= 9 AND wfm.is_digits(x.svc) THEN x.svc::integer
                    ELSE wfm.fast_path_bail(NULL::integer) END,
               CASE WHEN x.grp IS NULL THEN NULL WHEN length(x.grp) <= 9 AND wfm.is_digits(x.grp) THEN x.grp::integer
                    ELSE wfm.fast_path_bail(NULL::integer) END,
               CASE WHEN length(x.b) <= 9 AND wfm.is_digits(x.b) THEN x.b::integer
                    ELSE wfm.fast_path_bail(NULL::integer) END,
               CASE WHEN length(x.c) <= 9 AND wfm.is_digits(x.c) THEN x.c::integer
                    ELSE wfm.fast_path_bail(NULL::integer) END,
               CASE WHEN x.d IS NULL THEN NULL WHEN length(x.d) <= 5 AND wfm.is_digits(x.d) THEN x.d::integer
                    ELSE wfm.fast_path_bail(NULL::integer) END,
               CASE WHEN x.e IS NULL THEN NULL WHEN length(x.e) <= 5 AND wfm.is_digits(x.e) THEN x.e::integer
                    ELSE wfm.fast_path_bail(NULL::integer) END,
               CASE WHEN x.ans IS NULL THEN NULL WHEN length(x.ans) <= 9 AND wfm.is_digits(x.ans) THEN x.ans::integer
                    ELSE wfm.fast_path_bail(NULL::integer) END,
               CASE WHEN x.sl IS NULL THEN NULL WHEN length(x.sl) <= 9 AND wfm.is_digits(x.sl) THEN x.sl::integer
                    ELSE wfm.fast_path_bail(NULL::integer) END,
               CASE WHEN x.abd IS NULL THEN NULL WHEN length(x.abd) <= 9 AND wfm.is_digits(x.abd) THEN x.abd::integer
                    ELSE wfm.fast_path_bail(NULL::integer) END,
               CASE WHEN x.thr IS NULL THEN NULL
                    WHEN length(x.thr) <= 5 AND wfm.is_digits(x.thr) AND x.thr::integer <= 86400 THEN x.thr::integer
                    ELSE wfm.fast_path_bail(NULL::integer) END,
               p_batch, x.n
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
