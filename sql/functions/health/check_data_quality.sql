-- wfm.check_data_quality (first defined in sql/077_check_data_quality.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it.
--
-- check_data_quality(): plausibility of the stored series over the most recent p_days of data
-- (the window ends at the newest stored interval, so old data sets are judged too).
--
--   quality.interval_gaps   per service/group series and local day (services.time_zone): the
--                           15-minute intervals missing between the day's first and last one,
--                           and whole days missing between the series' first and last day.
--                           Argus exports list every interval of the opening hours (zeros
--                           included), so a hole means a file or part of one was not loaded.
--   quality.daily_volume    per service and local day: total calls more than p_volume_factor
--                           times above or below the median of the same weekday in the window
--                           (medians under p_min_median_calls are too small to judge).
-- Both WARN (data to look at, not a broken system).

CREATE OR REPLACE FUNCTION wfm.check_data_quality(
    p_days integer DEFAULT 35,
    p_volume_factor numeric DEFAULT 5,
    p_min_median_calls numeric DEFAULT 50
) RETURNS SETOF wfm.check_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_rows     wfm.check_result[] := '{}';
    v_last     timestamptz;
    v_from     timestamptz;
    v_series   bigint;
    v_bad      bigint;
    v_missing  bigint;
    v_days     bigint;
    v_details  jsonb;
BEGIN
    IF p_days IS NULL OR p_days < 1 OR p_days > 400 THEN
        RAISE EXCEPTION 'check_data_quality: p_days must be 1..400, not %', p_days USING ERRCODE = 'invalid_parameter_value';
    END IF;
    BEGIN   -- rolled back at the end: releases the read locks
        -- Newest interval per service (a backward probe of the key index, which leads with
        -- service_id since sql/270), then the newest of those: not a scan of every row.
        SELECT max(x.hi) INTO v_last
        FROM wfm.services s
        CROSS JOIN LATERAL (SELECT max(cs.interval_start_time) AS hi FROM wfm.contact_statistics cs
                            WHERE cs.service_id = s.service_id) x;
        IF v_last IS NULL THEN
            v_rows := v_rows || wfm.health_row('quality.interval_gaps', 'PASS', 0, 0, 'series',
                jsonb_build_object('note', 'no data'));
            v_rows := v_rows || wfm.health_row('quality.daily_volume', 'PASS', 0, 0, 'service days',
                jsonb_build_object('note', 'no data'));
        ELSE
            v_from := v_last - make_interval(days => p_days);

            WITH days AS (
                SELECT cs.service_id, cs.group_id,
                       (cs.interval_start_time AT TIME ZONE s.time_zone)::date AS local_day,
                       count(*) AS n,
                       (extract(epoch FROM max(cs.interval_start_time) - min(cs.interval_start_time)) / 900)::bigint + 1 AS span
                FROM wfm.contact_statistics cs
                JOIN wfm.services s ON s.service_id = cs.service_id
                WHERE cs.interval_start_time > v_from AND cs.interval_start_time <= v_last
                GROUP BY 1, 2, 3
            ), series AS (
                SELECT service_id, group_id,
                       sum(span - n) AS missing_intervals,
                       (max(local_day) - min(local_day) + 1) - count(*) AS missing_days,
                       (array_agg(local_day ORDER BY local_day) FILTER (WHERE span > n))[1] AS first_day_with_hole
                FROM days GROUP BY 1, 2
            )
            SELECT count(*), count(*) FILTER (WHERE missing_intervals > 0 OR missing_days > 0),
                   coalesce(sum(missing_intervals), 0), coalesce(sum(missing_days), 0),
                   coalesce(jsonb_agg(jsonb_build_object(
                       'service_id', service_id, 'group_id', group_id,
                       'missing_intervals', missing_intervals, 'missing_days', missing_days,
                       'first_day_with_hole', first_day_with_hole)
                       ORDER BY missing_intervals + 96 * missing_days DESC, service_id, group_id)
                       FILTER (WHERE missing_intervals > 0 OR missing_days > 0), '[]'::jsonb)
            INTO v_series, v_bad, v_missing, v_days, v_details
            FROM series;
            v_rows := v_rows || wfm.health_row('quality.interval_gaps',
                CASE WHEN v_bad > 0 THEN 'WARN' ELSE 'PASS' END, v_bad, 0, 'series',
                jsonb_build_object('series_checked', v_series, 'missing_intervals', v_missing, 'missing_days', v_days,
                                   'window_start', v_from, 'window_end', v_last,
                                   'series_with_gaps', (SELECT coalesce(jsonb_agg(e), '[]'::jsonb)
                                                        FROM (SELECT e FROM jsonb_array_elements(v_details) e LIMIT 20) x),
                                   'rule', 'per service/group and local day: no missing 15-minute interval between the first and last one; no missing day between the first and last day of the series'));

            WITH daily AS (
                SELECT si.service_id, (si.interval_start_time AT TIME ZONE s.time_zone)::date AS local_day,
                       sum(si.non_unique_incoming) AS calls
                FROM wfm.service_interval_stats si
                JOIN wfm.services s ON s.service_id = si.service_id
                WHERE si.interval_start_time > v_from AND si.interval_start_time <= v_last
                GROUP BY 1, 2
            ), inner_days AS (
                -- The first and last day of each service in the window are usually partial
                -- (window edge, today still loading): not judged.
                SELECT d.* FROM daily d
                JOIN (SELECT service_id, min(local_day) AS lo, max(local_day) AS hi FROM daily GROUP BY 1) e
                  ON e.service_id = d.service_id AND d.local_day > e.lo AND d.local_day < e.hi
            ), judged AS (
                SELECT d.*, m.median
                FROM inner_days d
                CROSS JOIN LATERAL (
                    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY o.calls)::numeric AS median
                    FROM inner_days o
                    WHERE o.service_id = d.service_id AND extract(isodow FROM o.local_day) = extract(isodow FROM d.local_day)
                ) m
            )
            SELECT count(*) FILTER (WHERE median >= p_min_median_calls
                                      AND (calls > p_volume_factor * median OR calls < median / p_volume_factor)),
                   coalesce(jsonb_agg(jsonb_build_object('service_id', service_id, 'day', local_day, 'calls', calls,
                                                         'weekday_median', round(median, 1))
                                      ORDER BY local_day DESC, service_id)
                            FILTER (WHERE median >= p_min_median_calls
                                      AND (calls > p_volume_factor * median OR calls < median / p_volume_factor)), '[]'::jsonb)
            INTO v_bad, v_details
            FROM judged;
            v_rows := v_rows || wfm.health_row('quality.daily_volume',
                CASE WHEN v_bad > 0 THEN 'WARN' ELSE 'PASS' END, v_bad, 0, 'service days',
                jsonb_build_object('implausible_days', (SELECT coalesce(jsonb_agg(e), '[]'::jsonb)
                                                        FROM (SELECT e FROM jsonb_array_elements(v_details) e LIMIT 20) x),
                                   'factor', p_volume_factor, 'min_median_calls', p_min_median_calls,
                                   'window_start', v_from, 'window_end', v_last,
                                   'rule', 'a service''s local-day call total more than factor x above or below the median of the same weekday in the window (first and last day of the window not judged)'));
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'WFRB0';
    EXCEPTION WHEN SQLSTATE 'WFRB0' THEN
        NULL;
    END;
    RETURN QUERY SELECT * FROM unnest(v_rows);
END
$$;
COMMENT ON FUNCTION wfm.check_data_quality(integer, numeric, numeric) IS
    'Data plausibility over the newest p_days (35) of stored data: series (service/group) with missing 15-minute intervals inside a local day or missing days (WARN), and service local days whose calls are more than 5x above or below the median of the same weekday (WARN). Holds no locks after returning.';
REVOKE ALL ON FUNCTION wfm.check_data_quality(integer, numeric, numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wfm.check_data_quality(integer, numeric, numeric) TO wfm_readonly;
