-- What every version of a call batch's calls touches, for the re-derivation after an apply that
-- replaces calls and after a revert: the (service, 15-minute interval) pairs of the versions'
-- offered_at (outcome other counts nowhere, so it touches no interval) and, per service, the
-- first and last 15-minute interval any answered call with an agent spans (talk and wrap-up).
-- A version is any row of the same (service, call_id) in the same UTC month as one of the batch's
-- calls, the batch's own rows included. p_first/p_last bound the batch's offered_at; p_mlo/p_mhi
-- the months they fall in (partition pruning).
CREATE OR REPLACE FUNCTION wfm.call_batch_touched(
    p_import_batch_id uuid, p_first timestamptz, p_last timestamptz,
    p_mlo timestamptz, p_mhi timestamptz,
    OUT services integer[], OUT intervals timestamptz[],
    OUT agent_services integer[], OUT agent_first timestamptz[], OUT agent_last timestamptz[])
LANGUAGE sql STABLE
SET search_path = wfm, pg_catalog, pg_temp
AS $$
    WITH versions AS (
        SELECT o.service_id, o.offered_at, o.answered_at, o.ended_at, o.wrap_up_seconds, o.outcome, o.agent_code
        FROM wfm.call_records n
        JOIN wfm.call_records o ON o.service_id = n.service_id AND o.call_id = n.call_id
        WHERE n.import_batch_id = p_import_batch_id AND n.offered_at BETWEEN p_first AND p_last
          AND o.offered_at >= p_mlo AND o.offered_at < p_mhi
          AND pg_catalog.date_trunc('month', o.offered_at AT TIME ZONE 'UTC')
              = pg_catalog.date_trunc('month', n.offered_at AT TIME ZONE 'UTC')
    ), pairs AS (
        SELECT DISTINCT v.service_id AS s,
               pg_catalog.date_bin('15 minutes', v.offered_at, timestamptz '2000-01-01 00:00+00') AS iv
        FROM versions v
        WHERE v.outcome <> 'other'
    ), agent_ranges AS (
        SELECT v.service_id AS s,
               pg_catalog.min(pg_catalog.date_bin('15 minutes', v.answered_at, timestamptz '2000-01-01 00:00+00')) AS lo,
               pg_catalog.max(pg_catalog.date_bin('15 minutes',
                   GREATEST(v.ended_at + pg_catalog.make_interval(secs => coalesce(v.wrap_up_seconds, 0))
                            - interval '1 microsecond', v.answered_at),
                   timestamptz '2000-01-01 00:00+00')) AS hi
        FROM versions v
        WHERE v.outcome = 'answered' AND v.agent_code IS NOT NULL
        GROUP BY v.service_id
    )
    SELECT (SELECT pg_catalog.array_agg(p.s) FROM pairs p), (SELECT pg_catalog.array_agg(p.iv) FROM pairs p),
           (SELECT pg_catalog.array_agg(a.s) FROM agent_ranges a), (SELECT pg_catalog.array_agg(a.lo) FROM agent_ranges a),
           (SELECT pg_catalog.array_agg(a.hi) FROM agent_ranges a)
$$;
COMMENT ON FUNCTION wfm.call_batch_touched(uuid, timestamptz, timestamptz, timestamptz, timestamptz) IS
    'Internal: the (service, 15-minute interval) pairs and per-service agent interval ranges that any version of a call batch''s calls touches (same call_id, same month, the batch''s own rows included); used by apply_call_records_batch when the batch replaces calls and by revert_call_records_batch.';
REVOKE ALL ON FUNCTION wfm.call_batch_touched(uuid, timestamptz, timestamptz, timestamptz, timestamptz) FROM PUBLIC;
