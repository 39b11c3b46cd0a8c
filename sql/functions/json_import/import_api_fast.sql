CREATE OR REPLACE FUNCTION wfm.import_api_fast(p_calls jsonb, p_batch uuid,
                                               OUT rows_total integer, OUT first_interval timestamptz,
                                               OUT last_interval timestamptz, OUT months text[],
                                               OUT rows_inserted integer, OUT rows_updated integer)
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog, pg_temp
AS $$
-- Optimistic load of a clean API batch in ONE typed pass (jsonb_to_recordset in C; the compact
-- form: one `->>` per field and row) inside a subtransaction: history insert +
-- wfm.apply_import_batch_range.
--
-- The guard: every cell is read as TEXT, and the batch goes in only when all its cells have a
-- shape the full validator (wfm.stage_import_rows) accepts with the same value, so no
-- PostgreSQL input function decides anything on its own (integer input takes 0x10, 0o17,
-- 0b1000, 1_000, signs and white space; timestamptz input takes 24:00, :60 leap seconds, year
-- 0001, offsets up to 15:59 and DateStyle-dependent 06/04/2024). Integers: ASCII digits only
-- (int4in rejects empty and too long ones). Times: exactly YYYY-MM-DD[T ]HH:MM:SS(Z|+HH:MM|-HH:MM),
-- hour not 24, second not 60, offset hour not 15 (larger ones, impossible days, hours,
-- minutes and seconds make timestamptz input fail); years 1679-2260 (inside the validator's
-- 1678-2261, offsets included), checked on the batch's first/last interval.
--
-- The guard is checked per BATCH, not per row: the parsed cells are kept once (a materialized
-- CTE), every integer cell of the batch is joined into one string and every time into another,
-- and one regular expression judges each string (a regex run over 10,000 rows costs about
-- what one translate() costs over 1,000). The separator ',' is not a digit, so a cell holding
-- one passes the integer regex but fails its cast; a time cell holding one is caught by
-- counting the separators. Any failure (a guard bail, a cast, a CHECK, NOT NULL, the reference
-- triggers, the upsert's unique key, a guard partition) rolls the subtransaction back and
-- returns NULLs: the full validator takes over. No partition is ever created here.
-- Set-based: one exception block per call, none per row (benchmarked: wfm bench api-insert).
DECLARE
    v_services    integer[];
    v_service_min integer;
    v_service_max integer;
    v_layout      record;  -- wfm.compact_form_header: objects or the compact form, and its positions
BEGIN
    v_layout := wfm.compact_form_header(p_calls);
    WITH cells AS MATERIALIZED (
        -- The one place the two layouts differ: the cells of each row as text. Objects:
        -- jsonb_to_recordset (C, one pass). Compact form (header, then one array per row):
        -- `row ->> position` per field over jsonb_array_elements (measured faster than a
        -- recordset built from the arrays); a row that is not an array of the header's length
        -- bails (jsonb_array_length raises for a non-array): the validator names it.
        SELECT x.*
        FROM ROWS FROM (jsonb_to_recordset(p_calls) AS (
                 service_id text, group_id text, interval_start text, unique_incoming text,
                 non_unique_incoming text, avg_talk_time text, avg_post_processing_time text,
                 answered_calls text, answered_within_sl text, abandoned_calls text,
                 sl_threshold_seconds text)) WITH ORDINALITY
             AS x(svc, grp, t, b, c, d, e, ans, sl, abd, thr, n)
        WHERE NOT v_layout.compact
        UNION ALL
        SELECT CASE WHEN jsonb_array_length(r.v) = v_layout.n_fields THEN r.v ->> v_layout.svc
                    ELSE wfm.fast_path_bail(NULL::text) END,
               r.v ->> v_layout.grp, r.v ->> v_layout.t, r.v ->> v_layout.b, r.v ->> v_layout.c,
               r.v ->> v_layout.d, r.v ->> v_layout.e, r.v ->> v_layout.ans, r.v ->> v_layout.sl,
               r.v ->> v_layout.abd, r.v ->> v_layout.thr, r.n - 1
        FROM jsonb_array_elements(p_calls) WITH ORDINALITY AS r(v, n)
        WHERE v_layout.compact AND r.n > 1
    ), joined AS (
        -- one string per column (string_agg skips NULL cells: a NULL stays NULL, as before)
        SELECT concat_ws(',', string_agg(c.svc, ','), string_agg(c.grp, ','), string_agg(c.b, ','),
                         string_agg(c.c, ','), string_agg(c.d, ','), string_agg(c.e, ','),
                         string_agg(c.ans, ','), string_agg(c.sl, ','), string_agg(c.abd, ','),
                         string_agg(c.thr, ',')) AS ints,
               string_agg(c.t, ',') AS times, count(c.t) AS n_times, count(*) AS n_rows
        FROM cells c
    ), guard AS (
        SELECT CASE WHEN j.ints ~ '^[0-9,]*$'
                         -- hour not 24, second not 60, offset hour not 15 (PostgreSQL takes them all)
                         AND j.times ~ ('^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}[T ](?:[01][0-9]|2[0-35-9]):[0-9]{2}:'
                                        '(?:[0-57-9][0-9]|6[1-9])(?:Z|[+-](?:[02-9][0-9]|1[0-46-9]):[0-9]{2})(?:,|$))+$')
                         -- every time is one match: no cell holds the separator
                         AND length(j.times) - length(replace(j.times, ',', '')) = j.n_rows - 1
                         AND j.n_times = j.n_rows
                    THEN true ELSE wfm.fast_path_bail(NULL::boolean) END AS ok
        FROM joined j
    ), ins AS (
        INSERT INTO wfm.contact_statistics_history (
            interval_start_time, service_id, group_id, unique_incoming, non_unique_incoming,
            avg_talk_time, avg_post_processing_time, answered_calls, answered_within_sl,
            abandoned_calls, sl_threshold_seconds, import_batch_id, source_row_number)
        SELECT c.t::timestamptz, c.svc::integer, c.grp::integer, c.b::integer, c.c::integer, c.d::integer,
               c.e::integer, c.ans::integer, c.sl::integer, c.abd::integer,
               CASE WHEN c.thr::integer > 86400 THEN wfm.fast_path_bail(NULL::integer) ELSE c.thr::integer END,
               p_batch, c.n
        FROM cells c
        WHERE (SELECT g.ok FROM guard g)  -- one-time filter: the guard runs before the first row
        RETURNING interval_start_time, service_id
    )
    SELECT count(*)::integer, min(i.interval_start_time), max(i.interval_start_time),
           min(i.service_id), max(i.service_id)
    INTO rows_total, first_interval, last_interval, v_service_min, v_service_max
    FROM ins i;
    IF rows_total = 0 THEN
        RAISE EXCEPTION 'empty batch' USING ERRCODE = 'WFMFP';
    END IF;
    -- the supported years (validator: 1678-2261), checked once on the batch's range
    IF first_interval < timestamptz '1679-01-01 00:00+00' OR last_interval >= timestamptz '2261-01-01 00:00+00' THEN
        RAISE EXCEPTION 'interval outside the supported years' USING ERRCODE = 'WFMFP';
    END IF;
    -- The batch's services (usually one: no pass over the rows then) and UTC months (usually
    -- one; else one index probe of the batch's history rows per month of its range, instead of
    -- a sort of every row).
    IF v_service_min = v_service_max THEN
        v_services := ARRAY[v_service_min];
    ELSE
        SELECT array_agg(DISTINCT h.service_id) INTO v_services
        FROM wfm.contact_statistics_history h
        WHERE h.import_batch_id = p_batch AND h.interval_start_time BETWEEN first_interval AND last_interval;
    END IF;
    IF date_trunc('month', first_interval AT TIME ZONE 'UTC') = date_trunc('month', last_interval AT TIME ZONE 'UTC') THEN
        months := ARRAY[to_char(first_interval AT TIME ZONE 'UTC', 'YYYY-MM')];
    ELSE
        SELECT array_agg(to_char(m.month_start, 'YYYY-MM') ORDER BY m.month_start) INTO months
        FROM generate_series(date_trunc('month', first_interval AT TIME ZONE 'UTC'),
                             last_interval AT TIME ZONE 'UTC', interval '1 month') AS m(month_start)
        CROSS JOIN LATERAL (SELECT 1 FROM wfm.contact_statistics_history h
                            WHERE h.import_batch_id = p_batch
                              AND h.interval_start_time >= m.month_start AT TIME ZONE 'UTC'
                              AND h.interval_start_time < (m.month_start + interval '1 month') AT TIME ZONE 'UTC'
                            LIMIT 1) AS has_rows;
    END IF;

    SELECT a.rows_inserted, a.rows_updated INTO rows_inserted, rows_updated
    FROM wfm.apply_import_batch_range(p_batch, first_interval, last_interval, v_services) a;
EXCEPTION WHEN OTHERS THEN
    -- any problem (a bail, a CHECK, a guard partition, ...): the validator takes over
    rows_total := NULL; first_interval := NULL; last_interval := NULL; months := NULL;
    rows_inserted := NULL; rows_updated := NULL;
END
$$;
COMMENT ON FUNCTION wfm.import_api_fast(jsonb, uuid) IS
    'Internal: optimistic one-pass load of a clean API batch (history + apply) in a subtransaction, only for cells whose shape the full validator accepts with the same value (decimal integers, ISO 8601 times with offset in range; checked per batch by one regex over all integer cells and one over all times); NULLs when any row needs the full validator. Never creates partitions. One exception block per call, none per row.';
REVOKE ALL ON FUNCTION wfm.import_api_fast(jsonb, uuid) FROM PUBLIC;
