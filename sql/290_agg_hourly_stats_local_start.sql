-- Issue 15 (week_hourly_all at 1 client: p95 8.6-9.8 ms against 10 ms, no margin): the
-- service-local start of each hour, stored with the hour.
--
-- 60-minute buckets over past hours are the rows of wfm.agg_hourly_stats as they are
-- (wfm.calls_by_hour_rows). Their local_start was `hour_start AT TIME ZONE <zone>` per row,
-- the zone looked up by position in an array: the zone name is parsed and looked up in the
-- time-zone cache on every call of timezone(text, timestamptz), about 0.3 us a row, 3,360 rows
-- for a week of 20 services. Stored, it is computed once, when the refresh writes the hour
-- (wfm.hourly_rows, the one definition of an hourly row, computes it).
--
-- It depends on the service's time zone, like local_hour_aligned already does: a zone change
-- logs every materialized hour of the service as changed (wfm.services_time_zone_changed,
-- under the refresh lock), so readers read those hours raw until the next refresh rewrites
-- them in the new zone. Existing rows are filled here with the zone each service has now
-- (rows with a pending zone change are rewritten by the next refresh anyway).
-- 190,560 rows at the benchmark's 7.6 M: one rewrite of the table (about 2 s).
ALTER TABLE wfm.agg_hourly_stats ADD COLUMN local_start timestamp;
UPDATE wfm.agg_hourly_stats h
SET local_start = h.hour_start AT TIME ZONE s.time_zone
FROM wfm.services s
WHERE s.service_id = h.service_id;
ALTER TABLE wfm.agg_hourly_stats ALTER COLUMN local_start SET NOT NULL;
COMMENT ON COLUMN wfm.agg_hourly_stats.local_start IS
    'Start of the hour in the service''s time zone (hour_start AT TIME ZONE services.time_zone), written by the refresh; a zone change logs the service''s hours as changed until the refresh rewrites them.';
