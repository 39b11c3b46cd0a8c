-- Special days of a service (holidays, campaigns, outages) that users maintain: past ones can
-- be kept out of model training, future ones can scale the forecast.

CREATE TABLE wfm.special_days (
    service_id             integer NOT NULL REFERENCES wfm.services (service_id) ON DELETE CASCADE,
    day                    date NOT NULL,
    exclude_from_training  boolean NOT NULL DEFAULT true,
    multiplier             numeric(8, 4)
                           CONSTRAINT special_days_multiplier_range CHECK (multiplier >= 0 AND multiplier <= 100),
    description            text,
    created_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service_id, day)
);

COMMENT ON TABLE wfm.special_days IS
    'Special days per service (local calendar dates): excluded from forecast training and/or scaling future forecasts.';
COMMENT ON COLUMN wfm.special_days.service_id IS 'Service the day applies to (all its groups).';
COMMENT ON COLUMN wfm.special_days.day IS 'Calendar date in the service''s time zone.';
COMMENT ON COLUMN wfm.special_days.exclude_from_training IS
    'When true the day''s history is ignored by the forecasting model (level, weekday factors, profiles).';
COMMENT ON COLUMN wfm.special_days.multiplier IS
    'For a forecast date: factor applied to the normal forecast of that day (0 = closed, 1.3 = 30% more); NULL = no change.';
COMMENT ON COLUMN wfm.special_days.description IS 'Free text, e.g. "Christmas" or "TV campaign".';
COMMENT ON COLUMN wfm.special_days.created_at IS 'When the row was entered.';
