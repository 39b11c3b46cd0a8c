-- wfm.services_time_zone_changed: a service's new time zone moves all its local days (and which
-- UTC hours fall into one local hour). Everything it has materialized is logged as changed, so
-- readers read it raw until the next refresh recomputes it: the days of its daily rows (old
-- zone) and the local days of its hourly rows in the new zone.
--
-- It takes the refresh lock first: a refresh running meanwhile would otherwise materialize days
-- in the old zone after this statement looked at the tables.

CREATE OR REPLACE FUNCTION wfm.services_time_zone_changed() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('wfm.refresh_aggregates'));
    INSERT INTO wfm.aggregate_changes (service_id, stat_date, range_start, range_end, source)
    SELECT NEW.service_id, d.stat_date,
           date_bin(interval '1 hour', d.stat_date::timestamp AT TIME ZONE OLD.time_zone,
                    timestamptz '2000-01-01 00:00:00+00'),
           date_bin(interval '1 hour', (d.stat_date + 1)::timestamp AT TIME ZONE OLD.time_zone
                                       + interval '59 minutes 59.999999 seconds',
                    timestamptz '2000-01-01 00:00:00+00'),
           'time_zone'
    FROM wfm.agg_daily_service_stats d
    WHERE d.service_id = NEW.service_id AND d.group_id IS NULL
    UNION ALL
    SELECT NEW.service_id, ((h.hour_start + q.o) AT TIME ZONE NEW.time_zone)::date,
           min(h.hour_start), max(h.hour_start) + interval '1 hour', 'time_zone'
    FROM wfm.agg_hourly_stats h
    CROSS JOIN (VALUES (interval '0 minutes'), (interval '15 minutes'),
                       (interval '30 minutes'), (interval '45 minutes')) q(o)
    WHERE h.service_id = NEW.service_id
    GROUP BY 2;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION wfm.services_time_zone_changed() IS
    'Trigger (AFTER UPDATE OF time_zone on services): logs every materialized day and hour of the service as changed (its local days moved), under the refresh lock.';
REVOKE ALL ON FUNCTION wfm.services_time_zone_changed() FROM PUBLIC;
