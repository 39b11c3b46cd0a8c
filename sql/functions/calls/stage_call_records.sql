-- Set-based validation of call records sent as JSON (api_batch_insert_call_records), with the
-- rules of the file path (wfm_pipeline/calls/validate.py); a conformance test holds the two to
-- the same verdicts. The rules, per field (one error per field, the first that applies):
--   service_id       MISSING_VALUE, NOT_INTEGER, UNKNOWN_SERVICE
--   call_id          MISSING_VALUE, OUT_OF_RANGE (> 100 characters)
--   offered_at       MISSING_VALUE, INVALID_DATETIME, INVALID_LOCAL_TIME (daylight-saving gap)
--   outcome          MISSING_VALUE, INVALID_OUTCOME (answered / abandoned / other, any case)
--   answered_at      MISSING_VALUE (outcome answered), INVALID_DATETIME, INVALID_LOCAL_TIME,
--                    OUTCOME_CONFLICT (outcome abandoned), ANSWERED_BEFORE_OFFERED, WAIT_TOO_LONG
--   ended_at         MISSING_VALUE (answered or abandoned), INVALID_DATETIME, INVALID_LOCAL_TIME,
--                    then against answered_at when it is given (ENDED_BEFORE_ANSWERED,
--                    TALK_TOO_LONG) else against offered_at (ENDED_BEFORE_OFFERED, WAIT_TOO_LONG)
--   agent, customer_id  OUT_OF_RANGE (> 100 characters)
--   wrap_up_seconds  NOT_INTEGER, NEGATIVE_VALUE, OUT_OF_RANGE (> 86400)
--   group            UNKNOWN_GROUP (not a group code of the row's service)
--   whole row        DUPLICATE_ROW (an identical earlier copy: skipped) or DUPLICATE_CALL_ID
--                    (same service, call_id and UTC month of offered_at with other values: all
--                    copies rejected), among rows with a valid call_id and offered_at.
-- Times: DD.MM.YYYY HH:MM[:SS] or ISO 8601 wall-clock (the service's zone) or ISO 8601 with an
-- offset, years 1678-2261. An ambiguous wall-clock time (the repeated hour when daylight-saving
-- time ends) is the earlier instant for offered_at; answered_at and ended_at take the earlier
-- instant unless it lies before the time they follow (offered_at, resp. answered_at or
-- offered_at), then the later one.
CREATE OR REPLACE FUNCTION wfm.stage_call_records(p_calls jsonb)
RETURNS SETOF wfm.staged_call_record
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = wfm, pg_catalog, pg_temp
AS $$
WITH src AS (
    SELECT r.n::integer AS row_number, r.elem, pg_catalog.jsonb_typeof(r.elem) AS kind
    FROM pg_catalog.jsonb_array_elements(p_calls) WITH ORDINALITY AS r(elem, n)
),
cells AS MATERIALIZED (
    SELECT s.row_number, s.kind,
           wfm.json_cell_text(CASE WHEN s.kind = 'object' THEN s.elem ->> 'service_id' END) AS svc,
           wfm.json_cell_text(CASE WHEN s.kind = 'object' THEN s.elem ->> 'call_id' END) AS call_id,
           wfm.json_cell_text(CASE WHEN s.kind = 'object' THEN s.elem ->> 'offered_at' END) AS offered,
           CASE WHEN s.kind = 'object' THEN pg_catalog.jsonb_typeof(s.elem -> 'offered_at') END AS offered_type,
           wfm.json_cell_text(CASE WHEN s.kind = 'object' THEN s.elem ->> 'answered_at' END) AS answered,
           CASE WHEN s.kind = 'object' THEN pg_catalog.jsonb_typeof(s.elem -> 'answered_at') END AS answered_type,
           wfm.json_cell_text(CASE WHEN s.kind = 'object' THEN s.elem ->> 'ended_at' END) AS ended,
           CASE WHEN s.kind = 'object' THEN pg_catalog.jsonb_typeof(s.elem -> 'ended_at') END AS ended_type,
           wfm.json_cell_text(CASE WHEN s.kind = 'object' THEN s.elem ->> 'outcome' END) AS outcome,
           wfm.json_cell_text(CASE WHEN s.kind = 'object' THEN s.elem ->> 'agent' END) AS agent,
           wfm.json_cell_text(CASE WHEN s.kind = 'object' THEN s.elem ->> 'customer_id' END) AS customer,
           wfm.json_cell_text(CASE WHEN s.kind = 'object' THEN s.elem ->> 'wrap_up_seconds' END) AS wrap,
           wfm.json_cell_text(CASE WHEN s.kind = 'object' THEN s.elem ->> 'group' END) AS grp
    FROM src s
),
typed AS MATERIALIZED (
    SELECT c.*,
           wfm.json_cell_int(c.svc) AS svc_int,
           pg_catalog.lower(c.outcome) AS outcome_l,
           -- times: only JSON strings are times (a number is not an Excel serial here)
           CASE WHEN c.offered_type = 'string' THEN wfm.json_cell_instant(c.offered) END AS o_inst,
           CASE WHEN c.offered_type = 'string' AND wfm.json_cell_instant(c.offered) IS NULL
                THEN wfm.json_cell_local_ts(c.offered) END AS o_local,
           CASE WHEN c.answered_type = 'string' THEN wfm.json_cell_instant(c.answered) END AS a_inst,
           CASE WHEN c.answered_type = 'string' AND wfm.json_cell_instant(c.answered) IS NULL
                THEN wfm.json_cell_local_ts(c.answered) END AS a_local,
           CASE WHEN c.ended_type = 'string' THEN wfm.json_cell_instant(c.ended) END AS e_inst,
           CASE WHEN c.ended_type = 'string' AND wfm.json_cell_instant(c.ended) IS NULL
                THEN wfm.json_cell_local_ts(c.ended) END AS e_local
    FROM cells c
),
zoned AS MATERIALIZED (
    -- Each time: parse error code (NULL = fine) and its candidate instants (earlier, later).
    SELECT t.*, sv.service_id AS svc_found, sv.time_zone AS tz, sv.code AS svc_code_text,
           wfm.call_time_code(t.offered, t.o_inst, t.o_local, sv.time_zone) AS o_code,
           wfm.call_time_code(t.answered, t.a_inst, t.a_local, sv.time_zone) AS a_code,
           wfm.call_time_code(t.ended, t.e_inst, t.e_local, sv.time_zone) AS e_code,
           coalesce(t.o_inst, wfm.earliest_instant_of_local(t.o_local, sv.time_zone)) AS o_early,
           coalesce(t.a_inst, wfm.earliest_instant_of_local(t.a_local, sv.time_zone)) AS a_early,
           coalesce(t.a_inst, t.a_local AT TIME ZONE sv.time_zone) AS a_late,
           coalesce(t.e_inst, wfm.earliest_instant_of_local(t.e_local, sv.time_zone)) AS e_early,
           coalesce(t.e_inst, t.e_local AT TIME ZONE sv.time_zone) AS e_late
    FROM typed t
    LEFT JOIN wfm.services sv ON sv.service_id = t.svc_int
),
placed AS (
    SELECT z.*, CASE WHEN z.o_code IS NULL THEN z.o_early END AS o_at
    FROM zoned z
),
placed1 AS (
    -- an ambiguous answered_at: the earlier instant unless it is before offered_at
    SELECT p.*,
           CASE WHEN p.a_code IS NULL THEN
                CASE WHEN (p.a_early >= p.o_at) IS NOT FALSE THEN p.a_early ELSE p.a_late END END AS a_at
    FROM placed p
),
placed1r AS (
    -- ended_at follows answered_at when one is given, else offered_at
    SELECT p.*, CASE WHEN p.answered IS NOT NULL THEN p.a_at ELSE p.o_at END AS e_ref
    FROM placed1 p
),
placed2 AS MATERIALIZED (
    SELECT p.*,
           CASE WHEN p.e_code IS NULL THEN
                CASE WHEN (p.e_early >= p.e_ref) IS NOT FALSE THEN p.e_early ELSE p.e_late END END AS e_at
    FROM placed1r p
),
checked AS MATERIALIZED (
    SELECT p.*,
        p.kind IS DISTINCT FROM 'object' AS bad_shape,
        CASE WHEN p.svc IS NULL THEN 'MISSING_VALUE'
             WHEN p.svc_int IS NULL THEN 'NOT_INTEGER'
             WHEN p.svc_found IS NULL THEN 'UNKNOWN_SERVICE' END AS svc_code,
        CASE WHEN p.call_id IS NULL THEN 'MISSING_VALUE'
             WHEN pg_catalog.length(p.call_id) > 100 THEN 'OUT_OF_RANGE' END AS id_code,
        CASE WHEN p.offered IS NULL THEN 'MISSING_VALUE' ELSE p.o_code END AS off_code,
        CASE WHEN p.outcome IS NULL THEN 'MISSING_VALUE'
             WHEN p.outcome_l NOT IN ('answered', 'abandoned', 'other') THEN 'INVALID_OUTCOME' END AS out_code,
        CASE WHEN p.answered IS NULL THEN CASE WHEN p.outcome_l = 'answered' THEN 'MISSING_VALUE' END
             WHEN p.a_code IS NOT NULL THEN p.a_code
             WHEN p.outcome_l = 'abandoned' THEN 'OUTCOME_CONFLICT'
             WHEN p.o_at IS NULL THEN NULL
             WHEN p.a_at < p.o_at THEN 'ANSWERED_BEFORE_OFFERED'
             WHEN p.a_at - p.o_at > interval '1 day' THEN 'WAIT_TOO_LONG' END AS ans_code,
        CASE WHEN p.ended IS NULL THEN CASE WHEN p.outcome_l IN ('answered', 'abandoned') THEN 'MISSING_VALUE' END
             WHEN p.e_code IS NOT NULL THEN p.e_code
             WHEN p.e_ref IS NULL THEN NULL
             WHEN p.e_at < p.e_ref THEN
                 CASE WHEN p.answered IS NOT NULL THEN 'ENDED_BEFORE_ANSWERED' ELSE 'ENDED_BEFORE_OFFERED' END
             WHEN p.e_at - p.e_ref > interval '1 day' THEN
                 CASE WHEN p.answered IS NOT NULL THEN 'TALK_TOO_LONG' ELSE 'WAIT_TOO_LONG' END END AS end_code,
        CASE WHEN pg_catalog.length(p.agent) > 100 THEN 'OUT_OF_RANGE' END AS agent_code_err,
        CASE WHEN pg_catalog.length(p.customer) > 100 THEN 'OUT_OF_RANGE' END AS cust_code,
        wfm.json_cell_int_error(p.wrap, false, 86400) AS wrap_code,
        g.group_id,
        CASE WHEN p.grp IS NOT NULL AND p.svc_found IS NOT NULL AND g.group_id IS NULL THEN 'UNKNOWN_GROUP' END AS grp_code
    FROM placed2 p
    LEFT JOIN wfm.groups g ON g.service_id = p.svc_found AND g.code = p.grp
),
keyed AS (
    -- The identity of a call: service, call_id and the UTC month of offered_at.
    SELECT k.*,
           CASE WHEN NOT k.bad_shape AND k.svc_code IS NULL AND k.id_code IS NULL AND k.o_at IS NOT NULL
                THEN pg_catalog.date_trunc('month', k.o_at AT TIME ZONE 'UTC') END AS month_key
    FROM checked k
),
dups AS (
    SELECT k.svc_found, k.call_id, k.month_key, pg_catalog.min(k.row_number) AS first_row,
           pg_catalog.string_agg(k.row_number::text, ', ' ORDER BY k.row_number) AS rows,
           count(DISTINCT ROW(k.offered, k.answered, k.ended, k.outcome, k.agent, k.customer, k.wrap, k.grp)) > 1
               AS conflict
    FROM keyed k
    WHERE k.month_key IS NOT NULL
    GROUP BY k.svc_found, k.call_id, k.month_key
    HAVING count(*) > 1
)
SELECT k.row_number, k.svc_found, k.call_id, k.o_at, k.a_at, k.e_at, k.outcome_l,
       k.agent, CASE WHEN k.customer = '0' THEN NULL ELSE k.customer END,
       wfm.json_cell_int(k.wrap), k.group_id,
       ARRAY(
           -- messages: the code's template (wfm.error_codes) rendered with the column, the raw
           -- value and the code's own parameters (the file validator passes the same ones)
           SELECT ROW(v.col, v.code, wfm.render_error_template(tp.templates ->> v.code, x.params),
                      wfm.clip_text(v.raw))::wfm.import_row_error
           FROM (VALUES
               (NULL::text, CASE WHEN k.bad_shape THEN 'MISSING_VALUE' END, coalesce(k.kind, 'null'),
                    '{"column": "(all)"}'::jsonb),
               ('service_id', k.svc_code, k.svc, NULL::jsonb),
               ('call_id', k.id_code, k.call_id, '{"limit": "at most 100 characters"}'::jsonb),
               ('offered_at', k.off_code, k.offered, pg_catalog.jsonb_build_object('time_zone', k.tz)),
               ('answered_at', k.ans_code, k.answered, pg_catalog.jsonb_build_object('time_zone', k.tz)),
               ('ended_at', k.end_code, k.ended, pg_catalog.jsonb_build_object('time_zone', k.tz)),
               ('outcome', k.out_code, k.outcome, NULL),
               ('agent', k.agent_code_err, k.agent, '{"limit": "at most 100 characters"}'::jsonb),
               ('customer_id', k.cust_code, k.customer, '{"limit": "at most 100 characters"}'::jsonb),
               ('wrap_up_seconds', k.wrap_code, k.wrap, '{"limit": "at most 86,400 seconds"}'::jsonb),
               ('group', k.grp_code, k.grp, pg_catalog.jsonb_build_object('service', k.svc_code_text)),
               (NULL, CASE WHEN d.conflict THEN 'DUPLICATE_CALL_ID'
                           WHEN d.first_row < k.row_number THEN 'DUPLICATE_ROW' END,
                      k.call_id, pg_catalog.jsonb_build_object('first_row', d.first_row, 'rows', d.rows))
           ) AS v(col, code, raw, params)
           -- a column (OFFSET 0: not pulled up), built once: the inlined renderer reads it per placeholder
           CROSS JOIN LATERAL (SELECT pg_catalog.jsonb_build_object('column', v.col, 'value', v.raw)
                                      || coalesce(v.params, '{}'::jsonb) AS params OFFSET 0) x
           WHERE v.code IS NOT NULL AND (v.col IS NULL OR NOT k.bad_shape))
FROM keyed k
CROSS JOIN (SELECT pg_catalog.jsonb_object_agg(ec.error_code, ec.message_template) AS templates
            FROM wfm.error_codes ec) tp
LEFT JOIN dups d ON d.svc_found = k.svc_found AND d.call_id = k.call_id AND d.month_key = k.month_key
ORDER BY k.row_number
$$;
COMMENT ON FUNCTION wfm.stage_call_records(jsonb) IS
    'Internal: parses and validates a JSON array of call-record objects (service_id, call_id, offered_at, answered_at, ended_at, outcome, agent, customer_id, wrap_up_seconds, group) in one set-based statement with the file path''s rules (see the file''s header); one wfm.staged_call_record per element, instants in UTC. Partitions are not checked here.';
REVOKE ALL ON FUNCTION wfm.stage_call_records(jsonb) FROM PUBLIC;
