-- Set-based validation of JSON input for the SQL write API (run_json_import and the API
-- functions); its row types are in sql/040.
--
-- One staging function, wfm.stage_import_rows, turns a JSON array of rows into one row per
-- input row: the parsed values, the UTC interval start and every problem found, with the
-- error codes and rules of the file path (wfm.error_codes, the Argus import issue):
-- integers incl. 12.0 (12.5 NOT_INTEGER), D/E blank only when C = 0, durations <= 86400,
-- DST gap -> INVALID_LOCAL_TIME, an ambiguous fall-back time maps in input order first to the
-- earlier then to the later instant, identical copies of an interval keep the first
-- (DUPLICATE_ROW), conflicting copies are all rejected (DUPLICATE_INTERVAL).
--
-- Everything is one SQL statement (no per-row PL/pgSQL, no per-row exception blocks): the
-- cell helpers (json_cell_*.sql and the others in this folder) are IMMUTABLE
-- single-expression SQL functions that the planner inlines, and they never raise on bad
-- input (regex + range checks guard every cast).

CREATE OR REPLACE FUNCTION wfm.stage_import_rows(p_data jsonb, p_format text,
                                      p_service_id integer DEFAULT NULL, p_group_id integer DEFAULT NULL)
RETURNS SETOF wfm.staged_import_row
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = wfm, pg_catalog, pg_temp
AS $$
WITH hdr AS MATERIALIZED (
    -- The compact form of the API (wfm.compact_form_header): element 1 is a header of field
    -- names, each other element one row's values in that order. Row numbers count data rows,
    -- so they equal the object form's; a row of a named field reads `row ->> position` where
    -- the object form reads `row ->> 'name'` (a field the header does not name reads NULL, as a
    -- missing key). A row that is no array of the header's length has no cells at all.
    SELECT h.* FROM wfm.compact_form_header(CASE WHEN p_format = 'api' THEN p_data END) h
),
src AS (
    SELECT (r.n - CASE WHEN h.compact THEN 1 ELSE 0 END)::integer AS row_number, r.elem, jsonb_typeof(r.elem) AS kind,
           h.compact AND jsonb_typeof(r.elem) = 'array' AND jsonb_array_length(r.elem) <> h.n_fields AS bad_length
    FROM jsonb_array_elements(p_data) WITH ORDINALITY AS r(elem, n)
    CROSS JOIN hdr h
    WHERE NOT (h.compact AND r.n = 1)
),
api_rows AS (
    -- Named-field rows of either layout (excel, api): the element, when it has cells.
    SELECT s.*, h.*,
           CASE WHEN p_format = 'argus' OR s.bad_length THEN NULL
                WHEN h.compact THEN CASE WHEN s.kind = 'array' THEN s.elem END
                WHEN s.kind = 'object' THEN s.elem END AS named
    FROM src s CROSS JOIN hdr h
),
raw_cells AS (
    -- Every cell as text; column A also with its JSON type (a number is an Excel serial date).
    SELECT s.row_number, s.kind, s.bad_length,
        CASE WHEN s.bad_length THEN jsonb_build_object('count', jsonb_array_length(s.elem), 'columns', s.n_fields,
                                                       'rows', s.row_number, 'value', s.elem::text) END AS length_params,
        CASE WHEN p_format = 'argus' THEN
                 CASE s.kind WHEN 'array' THEN jsonb_typeof(s.elem -> 0) WHEN 'object' THEN jsonb_typeof(s.elem -> 'A') END
             WHEN s.compact THEN jsonb_typeof(s.named -> s.t)
             ELSE jsonb_typeof(s.named -> 'interval_start') END AS a_type,
        CASE WHEN p_format = 'argus' THEN
                 CASE s.kind WHEN 'array' THEN s.elem ->> 0 WHEN 'object' THEN s.elem ->> 'A' END
             WHEN s.compact THEN s.named ->> s.t ELSE s.named ->> 'interval_start' END AS a,
        CASE WHEN p_format = 'argus' THEN
                 CASE s.kind WHEN 'array' THEN s.elem ->> 1 WHEN 'object' THEN s.elem ->> 'B' END
             WHEN s.compact THEN s.named ->> s.b ELSE s.named ->> 'unique_incoming' END AS b,
        CASE WHEN p_format = 'argus' THEN
                 CASE s.kind WHEN 'array' THEN s.elem ->> 2 WHEN 'object' THEN s.elem ->> 'C' END
             WHEN s.compact THEN s.named ->> s.c ELSE s.named ->> 'non_unique_incoming' END AS c,
        CASE WHEN p_format = 'argus' THEN
                 CASE s.kind WHEN 'array' THEN s.elem ->> 3 WHEN 'object' THEN s.elem ->> 'D' END
             WHEN s.compact THEN s.named ->> s.d ELSE s.named ->> 'avg_talk_time' END AS d,
        CASE WHEN p_format = 'argus' THEN
                 CASE s.kind WHEN 'array' THEN s.elem ->> 4 WHEN 'object' THEN s.elem ->> 'E' END
             WHEN s.compact THEN s.named ->> s.e ELSE s.named ->> 'avg_post_processing_time' END AS e,
        CASE WHEN s.compact THEN s.named ->> s.ans ELSE s.named ->> 'answered_calls' END AS ans,
        CASE WHEN s.compact THEN s.named ->> s.sl ELSE s.named ->> 'answered_within_sl' END AS sl,
        CASE WHEN s.compact THEN s.named ->> s.abd ELSE s.named ->> 'abandoned_calls' END AS abd,
        CASE WHEN s.compact THEN s.named ->> s.thr ELSE s.named ->> 'sl_threshold_seconds' END AS thr,
        CASE WHEN p_format <> 'api' THEN NULL WHEN s.compact THEN s.named ->> s.svc ELSE s.named ->> 'service_id' END AS svc,
        CASE WHEN s.compact THEN s.named ->> s.grp ELSE s.named ->> 'group_id' END AS grp
    FROM api_rows s
),
cells AS MATERIALIZED (
    -- As the file reader: surrounding white space stripped, an empty cell is NULL.
    SELECT c.row_number, c.kind, c.bad_length, c.length_params, c.a_type,
           wfm.json_cell_text(c.a) AS a, wfm.json_cell_text(c.b) AS b, wfm.json_cell_text(c.c) AS c,
           wfm.json_cell_text(c.d) AS d, wfm.json_cell_text(c.e) AS e, wfm.json_cell_text(c.ans) AS ans,
           wfm.json_cell_text(c.sl) AS sl, wfm.json_cell_text(c.abd) AS abd, wfm.json_cell_text(c.thr) AS thr,
           wfm.json_cell_text(c.svc) AS svc, wfm.json_cell_text(c.grp) AS grp
    FROM raw_cells c
),
rows AS (
    -- Fully blank Argus rows are skipped like blank spreadsheet rows; a named-field object
    -- that is empty is reported (an API client sent it on purpose).
    SELECT c.*
    FROM cells c
    WHERE NOT (p_format = 'argus' AND (c.kind = 'null' OR (c.kind IN ('array', 'object')
               AND wfm.json_cell_is_blank(c.a) AND wfm.json_cell_is_blank(c.b) AND wfm.json_cell_is_blank(c.c)
               AND wfm.json_cell_is_blank(c.d) AND wfm.json_cell_is_blank(c.e))))
),
typed AS MATERIALIZED (
    SELECT r.*,
        -- no cells: not an array/object; a named-field row that is not an object (compact: not
        -- an array of the header's length)
        r.kind NOT IN ('array', 'object') OR r.bad_length
            OR (p_format <> 'argus' AND r.kind <> CASE WHEN (SELECT h.compact FROM hdr h) THEN 'array' ELSE 'object' END)
            AS bad_shape,
        CASE WHEN r.a_type = 'string' THEN wfm.json_cell_instant(r.a) END AS a_instant,
        -- (an offset-less time in an API row is still parsed: it gets a precise INVALID_DATETIME)
        CASE r.a_type WHEN 'string' THEN CASE WHEN wfm.json_cell_instant(r.a) IS NULL THEN wfm.json_cell_local_ts(r.a) END
                      WHEN 'number' THEN wfm.excel_serial_ts(r.a::numeric) END AS a_local,
        wfm.json_cell_num(r.b) AS b_num, wfm.json_cell_num(r.c) AS c_num,
        wfm.json_cell_int(r.b) AS b_int, wfm.json_cell_int(r.c) AS c_int,
        wfm.json_cell_int(r.d) AS d_int, wfm.json_cell_int(r.e) AS e_int,
        wfm.json_cell_int(r.ans) AS ans_int, wfm.json_cell_int(r.sl) AS sl_int,
        wfm.json_cell_int(r.abd) AS abd_int, wfm.json_cell_int(r.thr) AS thr_int,
        CASE WHEN p_format = 'api' THEN wfm.json_cell_int(r.svc) ELSE p_service_id END AS svc_int,
        CASE WHEN p_format = 'argus' THEN p_group_id ELSE wfm.json_cell_int(r.grp) END AS grp_int
    FROM rows r
),
data_start AS (
    -- As in files: leading Argus rows above the first row whose column A is a date are
    -- headers (what a spreadsheet-to-JSON converter sends first) and are skipped, unless they
    -- look like data (see the checked CTE); positions
    -- stay array positions, so they equal the spreadsheet's row numbers.
    SELECT min(t.row_number) AS first_row
    FROM typed t
    WHERE p_format <> 'argus' OR t.a_local IS NOT NULL OR t.a_instant IS NOT NULL
),
zone_days AS MATERIALIZED (
    -- Days (per service zone) with a UTC-offset change nearby: only their wall-clock times can
    -- fall in a DST gap or be ambiguous, so only they pay for the exact per-row checks.
    SELECT d.svc_int, d.day,
           ((d.day + 1)::timestamp AT TIME ZONE sv.time_zone) - (d.day::timestamp AT TIME ZONE sv.time_zone)
               <> interval '24 hours'
           OR (d.day::timestamp AT TIME ZONE sv.time_zone) - ((d.day - 1)::timestamp AT TIME ZONE sv.time_zone)
               <> interval '24 hours'
           OR ((d.day + 2)::timestamp AT TIME ZONE sv.time_zone) - ((d.day + 1)::timestamp AT TIME ZONE sv.time_zone)
               <> interval '24 hours' AS offset_changes
    FROM (SELECT DISTINCT t.svc_int, t.a_local::date AS day FROM typed t
          WHERE t.a_local IS NOT NULL AND t.a_instant IS NULL
            AND t.row_number >= (SELECT first_row FROM data_start)) d
    JOIN wfm.services sv ON sv.service_id = d.svc_int
),
checked AS MATERIALIZED (
    SELECT t.*, sv.time_zone, coalesce(zd.offset_changes, false) AS offset_changes,
        -- service / group of API rows (the functions check their p_service_id/p_group_id arguments)
        CASE WHEN p_format <> 'api' THEN NULL
             WHEN wfm.json_cell_is_blank(t.svc) THEN 'MISSING_VALUE'
             WHEN t.svc_int IS NULL THEN 'NOT_INTEGER'
             WHEN sv.service_id IS NULL THEN 'UNKNOWN_SERVICE' END AS svc_code,
        CASE WHEN p_format = 'argus' OR wfm.json_cell_is_blank(t.grp) THEN NULL
             WHEN t.grp_int IS NULL THEN 'NOT_INTEGER'
             WHEN sv.service_id IS NOT NULL AND gr.group_id IS NULL THEN 'UNKNOWN_GROUP' END AS grp_code,
        CASE WHEN wfm.json_cell_is_blank(t.a) THEN 'MISSING_VALUE'
             WHEN t.a_instant IS NOT NULL THEN
                 -- the supported range of every path (files: pandas' datetime64[ns], 1677-09-21..2262-04-11)
                 CASE WHEN t.a_instant < timestamptz '1678-01-01 00:00+00' OR t.a_instant >= timestamptz '2262-01-01 00:00+00'
                      THEN 'INVALID_DATETIME'
                      WHEN t.a_instant <> date_bin('15 minutes', t.a_instant, timestamptz '2000-01-01 00:00+00')
                      THEN 'MISALIGNED_INTERVAL' END
             WHEN t.a_local IS NULL OR p_format = 'api' THEN 'INVALID_DATETIME'   -- API: offset required
             WHEN t.a_local < timestamp '1678-01-01' OR t.a_local >= timestamp '2262-01-01' THEN 'INVALID_DATETIME'
             WHEN t.a_local <> date_bin('15 minutes', t.a_local, timestamp '2000-01-01') THEN 'MISALIGNED_INTERVAL'
             WHEN zd.offset_changes
                  AND (t.a_local AT TIME ZONE sv.time_zone) AT TIME ZONE sv.time_zone <> t.a_local
                 THEN 'INVALID_LOCAL_TIME'
        END AS a_code,
        wfm.json_cell_int_error(t.b, true, 2147483647) AS b_code,
        wfm.json_cell_int_error(t.c, true, 2147483647) AS c_code,
        -- D/E may be blank when C = 0; when C is blank or not a number, C's own error rejects the row
        wfm.json_cell_int_error(t.d, t.c_num <> 0, 86400) AS d_code,
        wfm.json_cell_int_error(t.e, t.c_num <> 0, 86400) AS e_code,
        -- C >= B only speaks when B and C are themselves valid (C = -1 < B is reported as negative)
        CASE WHEN t.b_int > t.c_int THEN 'UNIQUE_EXCEEDS_NON_UNIQUE' END AS bc_code,
        coalesce(wfm.json_cell_int_error(t.ans, false, 2147483647),
                 CASE WHEN t.ans_int > t.c_int THEN 'OUT_OF_RANGE' END) AS ans_code,
        coalesce(wfm.json_cell_int_error(t.sl, false, 2147483647),
                 CASE WHEN t.sl_int > coalesce(t.ans_int, t.c_int) THEN 'OUT_OF_RANGE' END) AS sl_code,
        coalesce(wfm.json_cell_int_error(t.abd, false, 2147483647),
                 CASE WHEN t.abd_int > t.c_int THEN 'OUT_OF_RANGE' END) AS abd_code,
        coalesce(wfm.json_cell_int_error(t.thr, t.sl_int IS NOT NULL, 86400),
                 CASE WHEN t.thr_int = 0 THEN 'OUT_OF_RANGE' END) AS thr_code
    FROM typed t
    LEFT JOIN wfm.services sv ON sv.service_id = t.svc_int
    LEFT JOIN wfm.groups gr ON gr.group_id = t.grp_int AND gr.service_id = t.svc_int
    LEFT JOIN zone_days zd ON zd.svc_int = t.svc_int AND zd.day = t.a_local::date
    WHERE t.row_number >= (SELECT first_row FROM data_start)
       -- a row above it that looks like data (a number in B or C) is a data row with a bad A,
       -- never a silently skipped header (as in files)
       OR (p_format = 'argus' AND t.row_number < (SELECT first_row FROM data_start)
           AND (wfm.json_cell_looks_numeric(t.b) OR wfm.json_cell_looks_numeric(t.c)))
),
resolved AS MATERIALIZED (
    -- Wall-clock time -> instant. PostgreSQL maps an ambiguous (fall-back) time to the later
    -- instant; the earlier one has the offset in force a day before or after.
    SELECT k.*,
        CASE WHEN k.a_code IS DISTINCT FROM 'MISALIGNED_INTERVAL' AND k.a_code IS NOT NULL THEN NULL
             WHEN k.a_instant IS NOT NULL THEN k.a_instant
             WHEN k.time_zone IS NULL THEN k.a_local AT TIME ZONE 'UTC'
             WHEN k.offset_changes AND (k.a_local AT TIME ZONE k.time_zone) AT TIME ZONE k.time_zone <> k.a_local
                 THEN NULL
             ELSE k.a_local AT TIME ZONE k.time_zone END AS t_later,
        CASE WHEN (k.a_code IS NULL OR k.a_code = 'MISALIGNED_INTERVAL') AND k.a_instant IS NULL
                  AND k.time_zone IS NOT NULL AND k.offset_changes
                  -- a misaligned time may also lie in a DST gap: it has no instant then
                  AND (k.a_local AT TIME ZONE k.time_zone) AT TIME ZONE k.time_zone = k.a_local
             THEN wfm.earliest_instant_of_local(k.a_local, k.time_zone) END AS t_earlier
    FROM checked k
),
aligned AS (
    -- A wall-clock time on a 15-minute boundary whose instant is not (a zone's local mean time
    -- before standard time, e.g. Europe/Berlin before 1893 at UTC+00:53:28) cannot be stored.
    SELECT r.*,
        CASE WHEN r.a_code IS NULL AND r.a_instant IS NULL
                  AND (r.t_later <> date_bin('15 minutes', r.t_later, timestamptz '2000-01-01 00:00+00')
                       OR r.t_earlier <> date_bin('15 minutes', r.t_earlier, timestamptz '2000-01-01 00:00+00'))
             THEN 'MISALIGNED_INTERVAL' END AS utc_code
    FROM resolved r
),
placed AS MATERIALIZED (
    SELECT r.*,
        CASE WHEN r.t_earlier IS NULL OR r.t_earlier = r.t_later THEN r.t_later
             -- ambiguous: the first row (input order) with this wall-clock time gets the earlier instant
             WHEN row_number() OVER (PARTITION BY r.svc_int, r.grp_int, r.a_local, r.t_earlier < r.t_later
                                     ORDER BY r.row_number) = 1 THEN r.t_earlier
             ELSE r.t_later END AS instant,
        r.bad_shape OR r.svc_code IS NOT NULL OR r.grp_code IS NOT NULL OR r.a_code IS NOT NULL OR r.utc_code IS NOT NULL
            OR r.b_code IS NOT NULL OR r.c_code IS NOT NULL OR r.d_code IS NOT NULL OR r.e_code IS NOT NULL
            OR r.bc_code IS NOT NULL OR r.ans_code IS NOT NULL OR r.sl_code IS NOT NULL
            OR r.abd_code IS NOT NULL OR r.thr_code IS NOT NULL AS has_error
    FROM aligned r
),
repeated AS (
    -- Intervals sent more than once among otherwise valid rows (a cheap hash aggregate; the
    -- distinct-values count below then only sorts those few rows).
    SELECT p.svc_int, p.grp_int, p.instant, min(p.row_number) AS first_row
    FROM placed p
    WHERE p.instant IS NOT NULL
    GROUP BY p.svc_int, p.grp_int, p.instant
    HAVING count(*) > 1
),
dup_keys AS (
    -- identical copies (keep the first) or a conflict (reject all)
    SELECT rp.svc_int, rp.grp_int, rp.instant, rp.first_row,
           string_agg(p.row_number::text, ', ' ORDER BY p.row_number) AS rows,  -- for the messages
           count(DISTINCT ROW(
               wfm.json_cell_num(p.b), wfm.json_cell_num(p.c), wfm.json_cell_num(p.d), wfm.json_cell_num(p.e),
               wfm.json_cell_num(p.ans), wfm.json_cell_num(p.sl), wfm.json_cell_num(p.abd), wfm.json_cell_num(p.thr),
               CASE WHEN wfm.json_cell_num(p.b) IS NULL THEN p.b END, CASE WHEN wfm.json_cell_num(p.c) IS NULL THEN p.c END,
               CASE WHEN wfm.json_cell_num(p.d) IS NULL THEN p.d END, CASE WHEN wfm.json_cell_num(p.e) IS NULL THEN p.e END,
               CASE WHEN wfm.json_cell_num(p.ans) IS NULL THEN p.ans END, CASE WHEN wfm.json_cell_num(p.sl) IS NULL THEN p.sl END,
               CASE WHEN wfm.json_cell_num(p.abd) IS NULL THEN p.abd END, CASE WHEN wfm.json_cell_num(p.thr) IS NULL THEN p.thr END
           )) > 1 AS conflict
    FROM repeated rp
    JOIN placed p ON p.instant IS NOT NULL AND p.instant = rp.instant
     AND p.svc_int IS NOT DISTINCT FROM rp.svc_int AND p.grp_int IS NOT DISTINCT FROM rp.grp_int
    GROUP BY rp.svc_int, rp.grp_int, rp.instant, rp.first_row
)
SELECT p.row_number, p.svc_int, p.grp_int, p.instant,
       p.b_int, p.c_int, p.d_int, p.e_int, p.ans_int, p.sl_int, p.abd_int, p.thr_int,
       CASE WHEN NOT p.has_error AND dk.instant IS NULL THEN '{}'::wfm.import_row_error[] ELSE ARRAY(
           -- messages: the code's template rendered with the column, the raw value and the code's
           -- own parameters (v.params; the file validator passes the same ones)
           SELECT ROW(v.col, v.code, wfm.render_error_template(tp.templates ->> v.code, x.params),
                      wfm.clip_text(v.raw))::wfm.import_row_error
           FROM (VALUES
               -- not an array/object: no cells at all
               (NULL::text, CASE WHEN p.bad_shape AND NOT p.bad_length THEN 'MISSING_VALUE' END, p.kind,
                    jsonb_build_object('column', CASE WHEN p_format = 'argus' THEN 'A-E' ELSE 'interval_start' END)),
               -- a compact row of another length than the header: no cells either
               (NULL, CASE WHEN p.bad_length THEN 'WRONG_ROW_LENGTH' END, p.length_params ->> 'value', p.length_params),
               ('service_id', p.svc_code, p.svc, NULL::jsonb),
               ('group_id', p.grp_code, p.grp, CASE WHEN p.grp_code IS NOT NULL THEN jsonb_build_object('service', p.svc) END),
               (CASE WHEN p_format = 'argus' THEN 'A' ELSE 'interval_start' END, coalesce(p.a_code, p.utc_code), p.a,
                    CASE WHEN coalesce(p.a_code, p.utc_code) IS NOT NULL
                         THEN jsonb_build_object('time_zone', coalesce(p.time_zone, 'UTC')) END),
               (CASE WHEN p_format = 'argus' THEN 'B' ELSE 'unique_incoming' END, p.b_code, p.b,
                    '{"limit": "at most 2,147,483,647"}'::jsonb),
               (CASE WHEN p_format = 'argus' THEN 'C' ELSE 'non_unique_incoming' END, p.c_code, p.c,
                    '{"limit": "at most 2,147,483,647"}'::jsonb),
               (CASE WHEN p_format = 'argus' THEN 'D' ELSE 'avg_talk_time' END, p.d_code, p.d,
                    '{"limit": "at most 86,400 seconds"}'::jsonb),
               (CASE WHEN p_format = 'argus' THEN 'E' ELSE 'avg_post_processing_time' END, p.e_code, p.e,
                    '{"limit": "at most 86,400 seconds"}'::jsonb),
               (CASE WHEN p_format = 'argus' THEN 'B' ELSE 'unique_incoming' END, p.bc_code, p.b,
                    CASE WHEN p.bc_code IS NOT NULL THEN jsonb_build_object(
                        'other_column', CASE WHEN p_format = 'argus' THEN 'C' ELSE 'non_unique_incoming' END,
                        'other_count', p.c) END),
               -- API fields: a count within its total, or the 2**31 - 1 of every count
               ('answered_calls', p.ans_code, p.ans,
                    CASE WHEN p.ans_code IS NOT NULL THEN jsonb_build_object('limit',
                        CASE WHEN p.ans_int > p.c_int THEN format('at most %s (non_unique_incoming)', p.c_int)
                             ELSE 'at most 2,147,483,647' END) END),
               ('answered_within_sl', p.sl_code, p.sl,
                    CASE WHEN p.sl_code IS NOT NULL THEN jsonb_build_object('limit',
                        CASE WHEN p.sl_int > coalesce(p.ans_int, p.c_int)
                             THEN format('at most %s (%s)', coalesce(p.ans_int, p.c_int),
                                         CASE WHEN p.ans_int IS NOT NULL THEN 'answered_calls' ELSE 'non_unique_incoming' END)
                             ELSE 'at most 2,147,483,647' END) END),
               ('abandoned_calls', p.abd_code, p.abd,
                    CASE WHEN p.abd_code IS NOT NULL THEN jsonb_build_object('limit',
                        CASE WHEN p.abd_int > p.c_int THEN format('at most %s (non_unique_incoming)', p.c_int)
                             ELSE 'at most 2,147,483,647' END) END),
               ('sl_threshold_seconds', p.thr_code, p.thr,
                    CASE WHEN p.thr_code IS NOT NULL THEN jsonb_build_object('limit',
                        CASE WHEN p.thr_int = 0 THEN 'at least 1 second' ELSE 'at most 86,400 seconds' END) END),
               (NULL,
                    CASE WHEN dk.conflict THEN 'DUPLICATE_INTERVAL'
                         WHEN dk.first_row < p.row_number THEN 'DUPLICATE_ROW' END,
                    p.a,
                    CASE WHEN dk.instant IS NOT NULL THEN jsonb_build_object('first_row', dk.first_row, 'rows', dk.rows) END)
           ) AS v(col, code, raw, params)
           -- a column (OFFSET 0: not pulled up), built once: the inlined renderer reads it per placeholder
           CROSS JOIN LATERAL (SELECT jsonb_build_object('column', v.col, 'value', v.raw)
                                      || coalesce(v.params, '{}'::jsonb) AS params OFFSET 0) x
           WHERE v.code IS NOT NULL AND (v.col IS NULL OR NOT p.bad_shape)
       ) END,
       p.a
FROM placed p
CROSS JOIN (SELECT jsonb_object_agg(ec.error_code, ec.message_template) AS templates FROM wfm.error_codes ec) tp
LEFT JOIN dup_keys dk
  ON dk.instant = p.instant AND dk.svc_int IS NOT DISTINCT FROM p.svc_int
 AND dk.grp_int IS NOT DISTINCT FROM p.grp_int
ORDER BY p.row_number
$$;
COMMENT ON FUNCTION wfm.stage_import_rows(jsonb, text, integer, integer) IS
    'Internal: parses and validates a JSON array of rows (p_format argus: [A,B,C,D,E] or {"A":..}; excel/api: named fields) in one set-based statement with the file path''s rules; one wfm.staged_import_row per non-blank input row. Cells are stripped like file cells; times must lie in 1678-01-01..2261-12-31 and be 15-minute aligned in UTC too; integers are decimal only. p_service_id gives the time zone of wall-clock times (argus/excel); api rows name their own service_id and need ISO 8601 times with offset. Partitions are not checked here (see wfm.run_json_import).';

REVOKE ALL ON FUNCTION wfm.stage_import_rows(jsonb, text, integer, integer) FROM PUBLIC;
