-- wfm.validate_throughput_capacity (first defined in sql/075_validate_throughput_capacity.sql). Issue 9: search_path ends
-- with pg_temp (searched after wfm and pg_catalog, never before) and catalog relations are
-- schema-qualified, so a caller's temporary objects cannot steer it.
--
-- validate_throughput_capacity(): real insert throughput through api_batch_insert_calls and the
-- stored volume against the guide's capacity targets.
--
-- Throughput: p_rows synthetic intervals for throw-away services (no key can collide with real
-- data, so no real row is touched or locked) are sent in one api_batch_insert_calls call inside
-- a subtransaction that is then rolled back on purpose: the services, the import_batches row and
-- the inserted rows all disappear, and the row locks go with them. The rows go into an existing
-- partition (the current month's when it exists), so no partition DDL (and no lock on the
-- parent table that could block imports) is needed. Guide: batch inserts > 100 rows/s (FAIL below).
--
-- Capacity: the busiest stored day and hour against the volume this install is sized for
-- (wfm.capacity_targets, sql/160; default the guide's 100,000 calls a day and 10,000 in the peak
-- hour): WARN once they reach warn_share (0.8) of it - the headroom is running out, and the SLAs
-- were validated for less (`wfm bench queries` demonstrates them at a chosen scale). A small
-- install far below its targets is healthy and PASSes (issue 12; before, it WARNed because it
-- had not stored 100,000 calls a day). 13+ months retained (FAIL when retention is configured
-- to keep fewer), partitions premade (FAIL when a month is missing, named in details).

CREATE OR REPLACE FUNCTION wfm.validate_throughput_capacity(
    p_rows integer DEFAULT 2000,
    p_min_rows_per_second numeric DEFAULT 100,
    p_daily_calls numeric DEFAULT NULL,       -- NULL: wfm.capacity_targets.daily_calls
    p_peak_hour_calls numeric DEFAULT NULL,   -- NULL: wfm.capacity_targets.peak_hour_calls
    p_retention_months integer DEFAULT 13
) RETURNS SETOF wfm.check_result
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_rows        wfm.check_result[] := '{}';
    v_month       timestamptz;
    v_services    integer[];
    v_per_service constant integer := 672;   -- 7 days of 15-minute intervals per throw-away service
    v_tag         text := 'zzhealth' || substr(md5(clock_timestamp()::text || random()::text), 1, 8);
    v_calls       jsonb;
    v_t0          timestamptz;
    v_seconds     numeric;
    v_result      jsonb;
    v_stored      bigint;
    v_error       text;
    v_rate        numeric;
    v_value       numeric;
    v_at          timestamptz;
    v_source      text;
    v_count       bigint;
    v_details     jsonb;
    v_cfg         record;
    v_found       boolean;
    v_target      record;
    v_daily       numeric;
    v_peak        numeric;
