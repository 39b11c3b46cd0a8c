-- Staffing results stored next to each forecast interval, and the staffing model of a run.

ALTER TABLE wfm.forecasts
    ADD COLUMN workload_erlangs numeric(12, 3) CONSTRAINT forecasts_workload_not_negative CHECK (workload_erlangs >= 0),
    ADD COLUMN scheduled_agents integer CONSTRAINT forecasts_scheduled_not_negative CHECK (scheduled_agents >= 0),
    ADD COLUMN service_level numeric(6, 5) CONSTRAINT forecasts_service_level_range CHECK (service_level BETWEEN 0 AND 1),
    ADD COLUMN asa numeric(10, 2) CONSTRAINT forecasts_asa_not_negative CHECK (asa >= 0),
    ADD COLUMN occupancy numeric(6, 5) CONSTRAINT forecasts_occupancy_range CHECK (occupancy BETWEEN 0 AND 1),
    ADD COLUMN abandon_rate numeric(6, 5) CONSTRAINT forecasts_abandon_rate_range CHECK (abandon_rate BETWEEN 0 AND 1);

COMMENT ON COLUMN wfm.forecasts.workload_erlangs IS 'Offered load: calls x AHT / interval length, in Erlangs.';
COMMENT ON COLUMN wfm.forecasts.scheduled_agents IS 'Agents to schedule: required_agents / (1 - shrinkage), rounded up.';
COMMENT ON COLUMN wfm.forecasts.service_level IS 'Expected share of calls answered within the service''s threshold with required_agents.';
COMMENT ON COLUMN wfm.forecasts.asa IS 'Expected average speed of answer in seconds (Erlang A: mean wait of all offered calls).';
COMMENT ON COLUMN wfm.forecasts.occupancy IS 'Expected agent occupancy with required_agents.';
COMMENT ON COLUMN wfm.forecasts.abandon_rate IS 'Expected share of calls abandoned (Erlang A; 0 under Erlang C).';

ALTER TABLE wfm.forecast_runs
    ADD COLUMN staffing_model text NOT NULL DEFAULT 'erlang_c'
        CONSTRAINT forecast_runs_staffing_model_known CHECK (staffing_model IN ('erlang_c', 'erlang_a'));
COMMENT ON COLUMN wfm.forecast_runs.staffing_model IS 'erlang_c, or erlang_a when the service had a patience figure.';
