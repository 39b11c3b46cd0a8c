-- The validator of agent state events sent as JSON (issue 14; wfm.api_batch_insert_agent_events),
-- set-based. The file path (wfm_pipeline/calls/agent_validate.py) follows the same rules; a
-- conformance test holds the two to the same verdicts and messages. p_row_numbers (optional)
-- numbers the elements in messages (default: their positions).
--
-- Each element: {"service_id", "agent", "state", "at", "reason", "group"}. The rules, per field
-- (one error per field, the first that applies):
--   service_id  MISSING_VALUE, NOT_INTEGER, UNKNOWN_SERVICE
--   agent       MISSING_VALUE, OUT_OF_RANGE (> 100 characters)
--   state       MISSING_VALUE, INVALID_STATE (logged_in, ready, not_ready, talking,
--               post_processing, logged_out; any case)
--   at          MISSING_VALUE, INVALID_DATETIME, INVALID_LOCAL_TIME (daylight-saving gap)
--   reason      OUT_OF_RANGE (> 100 characters)
--   group       UNKNOWN_GROUP (not a group code of the row's service)
-- and, per agent (service and agent code), among rows whose service, agent and time are valid:
--   at          EVENT_OUT_OF_ORDER: earlier than an event of the agent in an earlier row
--   (row)       DUPLICATE_ROW: an identical copy of an earlier row (the same state at the same
--               time: skipped); DUPLICATE_EVENT (column at): the same state at the same time
--               with another reason or group (all copies rejected). Different states at the same
--               second are fine: they keep the input's order (the n-th is placed n-1
--               microseconds later, so the earlier ones last no time: a login and its first
--               ready, say)
-- and, on the agent's timeline (this input's rows without any error above, merged with the
-- stored current events: an input row replaces a stored event at the same time):
--   state       NOT_LOGGED_IN: not logged_in (a logged_out too) while the agent is logged out;
--               OVERLAPPING_SESSION: logged_in while the agent is logged in. Logged in or out is
--               decided by the latest earlier logged_in / logged_out of the input, or stored
--               event (any stored state but logged_out: logged in); a rejected event never
--               changes it. Stored events are not judged again.
-- Times: DD.MM.YYYY HH:MM[:SS] or ISO 8601 wall-clock (the service's zone) or ISO 8601 with an
-- offset (JSON strings only), years 1678-2261; fractions of a second are dropped (then the
-- same-second order above). An ambiguous
-- wall-clock time (the hour repeated when daylight-saving time ends) is the earlier instant unless
-- that is before an earlier row of the same agent, then the later one.
CREATE OR REPLACE FUNCTION wfm.stage_agent_events(p_events jsonb, p_row_numbers integer[] DEFAULT NULL)
RETURNS SETOF wfm.staged_agent_event
LANGUAGE sql STABLE
SET search_path = wfm, pg_catalog, pg_temp
AS $$
WITH src AS (
    SELECT r.n::integer AS pos, coalesce(p_row_numbers[r.n], r.n::integer) AS row_number, r.elem,
           pg_catalog.jsonb_typeof(r.elem) AS kind
    FROM pg_catalog.jsonb_array_elements(p_events) WITH ORDINALITY AS r(elem, n)
),
cells AS MATERIALIZED (
    SELECT s.pos, s.row_number, s.kind,
           wfm.json_cell_text(CASE WHEN s.kind = 'object' THEN s.elem ->> 'service_id' END) AS svc,
           wfm.json_cell_text(CASE WHEN s.kind = 'object' THEN s.elem ->> 'agent' END) AS agent,
           wfm.json_cell_text(CASE WHEN s.kind = 'object' THEN s.elem ->> 'state' END) AS state,
           wfm.json_cell_text(CASE WHEN s.kind = 'object' THEN s.elem ->> 'at' END) AS at_raw,
           CASE WHEN s.kind = 'object' THEN pg_catalog.jsonb_typeof(s.elem -> 'at') END AS at_type,
           wfm.json_cell_text(CASE WHEN s.kind = 'object' THEN s.elem ->> 'reason' END) AS reason,
           wfm.json_cell_text(CASE WHEN s.kind = 'object' THEN s.elem ->> 'group' END) AS grp
    FROM src s
),
typed AS MATERIALIZED (
    SELECT c.*,
           wfm.json_cell_int(c.svc) AS svc_int,
           pg_catalog.lower(c.state) AS state_l,
           -- only JSON strings are times (a number is not an Excel serial here)
           CASE WHEN c.at_type = 'string' THEN wfm.json_cell_instant(c.at_raw) END AS a_inst,
           CASE WHEN c.at_type = 'string' AND wfm.json_cell_instant(c.at_raw) IS NULL
                THEN wfm.json_cell_local_ts(c.at_raw) END AS a_local
    FROM cells c
),
zoned AS MATERIALIZED (
    SELECT t.*, sv.service_id AS svc_found, sv.time_zone AS tz, sv.code AS svc_code_text,
           wfm.call_time_code(t.at_raw, t.a_inst, t.a_local, sv.time_zone) AS at_code,
           pg_catalog.date_trunc('second', coalesce(t.a_inst, wfm.earliest_instant_of_local(t.a_local, sv.time_zone)),
                                 'UTC') AS a_early,
           pg_catalog.date_trunc('second', coalesce(t.a_inst, t.a_local AT TIME ZONE sv.time_zone), 'UTC') AS a_late
    FROM typed t
    LEFT JOIN wfm.services sv ON sv.service_id = t.svc_int
),
checked AS MATERIALIZED (
    SELECT z.*,
        z.kind IS DISTINCT FROM 'object' AS bad_shape,
        CASE WHEN z.svc IS NULL THEN 'MISSING_VALUE'
             WHEN z.svc_int IS NULL THEN 'NOT_INTEGER'
             WHEN z.svc_found IS NULL THEN 'UNKNOWN_SERVICE' END AS svc_err,
        CASE WHEN z.agent IS NULL THEN 'MISSING_VALUE'
             WHEN pg_catalog.length(z.agent) > 100 THEN 'OUT_OF_RANGE' END AS agent_err,
        CASE WHEN z.state IS NULL THEN 'MISSING_VALUE'
             WHEN z.state_l NOT IN ('logged_in', 'ready', 'not_ready', 'talking', 'post_processing', 'logged_out')
             THEN 'INVALID_STATE' END AS state_err,
        CASE WHEN z.at_raw IS NULL THEN 'MISSING_VALUE' ELSE z.at_code END AS at_err,
        CASE WHEN pg_catalog.length(z.reason) > 100 THEN 'OUT_OF_RANGE' END AS reason_err,
        g.group_id,
        CASE WHEN z.grp IS NOT NULL AND z.svc_found IS NOT NULL AND g.group_id IS NULL THEN 'UNKNOWN_GROUP' END AS grp_err
    FROM zoned z
    LEFT JOIN wfm.groups g ON g.service_id = z.svc_found AND g.code = z.grp
),
keyed AS (
    -- an agent's rows: valid service, agent and time
    SELECT k.*,
           (NOT k.bad_shape AND k.svc_err IS NULL AND k.agent_err IS NULL AND k.at_err IS NULL
            AND k.a_early IS NOT NULL) AS keyok
    FROM checked k
),
placed AS MATERIALIZED (
    -- an ambiguous wall-clock time: the earlier instant unless it is before an earlier row of the agent
    SELECT p.*,
           CASE WHEN p.keyok THEN
                CASE WHEN (p.a_early >= pg_catalog.max(p.a_early) OVER earlier) IS NOT FALSE THEN p.a_early
                     ELSE p.a_late END END AS at
    FROM keyed p
    WINDOW earlier AS (PARTITION BY p.keyok, p.svc_found, p.agent ORDER BY p.pos
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
),
ordered AS MATERIALIZED (
    -- the latest earlier row of the agent (time, then row): EVENT_OUT_OF_ORDER when this one is before it
    SELECT p.*,
           pg_catalog.max(ARRAY[EXTRACT(epoch FROM p.at), p.row_number::numeric]) OVER earlier AS latest_before
    FROM placed p
    WINDOW earlier AS (PARTITION BY p.keyok, p.svc_found, p.agent ORDER BY p.pos
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
),
dups AS (
    -- the same state of the same agent at the same second, more than once
    SELECT o.svc_found, o.agent, o.at, o.state_l, pg_catalog.min(o.row_number) AS first_row,
           pg_catalog.string_agg(o.row_number::text, ', ' ORDER BY o.row_number) AS rows,
           count(DISTINCT ROW(o.reason, o.grp)) > 1 AS conflict
    FROM ordered o
    WHERE o.keyok
    GROUP BY o.svc_found, o.agent, o.at, o.state_l
    HAVING count(*) > 1
),
checked2 AS MATERIALIZED (
    SELECT o.*,
           CASE WHEN o.keyok AND EXTRACT(epoch FROM o.at) < o.latest_before[1] THEN 'EVENT_OUT_OF_ORDER' END AS order_err,
           o.latest_before[2]::integer AS order_row,
           CASE WHEN d.conflict THEN 'DUPLICATE_EVENT' END AS dup_event_err,
           CASE WHEN NOT d.conflict AND d.first_row < o.row_number THEN 'DUPLICATE_ROW' END AS dup_row_err,
           d.first_row AS dup_first_row, d.rows AS dup_rows
    FROM ordered o
    LEFT JOIN dups d ON o.keyok AND d.svc_found = o.svc_found AND d.agent = o.agent AND d.at = o.at
                    AND d.state_l IS NOT DISTINCT FROM o.state_l
),
flagged AS MATERIALIZED (
    -- Several states of an agent in the same second (a login and its first ready, say) keep the
    -- input's order: the n-th gets n-1 microseconds, so the earlier ones are held for no time
    -- (seconds are whole: fractions of a second are dropped from the input)
    SELECT c.*,
           c.at + pg_catalog.make_interval(secs => coalesce(count(*) FILTER (WHERE c.dup_row_err IS NULL) OVER same, 0)
                                                   / 1000000.0) AS at_final
    FROM checked2 c
    WINDOW same AS (PARTITION BY c.keyok, c.svc_found, c.agent, c.at ORDER BY c.pos
                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
),
seq AS MATERIALIZED (
    -- the rows that take part in the timeline checks: no error so far (a skipped copy does not)
    SELECT f.pos, f.row_number, f.svc_found AS service_id, f.agent, f.at_final AS at, f.state_l AS state
    FROM flagged f
    WHERE f.keyok AND f.state_err IS NULL AND f.reason_err IS NULL AND f.grp_err IS NULL
      AND f.order_err IS NULL AND f.dup_event_err IS NULL AND f.dup_row_err IS NULL
),
spans AS (
    SELECT s.service_id, s.agent, pg_catalog.min(s.at) AS lo, pg_catalog.max(s.at) AS hi
    FROM seq s GROUP BY s.service_id, s.agent
),
stored AS (
    -- the agent's stored current events within the input's span, and the last one before it
    SELECT t.service_id, t.agent_code AS agent, t.started_at AS at, t.state, t.source_row_number
    FROM spans a
    JOIN wfm.agent_state_transitions t
      ON t.service_id = a.service_id AND t.agent_code = a.agent AND t.started_at BETWEEN a.lo AND a.hi
    WHERE t.is_current
    UNION ALL
    SELECT a.service_id, a.agent, b.started_at, b.state, b.source_row_number
    FROM spans a
    CROSS JOIN LATERAL (
        SELECT t.started_at, t.state, t.source_row_number
        FROM wfm.agent_state_transitions t
        WHERE t.service_id = a.service_id AND t.agent_code = a.agent AND t.started_at < a.lo AND t.is_current
        ORDER BY t.started_at DESC
        LIMIT 1) b
),
timeline AS (
    -- an input row replaces a stored event at the same time
    SELECT DISTINCT ON (u.service_id, u.agent, u.at) u.*
    FROM (SELECT s.service_id, s.agent, s.at, s.state, s.row_number, s.pos FROM seq s
          UNION ALL
          SELECT st.service_id, st.agent, st.at, st.state, NULL, NULL FROM stored st) u
    ORDER BY u.service_id, u.agent, u.at, u.pos NULLS LAST
),
deciding AS (
    -- Whether the agent is logged in before an event: a rejected event never changes it (a login
    -- while logged in keeps them in, any other state while logged out keeps them out), so it is
    -- decided by the latest earlier input logged_in / logged_out, or stored event (the stored
    -- timeline is consistent: any stored state but logged_out means logged in). The latest such
    -- event as [epoch, logged in (1/0), row (0 = stored), state (index in the list below)].
    SELECT l.pos, l.state,
           pg_catalog.max(CASE WHEN l.pos IS NULL OR l.state IN ('logged_in', 'logged_out') THEN
               ARRAY[EXTRACT(epoch FROM l.at), (l.state <> 'logged_out')::integer, coalesce(l.row_number, 0),
                     pg_catalog.array_position(ARRAY['logged_in', 'ready', 'not_ready', 'talking', 'post_processing',
                                                     'logged_out'], l.state)] END) OVER w AS d
    FROM timeline l
    WINDOW w AS (PARTITION BY l.service_id, l.agent ORDER BY l.at ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
),
sequenced AS (
    SELECT l.pos,
           CASE WHEN l.state = 'logged_in' AND l.d[2] = 1 THEN 'OVERLAPPING_SESSION'
                WHEN l.state <> 'logged_in' AND l.d[2] IS DISTINCT FROM 1 THEN 'NOT_LOGGED_IN' END AS seq_err,
           (ARRAY['logged_in', 'ready', 'not_ready', 'talking', 'post_processing', 'logged_out'])[l.d[4]::integer]
               AS why_state,
           pg_catalog.to_timestamp(l.d[1]::double precision) AS why_at,
           nullif(l.d[3], 0)::integer AS why_row
    FROM deciding l
    WHERE l.pos IS NOT NULL
)
SELECT f.row_number, f.svc_found, f.agent, f.state_l, f.at_final, f.reason, f.group_id,
       CASE WHEN f.bad_shape OR f.svc_err IS NOT NULL OR f.agent_err IS NOT NULL OR f.state_err IS NOT NULL
                 OR q.seq_err IS NOT NULL OR f.at_err IS NOT NULL OR f.order_err IS NOT NULL
                 OR f.dup_event_err IS NOT NULL OR f.reason_err IS NOT NULL OR f.grp_err IS NOT NULL
                 OR f.dup_row_err IS NOT NULL THEN ARRAY(
           -- messages: the code's template (wfm.error_codes) rendered with the column, the raw value
           -- and the code's own parameters
           SELECT ROW(v.col, v.code, wfm.render_error_template(tp.templates ->> v.code, x.params),
                      wfm.clip_text(v.raw))::wfm.import_row_error
           FROM (VALUES
               (NULL::text, CASE WHEN f.bad_shape THEN 'MISSING_VALUE' END, coalesce(f.kind, 'null'),
                    '{"column": "(all)"}'::jsonb),
               ('service_id', f.svc_err, f.svc, NULL::jsonb),
               ('agent', f.agent_err, f.agent, '{"limit": "at most 100 characters"}'::jsonb),
               ('state', coalesce(f.state_err, q.seq_err), f.state,
                    pg_catalog.jsonb_build_object('reason',
                        CASE WHEN q.why_state IS NULL THEN 'no logged_in before it'
                             ELSE q.why_state || ' at '
                                  || pg_catalog.to_char(q.why_at AT TIME ZONE f.tz, 'YYYY-MM-DD HH24:MI:SS')
                                  || CASE WHEN q.why_row IS NOT NULL THEN ', row ' || q.why_row
                                          ELSE ', stored' END END)),
               ('at', coalesce(f.at_err, f.order_err, f.dup_event_err), f.at_raw,
                    pg_catalog.jsonb_build_object('time_zone', f.tz, 'first_row', f.order_row, 'rows', f.dup_rows)),
               ('reason', f.reason_err, f.reason, '{"limit": "at most 100 characters"}'::jsonb),
               ('group', f.grp_err, f.grp, pg_catalog.jsonb_build_object('service', f.svc_code_text)),
               (NULL, f.dup_row_err, f.at_raw, pg_catalog.jsonb_build_object('first_row', f.dup_first_row))
           ) AS v(col, code, raw, params)
           -- a column (OFFSET 0: not pulled up), built once: the inlined renderer reads it per placeholder
           CROSS JOIN LATERAL (SELECT pg_catalog.jsonb_build_object('column', v.col, 'value', v.raw)
                                      || coalesce(v.params, '{}'::jsonb) AS params OFFSET 0) x
           WHERE v.code IS NOT NULL AND (v.col IS NULL OR NOT f.bad_shape))
       ELSE '{}'::wfm.import_row_error[] END
FROM flagged f
CROSS JOIN (SELECT pg_catalog.jsonb_object_agg(ec.error_code, ec.message_template) AS templates
            FROM wfm.error_codes ec) tp
LEFT JOIN sequenced q ON q.pos = f.pos
ORDER BY f.pos
$$;
COMMENT ON FUNCTION wfm.stage_agent_events(jsonb, integer[]) IS
    'Internal: parses and validates a JSON array of agent state events (service_id, agent, state, at, reason, group) in one set-based statement (see the file''s header): field rules, time order and duplicates per agent, and the session rules (NOT_LOGGED_IN, OVERLAPPING_SESSION) against the agent''s stored events; one wfm.staged_agent_event per element (p_row_numbers: the file''s row numbers), at in UTC. The file path (wfm_pipeline/calls/agent_validate.py) gives the same verdicts. Partitions are not checked here.';
REVOKE ALL ON FUNCTION wfm.stage_agent_events(jsonb, integer[]) FROM PUBLIC;