BEGIN
    IF p_rows IS NULL OR p_rows < 1 OR p_rows > 100000 THEN
        RAISE EXCEPTION 'validate_throughput_capacity: p_rows must be 1..100000, not %', p_rows
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    SELECT * INTO v_target FROM wfm.capacity_targets;
    v_daily := coalesce(p_daily_calls, v_target.daily_calls, 100000);
    v_peak := coalesce(p_peak_hour_calls, v_target.peak_hour_calls, 10000);
    v_target.warn_share := coalesce(v_target.warn_share, 0.8);

    -- ---------------------------------------------------------------- insert throughput
    SELECT range_start INTO v_month
    FROM wfm.partitions
    WHERE parent_table = 'wfm.contact_statistics'::regclass AND NOT is_guard
    ORDER BY (range_start <= now() AND range_end > now()) DESC, range_start DESC
    LIMIT 1;

    IF v_month IS NULL THEN
        v_rows := v_rows || wfm.health_row('throughput.batch_insert', 'FAIL', NULL, p_min_rows_per_second, 'rows/s',
            jsonb_build_object('error', 'contact_statistics has no partition to insert into',
                               'hint', 'SELECT wfm.premake_partitions();'));
    ELSE
        BEGIN
            WITH created AS (
                INSERT INTO wfm.services (code, name, time_zone)
                SELECT v_tag || '_' || k, 'health check throughput probe (rolled back)', 'UTC'
                FROM generate_series(1, (p_rows + v_per_service - 1) / v_per_service) k
                RETURNING service_id
            )
            SELECT array_agg(service_id ORDER BY service_id) INTO v_services FROM created;

            SELECT jsonb_agg(jsonb_build_object(
                       'service_id', v_services[i / v_per_service + 1],
                       'interval_start', to_char((v_month + (i % v_per_service) * interval '15 minutes') AT TIME ZONE 'UTC',
                                                 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'),
                       'unique_incoming', 10 + i % 17 - i % 3,
                       'non_unique_incoming', 10 + i % 17,
                       'avg_talk_time', 120 + i % 60,
                       'avg_post_processing_time', 20 + i % 15))
            INTO v_calls
            FROM generate_series(0, p_rows - 1) i;

            v_t0 := clock_timestamp();
            SELECT to_jsonb(r) INTO v_result FROM wfm.api_batch_insert_calls(v_calls, 'health_check') r LIMIT 1;
            v_seconds := extract(epoch FROM clock_timestamp() - v_t0)::numeric;

            SELECT count(*) INTO v_stored FROM wfm.contact_statistics
            WHERE interval_start_time >= v_month AND interval_start_time < v_month + v_per_service * interval '15 minutes'
              AND service_id = ANY (v_services);

            RAISE EXCEPTION USING ERRCODE = 'WFRB0';
        EXCEPTION
            WHEN SQLSTATE 'WFRB0' THEN
                NULL;  -- rolled back on purpose: probe services, batch and rows are gone
            WHEN OTHERS THEN
                v_error := SQLSTATE || ': ' || SQLERRM;
        END;
        IF v_error IS NOT NULL THEN
            v_rows := v_rows || wfm.health_row('throughput.batch_insert', 'FAIL', NULL, p_min_rows_per_second, 'rows/s',
                jsonb_build_object('error', v_error, 'rows', p_rows));
        ELSE
            v_rate := p_rows / greatest(v_seconds, 0.000001);
            v_rows := v_rows || wfm.health_row('throughput.batch_insert',
                CASE WHEN v_stored <> p_rows THEN 'FAIL' ELSE wfm.health_grade(v_rate, NULL, p_min_rows_per_second, false) END,
                round(v_rate), p_min_rows_per_second, 'rows/s',
                jsonb_build_object('rows_sent', p_rows, 'rows_stored', v_stored, 'seconds', round(v_seconds, 4),
                                   'month', v_month, 'result', v_result, 'rolled_back', true,
                                   'rule', 'one api_batch_insert_calls call of p_rows new intervals in a rolled-back subtransaction; FAIL below the guide''s 100 rows/s or when not every row was stored',
                                   'note', 'the read-side benchmark targets >= 100,000 rows/s in batches of 10,000 (wfm bench queries)'));
        END IF;
    END IF;

    -- ---------------------------------------------------------------- stored volume
    -- Read in a rolled-back subtransaction: the AccessShare locks on the views and partitions
    -- are released before we return.
    BEGIN
        -- Peak day: from the daily view (service totals) once its aggregate is built, else raw recent data.
        IF (SELECT a.materialized_until IS NOT NULL FROM wfm.aggregates a WHERE a.view_name = 'wfm.mv_daily_service_stats') THEN
            SELECT stat_date::timestamptz, calls INTO v_at, v_value FROM (
                SELECT stat_date, sum(non_unique_incoming) AS calls
                FROM wfm.mv_daily_service_stats WHERE group_id IS NULL
                GROUP BY stat_date ORDER BY calls DESC, stat_date DESC LIMIT 1) d;
            v_source := 'mv_daily_service_stats (all history, service local days)';
        ELSE
            SELECT day, calls INTO v_at, v_value FROM (
                SELECT date_trunc('day', interval_start_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS day,
                       sum(non_unique_incoming) AS calls
                FROM wfm.service_interval_stats
                WHERE interval_start_time >= now() - interval '35 days'
                GROUP BY 1 ORDER BY calls DESC, 1 DESC LIMIT 1) d;
            v_source := 'service_interval_stats, last 35 days (aggregates not built yet)';
        END IF;
        v_rows := v_rows || wfm.health_row('capacity.daily_calls',
            CASE WHEN coalesce(v_value, 0) >= v_target.warn_share * v_daily THEN 'WARN' ELSE 'PASS' END,
            coalesce(v_value, 0), v_target.warn_share * v_daily, 'calls/day',
            jsonb_build_object('peak_day', v_at, 'source', v_source, 'target', v_daily,
                               'share_of_target', round(coalesce(v_value, 0) / v_daily, 4),
                               'warn_share', v_target.warn_share,
                               'rule', 'busiest stored day (non-unique calls, all services) vs the daily volume the install is sized for (wfm.capacity_targets, default the guide''s 100,000); WARN from warn_share of it on: headroom running out',
                               'hint', 'UPDATE wfm.capacity_targets SET daily_calls = ... once `wfm bench queries` showed the SLAs hold at that volume'));

        IF (SELECT a.materialized_until IS NOT NULL FROM wfm.aggregates a WHERE a.view_name = 'wfm.mv_hourly_stats') THEN
            SELECT hour_start, calls INTO v_at, v_value FROM (
                SELECT hour_start, sum(non_unique_incoming) AS calls FROM wfm.mv_hourly_stats
                GROUP BY hour_start ORDER BY calls DESC, hour_start DESC LIMIT 1) h;
            v_source := 'mv_hourly_stats (all history)';
        ELSE
            SELECT hour, calls INTO v_at, v_value FROM (
                SELECT date_bin(interval '1 hour', interval_start_time, timestamptz '2000-01-01 00:00:00+00') AS hour,
                       sum(non_unique_incoming) AS calls
                FROM wfm.service_interval_stats
                WHERE interval_start_time >= now() - interval '35 days'
                GROUP BY 1 ORDER BY calls DESC, 1 DESC LIMIT 1) h;
            v_source := 'service_interval_stats, last 35 days (aggregates not built yet)';
        END IF;
        v_rows := v_rows || wfm.health_row('capacity.peak_hour_calls',
            CASE WHEN coalesce(v_value, 0) >= v_target.warn_share * v_peak THEN 'WARN' ELSE 'PASS' END,
            coalesce(v_value, 0), v_target.warn_share * v_peak, 'calls/hour',
            jsonb_build_object('peak_hour', v_at, 'source', v_source, 'target', v_peak,
                               'share_of_target', round(coalesce(v_value, 0) / v_peak, 4),
                               'warn_share', v_target.warn_share,
                               'rule', 'busiest stored UTC hour (non-unique calls, all services) vs the peak-hour volume the install is sized for (wfm.capacity_targets, default the guide''s 10,000); WARN from warn_share of it on'));

        -- Retention: months holding data, and whether retention would keep fewer than 13.
        v_count := 0;
        v_at := NULL;
        FOR v_cfg IN SELECT partition, range_start FROM wfm.partitions
                     WHERE parent_table = 'wfm.contact_statistics'::regclass AND NOT is_guard ORDER BY range_start LOOP
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', v_cfg.partition) INTO v_found;
            IF v_found THEN
                v_count := v_count + 1;
                v_at := coalesce(v_at, v_cfg.range_start);
            END IF;
        END LOOP;
        SELECT * INTO v_cfg FROM wfm.partition_config WHERE table_name = 'wfm.contact_statistics'::regclass;
        v_rows := v_rows || wfm.health_row('capacity.retention_months',
            CASE WHEN v_cfg.retention_enabled AND v_cfg.retention_months < p_retention_months THEN 'FAIL' ELSE 'PASS' END,
            v_count, p_retention_months, 'months',
            jsonb_build_object('months_with_data', v_count, 'oldest_month_with_data', v_at,
                               'retention_enabled', v_cfg.retention_enabled, 'retention_months', v_cfg.retention_months,
                               'rule', 'FAIL when retention is enabled with fewer than the guide''s 13 months; measured = monthly partitions holding rows'));

        RAISE EXCEPTION USING ERRCODE = 'WFRB0';
    EXCEPTION WHEN SQLSTATE 'WFRB0' THEN
        NULL;
    END;

    -- Premade partitions: months of the premake horizon that have an attached partition
    -- (the shared definition of sql/011).
    FOR v_cfg IN SELECT table_name, premake_months FROM wfm.partition_config ORDER BY table_name::text LOOP
        SELECT v_cfg.premake_months + 1 - count(*),
               coalesce(jsonb_agg('wfm.' || wfm.partition_name(mp.table_name, mp.month) ORDER BY mp.month), '[]'::jsonb)
        INTO v_count, v_details
        FROM wfm.missing_premade_partitions mp
        WHERE mp.table_name = v_cfg.table_name AND mp.month >= date_trunc('month', now() AT TIME ZONE 'UTC');
        v_rows := v_rows || wfm.health_row('capacity.partitions_premade.' || v_cfg.table_name::text,
            CASE WHEN v_count < v_cfg.premake_months + 1 THEN 'FAIL' ELSE 'PASS' END,
            v_count, v_cfg.premake_months + 1, 'months',
            jsonb_build_object('rule', 'attached monthly partitions from the current UTC month through premake_months ahead (current month + premake_months)',
                               'premake_months', v_cfg.premake_months,
                               'premade_through', to_char(date_trunc('month', now() AT TIME ZONE 'UTC')
                                                          + make_interval(months => v_cfg.premake_months), 'YYYY-MM'),
                               'missing', v_details,
                               'hint', 'SELECT wfm.premake_partitions();'));
    END LOOP;

    RETURN QUERY SELECT * FROM unnest(v_rows);
END
$$;
COMMENT ON FUNCTION wfm.validate_throughput_capacity(integer, numeric, numeric, numeric, integer) IS
    'Insert throughput of one api_batch_insert_calls call of p_rows (default 2,000) new intervals, measured in a rolled-back subtransaction (guide: > 100 rows/s, FAIL below); stored peak day and peak hour vs the volume the install is sized for (wfm.capacity_targets, default 100,000 / 10,000 calls; WARN from warn_share 0.8 of it on: headroom running out); retention configured below 13 months (FAIL); months premade (FAIL when missing). Leaves nothing behind.';
REVOKE ALL ON FUNCTION wfm.validate_throughput_capacity(integer, numeric, numeric, numeric, integer) FROM PUBLIC;
