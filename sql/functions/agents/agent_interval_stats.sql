-- Per service and 15-minute interval, what the agents did (issue 14), from wfm.agent_activity:
-- additive seconds (summed over agents) and the metrics derived from them. Ratios divide sums
-- (never average per-agent ratios), and figures that need agent states use only the rows whose
-- states are known (logged_in_seconds not NULL):
--   staffed_agents    logged-in seconds / 900 (agents on average logged in during the interval)
--   available_agents  (logged-in - not-ready seconds) / 900
--   occupancy         (talk + post-processing) / (talk + post-processing + ready)
--   utilization       (talk + post-processing) / logged-in
--   shrinkage         not-ready / logged-in (the shrinkage observed)
-- Filters on service_id and interval_start_time are pushed down (agent_activity_service_time_idx).
CREATE OR REPLACE VIEW wfm.agent_interval_stats AS
SELECT aa.service_id,
       aa.interval_start_time,
       count(*)::integer                                                          AS agents,
       count(*) FILTER (WHERE aa.logged_in_seconds IS NOT NULL)::integer          AS agents_with_states,
       sum(aa.logged_in_seconds)::bigint                                          AS logged_in_seconds,
       sum(aa.ready_seconds)::bigint                                              AS ready_seconds,
       sum(aa.not_ready_seconds)::bigint                                          AS not_ready_seconds,
       sum(aa.talk_seconds)::bigint                                               AS talk_seconds,
       sum(aa.post_processing_seconds)::bigint                                    AS post_processing_seconds,
       sum(aa.calls_handled)::bigint                                              AS calls_handled,
       (sum(aa.talk_seconds + aa.post_processing_seconds)
            FILTER (WHERE aa.logged_in_seconds IS NOT NULL))::bigint              AS handling_seconds_with_states,
       round(sum(aa.logged_in_seconds) / 900.0, 2)                                AS staffed_agents,
       round((sum(aa.logged_in_seconds) - sum(aa.not_ready_seconds)) / 900.0, 2) AS available_agents,
       round(sum(aa.talk_seconds + aa.post_processing_seconds) FILTER (WHERE aa.logged_in_seconds IS NOT NULL)::numeric
             / NULLIF(sum(aa.talk_seconds + aa.post_processing_seconds + aa.ready_seconds)
                          FILTER (WHERE aa.logged_in_seconds IS NOT NULL), 0), 4) AS occupancy,
       round(sum(aa.talk_seconds + aa.post_processing_seconds) FILTER (WHERE aa.logged_in_seconds IS NOT NULL)::numeric
             / NULLIF(sum(aa.logged_in_seconds), 0), 4)                           AS utilization,
       round(sum(aa.not_ready_seconds)::numeric / NULLIF(sum(aa.logged_in_seconds), 0), 4) AS shrinkage
FROM wfm.agent_activity aa
GROUP BY aa.service_id, aa.interval_start_time;
COMMENT ON VIEW wfm.agent_interval_stats IS
    'Per service and 15-minute interval: agent seconds summed over agents (logged-in, ready and not-ready over agents whose states are known) and the metrics derived from the sums: staffed_agents (logged-in / 900), available_agents ((logged-in - not-ready) / 900), occupancy ((talk + post-processing) / (that + ready)), utilization ((talk + post-processing) / logged-in), shrinkage (not-ready / logged-in); the ratios over agents with states only. Filters on service_id / interval_start_time are pushed down.';
COMMENT ON COLUMN wfm.agent_interval_stats.service_id IS 'Service.';
COMMENT ON COLUMN wfm.agent_interval_stats.interval_start_time IS 'Start of the 15-minute interval (UTC-aligned).';
COMMENT ON COLUMN wfm.agent_interval_stats.agents IS 'Agents with activity (calls or states) in the interval.';
COMMENT ON COLUMN wfm.agent_interval_stats.agents_with_states IS 'Of those, agents whose logged-in time is known (agent state events).';
COMMENT ON COLUMN wfm.agent_interval_stats.logged_in_seconds IS 'Logged-in seconds (agents with states).';
COMMENT ON COLUMN wfm.agent_interval_stats.ready_seconds IS 'Idle ready seconds (agents with states).';
COMMENT ON COLUMN wfm.agent_interval_stats.not_ready_seconds IS 'Not-ready seconds (agents with states).';
COMMENT ON COLUMN wfm.agent_interval_stats.talk_seconds IS 'Talk seconds (all agents).';
COMMENT ON COLUMN wfm.agent_interval_stats.post_processing_seconds IS 'Post-processing seconds (all agents).';
COMMENT ON COLUMN wfm.agent_interval_stats.calls_handled IS 'Calls answered in the interval by an agent.';
COMMENT ON COLUMN wfm.agent_interval_stats.handling_seconds_with_states IS 'Talk + post-processing seconds of the agents with states (the numerator of occupancy and utilization).';
COMMENT ON COLUMN wfm.agent_interval_stats.staffed_agents IS 'Logged-in seconds / 900: agents logged in on average over the interval.';
COMMENT ON COLUMN wfm.agent_interval_stats.available_agents IS '(Logged-in - not-ready seconds) / 900: agents available for calls on average.';
COMMENT ON COLUMN wfm.agent_interval_stats.occupancy IS '(Talk + post-processing) / (talk + post-processing + ready), agents with states; NULL when not computable.';
COMMENT ON COLUMN wfm.agent_interval_stats.utilization IS '(Talk + post-processing) / logged-in, agents with states.';
COMMENT ON COLUMN wfm.agent_interval_stats.shrinkage IS 'Not-ready / logged-in: the shrinkage observed.';
GRANT SELECT ON wfm.agent_interval_stats TO wfm_readonly;
