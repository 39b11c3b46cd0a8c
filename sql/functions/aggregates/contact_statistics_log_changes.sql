-- wfm.contact_statistics_log_changes: the change log's writer for every statement that writes
-- wfm.contact_statistics through the parent table (files, JSON API, revert, month rebuild, call
-- records, anything later). Statement level with transition tables: one aggregate of the
-- statement's rows, not a trigger call per row.
--
-- Rows -> distinct (service, UTC hour) -> the local days of the hour's four quarters (a UTC hour
-- can touch two local days in a +05:30 zone) -> one log row per (service, local day) with the
-- span of changed hours of that day. SECURITY DEFINER: a writer needs no right on the log.

CREATE OR REPLACE FUNCTION wfm.contact_statistics_log_changes() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO wfm.aggregate_changes (service_id, stat_date, range_start, range_end, source)
        SELECT h.service_id, ((h.hour_start + q.o) AT TIME ZONE s.time_zone)::date,
               min(h.hour_start), max(h.hour_start) + interval '1 hour', 'insert'
        FROM (SELECT DISTINCT n.service_id,
                     date_bin(interval '1 hour', n.interval_start_time, timestamptz '2000-01-01 00:00:00+00') AS hour_start
              FROM new_rows n) h
        JOIN wfm.services s ON s.service_id = h.service_id
        CROSS JOIN (VALUES (interval '0 minutes'), (interval '15 minutes'),
                           (interval '30 minutes'), (interval '45 minutes')) q(o)
        GROUP BY 1, 2;
    ELSIF TG_OP = 'UPDATE' THEN
        -- Old and new keys: an UPDATE may move a row to another interval or service.
        INSERT INTO wfm.aggregate_changes (service_id, stat_date, range_start, range_end, source)
        SELECT h.service_id, ((h.hour_start + q.o) AT TIME ZONE s.time_zone)::date,
               min(h.hour_start), max(h.hour_start) + interval '1 hour', 'update'
        FROM (SELECT n.service_id,
                     date_bin(interval '1 hour', n.interval_start_time, timestamptz '2000-01-01 00:00:00+00') AS hour_start
              FROM new_rows n
              UNION
              SELECT o.service_id,
                     date_bin(interval '1 hour', o.interval_start_time, timestamptz '2000-01-01 00:00:00+00')
              FROM old_rows o) h
        JOIN wfm.services s ON s.service_id = h.service_id
        CROSS JOIN (VALUES (interval '0 minutes'), (interval '15 minutes'),
                           (interval '30 minutes'), (interval '45 minutes')) q(o)
        GROUP BY 1, 2;
    ELSE
        INSERT INTO wfm.aggregate_changes (service_id, stat_date, range_start, range_end, source)
        SELECT h.service_id, ((h.hour_start + q.o) AT TIME ZONE s.time_zone)::date,
               min(h.hour_start), max(h.hour_start) + interval '1 hour', 'delete'
        FROM (SELECT DISTINCT o.service_id,
                     date_bin(interval '1 hour', o.interval_start_time, timestamptz '2000-01-01 00:00:00+00') AS hour_start
              FROM old_rows o) h
        JOIN wfm.services s ON s.service_id = h.service_id
        CROSS JOIN (VALUES (interval '0 minutes'), (interval '15 minutes'),
                           (interval '30 minutes'), (interval '45 minutes')) q(o)
        GROUP BY 1, 2;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION wfm.contact_statistics_log_changes() IS
    'Trigger (AFTER INSERT/UPDATE/DELETE FOR EACH STATEMENT on contact_statistics): logs the (service, local day) and UTC hours the statement changed in wfm.aggregate_changes, in the writer''s transaction.';
REVOKE ALL ON FUNCTION wfm.contact_statistics_log_changes() FROM PUBLIC;
