-- Staffing targets of a service, read by the forecasting domain to turn forecast calls into
-- required and scheduled agents (Erlang C, or Erlang A when a patience figure is set).

ALTER TABLE wfm.services
    ADD COLUMN service_level_target numeric(5, 4) NOT NULL DEFAULT 0.80
        CONSTRAINT services_service_level_target_range CHECK (service_level_target > 0 AND service_level_target < 1),
    ADD COLUMN sl_threshold_seconds integer NOT NULL DEFAULT 20
        CONSTRAINT services_sl_threshold_range CHECK (sl_threshold_seconds BETWEEN 0 AND 3600),
    ADD COLUMN max_occupancy numeric(5, 4) NOT NULL DEFAULT 0.85
        CONSTRAINT services_max_occupancy_range CHECK (max_occupancy > 0 AND max_occupancy <= 1),
    ADD COLUMN shrinkage numeric(5, 4) NOT NULL DEFAULT 0.30
        CONSTRAINT services_shrinkage_range CHECK (shrinkage >= 0 AND shrinkage < 1),
    ADD COLUMN patience_seconds numeric(8, 1)
        CONSTRAINT services_patience_positive CHECK (patience_seconds > 0);

COMMENT ON COLUMN wfm.services.service_level_target IS
    'Service-level target: share of calls to answer within sl_threshold_seconds (0.80 = 80%).';
COMMENT ON COLUMN wfm.services.sl_threshold_seconds IS
    'Service-level threshold in seconds (the 20 of "80/20").';
COMMENT ON COLUMN wfm.services.max_occupancy IS
    'Highest acceptable agent occupancy (busy share of logged-in time); staffing never plans above it.';
COMMENT ON COLUMN wfm.services.shrinkage IS
    'Share of paid time agents are not available for calls (breaks, training, absence): scheduled = required / (1 - shrinkage).';
COMMENT ON COLUMN wfm.services.patience_seconds IS
    'Mean caller patience in seconds; when set, staffing uses Erlang A (abandonment) instead of Erlang C.';
