-- Forecast runs and their per-interval rows (filled by the forecasting domain).

CREATE TABLE wfm.forecast_runs (
    forecast_run_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_id       integer NOT NULL REFERENCES wfm.services (service_id),
    group_id         integer,
    created_at       timestamptz NOT NULL DEFAULT now(),
    as_of            timestamptz NOT NULL,
    horizon_start    timestamptz NOT NULL,
    horizon_end      timestamptz NOT NULL,
    model            text NOT NULL,
    parameters       jsonb NOT NULL DEFAULT '{}'::jsonb,
    backtest         jsonb NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT forecast_runs_group_of_service
        FOREIGN KEY (group_id, service_id) REFERENCES wfm.groups (group_id, service_id),
    CONSTRAINT forecast_runs_horizon_order CHECK (horizon_end > horizon_start)
);
COMMENT ON TABLE wfm.forecast_runs IS 'One forecasting run for a service (group_id NULL) or group: its model, settings and backtest.';
COMMENT ON COLUMN wfm.forecast_runs.forecast_run_id IS 'Surrogate key.';
COMMENT ON COLUMN wfm.forecast_runs.service_id IS 'Forecast service.';
COMMENT ON COLUMN wfm.forecast_runs.group_id IS 'Forecast group; NULL = service level.';
COMMENT ON COLUMN wfm.forecast_runs.created_at IS 'When the run was stored.';
COMMENT ON COLUMN wfm.forecast_runs.as_of IS 'The run only used history before this instant.';
COMMENT ON COLUMN wfm.forecast_runs.horizon_start IS 'First forecast interval start.';
COMMENT ON COLUMN wfm.forecast_runs.horizon_end IS 'End (exclusive) of the forecast horizon.';
COMMENT ON COLUMN wfm.forecast_runs.model IS 'Forecasting model name and version.';
COMMENT ON COLUMN wfm.forecast_runs.parameters IS 'Model and staffing settings used.';
COMMENT ON COLUMN wfm.forecast_runs.backtest IS 'Rolling-origin backtest results (WAPE of model and baseline).';

CREATE INDEX forecast_runs_latest_idx ON wfm.forecast_runs (service_id, group_id, created_at DESC);
COMMENT ON INDEX wfm.forecast_runs_latest_idx IS 'Serves "latest run for a service/group" (api_get_forecast).';

CREATE TABLE wfm.forecasts (
    forecast_run_id      bigint NOT NULL REFERENCES wfm.forecast_runs (forecast_run_id) ON DELETE CASCADE,
    interval_start_time  timestamptz NOT NULL,
    service_id           integer NOT NULL,
    group_id             integer,
    calls                numeric(12, 3) NOT NULL CHECK (calls >= 0),
    unique_calls         numeric(12, 3) NOT NULL CHECK (unique_calls >= 0),
    aht                  numeric(10, 2) CHECK (aht >= 0),
    required_agents      integer CHECK (required_agents >= 0),
    PRIMARY KEY (forecast_run_id, interval_start_time),
    CONSTRAINT forecasts_interval_aligned CHECK (extract(epoch FROM interval_start_time)::numeric % 900 = 0)
);
COMMENT ON TABLE wfm.forecasts IS 'Forecast per 15-minute interval of a run: calls, unique calls, AHT and required agents.';
COMMENT ON COLUMN wfm.forecasts.forecast_run_id IS 'The run.';
COMMENT ON COLUMN wfm.forecasts.interval_start_time IS 'Interval start.';
COMMENT ON COLUMN wfm.forecasts.service_id IS 'Service (copied from the run for direct filtering).';
COMMENT ON COLUMN wfm.forecasts.group_id IS 'Group (copied from the run); NULL = service level.';
COMMENT ON COLUMN wfm.forecasts.calls IS 'Forecast non-unique incoming calls.';
COMMENT ON COLUMN wfm.forecasts.unique_calls IS 'Forecast unique incoming calls.';
COMMENT ON COLUMN wfm.forecasts.aht IS 'Forecast average handling time (talk + post-processing), seconds, call-weighted.';
COMMENT ON COLUMN wfm.forecasts.required_agents IS 'Agents needed on the phones to meet the service''s targets.';
