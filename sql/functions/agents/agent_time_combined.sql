-- THE rule that combines what agent states and call records say about one agent, service and
-- 15-minute interval (wfm.agent_activity): used by both derivations (call records:
-- wfm.derive_agent_activity; states: wfm.derive_agent_states), so either can run first.
--
-- Inputs: the states' seconds (p_logged_in: any state but logged_out; ready, not_ready,
-- talking, post_processing; NULL = the states say nothing) and the call records' talk and
-- post-processing seconds (NULL = no call records for the agent in the interval).
--   talk, post-processing  the call records' figures when there are any, else the talking /
--                          post_processing states (0 when the source sends no such states)
--   ready                  idle time: ready + talking + post_processing states minus the handling
--                          time (talk + post-processing), never below 0
--   not_ready              the not_ready state, less any handling time beyond the ready states
--                          (after-call work a source reports as not ready)
--   logged_in              the states' logged-in time, raised to the handling time when calls
--                          had the agent on the phone longer than the states had them logged in
--                          (a call proves presence)
-- so ready + talk + post-processing + not_ready <= logged_in always holds. Without states, or
-- when the calls' handling time alone exceeds the interval (concurrent calls of one agent: no
-- login time can hold them), logged_in, ready and not_ready are NULL (unknown) and talk and
-- post-processing are the calls' figures as they are.
CREATE OR REPLACE FUNCTION wfm.agent_time_combined(
    p_logged_in integer, p_ready integer, p_not_ready integer, p_talking integer, p_post integer,
    p_call_talk integer, p_call_post integer)
RETURNS TABLE (logged_in_seconds integer, ready_seconds integer, not_ready_seconds integer,
               talk_seconds integer, post_processing_seconds integer)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT CASE WHEN h.known THEN GREATEST(p_logged_in, h.talk + h.post) END,
       CASE WHEN h.known THEN GREATEST(p_ready + p_talking + p_post - h.talk - h.post, 0) END,
       CASE WHEN h.known THEN GREATEST(p_not_ready - GREATEST(h.talk + h.post - p_ready - p_talking - p_post, 0), 0) END,
       h.talk,
       h.post
FROM (SELECT t.talk, t.post, p_logged_in IS NOT NULL AND t.talk + t.post <= 900 AS known
      FROM (SELECT coalesce(p_call_talk, p_talking, 0) AS talk, coalesce(p_call_post, p_post, 0) AS post) t) h
$$;
COMMENT ON FUNCTION wfm.agent_time_combined(integer, integer, integer, integer, integer, integer, integer) IS
    'Internal (inlined): combines the agent-state seconds (logged-in, ready, not-ready, talking, post-processing; NULL = unknown) and the call records'' talk and post-processing seconds (NULL = none) of one agent-interval into agent_activity''s logged-in, ready, not-ready, talk and post-processing seconds (rule in the file''s header); ready + talk + post-processing + not-ready never exceed logged-in.';
REVOKE ALL ON FUNCTION wfm.agent_time_combined(integer, integer, integer, integer, integer, integer, integer) FROM PUBLIC;
